"""Password rules: strength, not composition (NIST SP 800-63B-4, OWASP ASVS 5.0 §6.2; control O3).

Each validator explains its refusal in words a person can act on; the same
messages reach the sign-up and password forms and the API.
"""

import difflib
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from zxcvbn import zxcvbn

# zxcvbn raises on very long input; its score is already settled by 72 characters.
_ZXCVBN_MAX_INPUT = 72


class LengthValidator:
    """At least ``min_length`` characters; long passphrases up to ``max_length`` accepted."""

    def __init__(self, min_length: int = 15, max_length: int = 128) -> None:
        if max_length < 64:
            raise ValueError("passwords of at least 64 characters must be accepted")
        self.min_length = min_length
        self.max_length = max_length

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) < self.min_length:
            raise ValidationError(
                ngettext(
                    "This password is too short: use at least %(min)d character.",
                    "This password is too short: use at least %(min)d characters. "
                    "A few unrelated words make a strong passphrase.",
                    self.min_length,
                )
                % {"min": self.min_length},
                code="password_too_short",
            )
        if len(password) > self.max_length:
            raise ValidationError(
                _("This password is too long: use at most %(max)d characters.")
                % {"max": self.max_length},
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return _("Use at least %(min)d characters; up to %(max)d are accepted.") % {
            "min": self.min_length,
            "max": self.max_length,
        }


def _context_words(user: Any) -> list[str]:
    words = [word.lower() for word in settings.PASSWORD_CONTEXT_WORDS]
    if user is not None and getattr(user, "pk", None):
        words += [m.organization.name.lower() for m in _memberships_of(user)]
    return words


def _memberships_of(user: Any) -> list[Any]:
    from django_scopes import scopes_disabled

    # Reading a user's own memberships crosses organizations by nature; it reveals
    # nothing the user does not already belong to.
    with scopes_disabled():
        return list(user.memberships.select_related("organization"))


class ContextWordsValidator:
    """No password built on the product's name or the user's organizations' names."""

    def __init__(self, max_similarity: float = 0.7) -> None:
        self.max_similarity = max_similarity

    def validate(self, password: str, user: Any = None) -> None:
        lowered = password.lower()
        for word in _context_words(user):
            if len(word) < 4:
                continue
            similar = (
                difflib.SequenceMatcher(a=lowered, b=word).quick_ratio() >= self.max_similarity
            )
            if (word in lowered and len(lowered) - len(word) < 8) or similar:
                raise ValidationError(
                    _("This password is too close to the name “%(word)s”; choose something else.")
                    % {"word": word},
                    code="password_context_word",
                )

    def get_help_text(self) -> str:
        return _("Do not base your password on the name of this service or your organization.")


class StrengthValidator:
    """A zxcvbn score of at least ``min_score`` (0 to 4): hard to guess, whatever its characters."""

    def __init__(self, min_score: int = 3) -> None:
        self.min_score = min_score

    def validate(self, password: str, user: Any = None) -> None:
        inputs = [getattr(user, "email", "") or "", getattr(user, "full_name", "") or ""]
        inputs += _context_words(user)
        result = zxcvbn(password[:_ZXCVBN_MAX_INPUT], user_inputs=[i for i in inputs if i])
        if result["score"] < self.min_score:
            feedback = result["feedback"]
            hint = feedback.get("warning") or ""
            suggestions = " ".join(feedback.get("suggestions") or [])
            detail = " ".join(part for part in (hint, suggestions) if part)
            raise ValidationError(
                _("This password is too easy to guess.") + (f" {detail}" if detail else ""),
                code="password_too_weak",
            )

    def get_help_text(self) -> str:
        return _("It must be hard to guess: avoid names, dates, keyboard patterns and phrases.")


class HistoryValidator:
    """None of the user's last ``depth`` passwords, compared by hash; passwords are never kept."""

    def __init__(self, depth: int = 5) -> None:
        self.depth = depth

    def validate(self, password: str, user: Any = None) -> None:
        if user is None or not getattr(user, "pk", None):
            return
        if any(check_password(password, encoded) for encoded in self._recent_hashes(user)):
            raise ValidationError(
                ngettext(
                    "You used this password before; choose one you have not used.",
                    "This password is one of your last %(depth)d; choose one you have not used.",
                    self.depth,
                )
                % {"depth": self.depth},
                code="password_reused",
            )

    def password_changed(self, password: str, user: Any = None) -> None:
        """Remember the new password's hash, keeping only the last ``depth``."""
        from afspraak.accounts.models import PasswordHistoryEntry

        if user is None or not getattr(user, "pk", None) or not user.has_usable_password():
            return
        PasswordHistoryEntry.objects.create(user=user, password_hash=user.password)
        stale = PasswordHistoryEntry.objects.filter(user=user).values_list("pk", flat=True)[
            self.depth :
        ]
        PasswordHistoryEntry.objects.filter(pk__in=list(stale)).delete()

    def _recent_hashes(self, user: Any) -> list[str]:
        hashes = list(user.password_history.values_list("password_hash", flat=True)[: self.depth])
        # The current password counts as the most recent one even before history existed.
        if user.password and user.has_usable_password() and user.password not in hashes:
            hashes = [user.password, *hashes[: self.depth - 1]]
        return hashes

    def get_help_text(self) -> str:
        return _("It cannot be any of your last %(depth)d passwords.") % {"depth": self.depth}

"""Password rules: strength, not composition (NIST SP 800-63B-4, OWASP ASVS 5.0 §6.2; control O3).

Each validator explains its refusal in words a person can act on; the same
messages reach the sign-up and password forms and the API. Every path that sets
a password (sign-up, change, reset, admin, ``set_password()`` + ``save()``) ends
in Django's ``password_changed`` hook, which is where the history is kept.
"""

import re
import unicodedata
from collections.abc import Callable
from functools import cache
from typing import Any

from allauth.account.internal.flows import password_change
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import (
    CommonPasswordValidator,
    get_default_password_validators,
)
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from afspraak.accounts.policies import registered_context_words
from afspraak.audit.context import AuditContext
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record

# zxcvbn refuses input longer than 72 characters; its score is settled well before that.
ZXCVBN_MAX_INPUT = 72

# Look-alike substitutions people use to dress up a word ("4fspr44k" is still "afspraak").
_LOOK_ALIKES = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)


class LengthValidator:
    """At least ``min_length`` characters; long passphrases up to ``max_length`` accepted."""

    def __init__(self, min_length: int = 15, max_length: int = 128) -> None:
        if max_length < 64:
            raise ValueError("passwords of at least 64 characters must be accepted")
        if min_length > max_length:
            raise ValueError("min_length cannot exceed max_length")
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


def _is_over_length(password: str) -> bool:
    """Tell whether the length rule refuses ``password`` as too long anyway.

    Such a password was never accepted, so it cannot be a reuse, and scanning
    megabytes of it for names would only hand out free CPU time.
    """
    return len(password) > settings.PASSWORD_MAX_LENGTH


def normalize_for_matching(text: str) -> str:
    """Lower-case ``text``, drop accents, undo look-alikes and keep only letters and digits."""
    decomposed = unicodedata.normalize("NFKD", text).lower().translate(_LOOK_ALIKES)
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


def context_words(user: Any) -> list[str]:
    """Return the product's name and the names of ``user``'s organizations."""
    words = list(settings.PASSWORD_CONTEXT_WORDS)
    if user is not None and getattr(user, "pk", None):
        for name in registered_context_words(user):
            # The whole name and each word in it: "De Vries Tandartsen" is guessed as "vries" too.
            words += [name, *re.split(r"\W+", name)]
    return words


def _personal_words(user: Any) -> list[str]:
    """Return ``user``'s e-mail address and full name, whole and in parts."""
    words: list[str] = []
    for attribute in ("email", "full_name"):
        value = getattr(user, attribute, None)
        if isinstance(value, str) and value:
            words += [value, *re.split(r"\W+", value)]
    return words


def _is_one_edit_apart(a: str, b: str) -> bool:
    """Tell whether one typo turns ``a`` into ``b``: a changed, added, dropped or swapped letter."""
    if abs(len(a) - len(b)) > 1:
        return False
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            if len(a) == len(b):
                swapped = a[i : i + 2] == b[i : i + 2][::-1] and a[i + 2 :] == b[i + 2 :]
                return swapped or a[i + 1 :] == b[i + 1 :]
            if len(a) > len(b):
                return a[i + 1 :] == b[i:]
            return a[i:] == b[i + 1 :]
    return True


def _match_length(text: str, start: int, word: str, *, allow_typo: bool) -> int:
    """Return how many characters of ``text`` from ``start`` spell ``word`` (0 when none)."""
    if text.startswith(word, start):
        return len(word)
    if allow_typo:
        for length in (len(word), len(word) + 1, len(word) - 1):
            window = text[start : start + length]
            if len(window) == length and _is_one_edit_apart(window, word):
                return length
    return 0


def strip_word(text: str, word: str, *, allow_typo: bool) -> str:
    """Remove every occurrence of ``word`` from ``text``, with one typo too if ``allow_typo``."""
    if not allow_typo:
        return text.replace(word, "")
    kept: list[str] = []
    position = 0
    while position < len(text):
        matched = _match_length(text, position, word, allow_typo=True)
        if matched:
            position += matched
        else:
            kept.append(text[position])
            position += 1
    return "".join(kept)


class ContextWordsValidator:
    """No password that is little more than a name anyone targeting the user would try first.

    Those names are the product's (``settings.PASSWORD_CONTEXT_WORDS``), the user's
    organizations' and the user's own (e-mail address and full name, in parts). After
    removing every occurrence of each (case, look-alike digits and separators ignored;
    names of ``typo_min_length`` or more letters also with one typo), at least
    ``min_other_chars`` letters or digits of the user's own must remain. A long
    passphrase that happens to contain a short name keeps plenty and passes; how much
    the name weakens it is left to ``StrengthValidator``, which is told the names too.
    Names shorter than ``min_word_length`` are ignored: they turn up inside ordinary words.
    """

    def __init__(
        self, min_other_chars: int = 8, min_word_length: int = 4, typo_min_length: int = 6
    ) -> None:
        self.min_other_chars = min_other_chars
        self.min_word_length = min_word_length
        self.typo_min_length = typo_min_length

    def validate(self, password: str, user: Any = None) -> None:
        if _is_over_length(password):
            return
        remainder = normalize_for_matching(password)
        found: list[str] = []
        for word, name in self._words(user).items():
            stripped = strip_word(remainder, word, allow_typo=len(word) >= self.typo_min_length)
            if stripped != remainder:
                found.append(name)
                remainder = stripped
        if found and len(remainder) < self.min_other_chars:
            raise ValidationError(
                _(
                    "This password is built on “%(word)s”, which anyone targeting you would "
                    "try first: add at least %(min)d letters or digits of your own, or "
                    "choose something else."
                )
                % {"word": found[0], "min": self.min_other_chars},
                code="password_context_word",
            )

    def _words(self, user: Any) -> dict[str, str]:
        """Map each normalized name worth checking, longest first, to the name as written."""
        names: dict[str, str] = {}
        for name in [*context_words(user), *_personal_words(user)]:
            word = normalize_for_matching(name)
            if len(word) >= self.min_word_length:
                names.setdefault(word, name)
        return {word: names[word] for word in sorted(names, key=lambda w: (-len(w), w))}

    def get_help_text(self) -> str:
        return _(
            "Do not build your password on your name, your e-mail address, or the name of "
            "this service or your organization."
        )


@cache
def _common_words() -> frozenset[str]:
    """Return Django's ~20,000 leaked passwords and zxcvbn's lists of common passwords,
    English words, names and surnames (about 110,000 words, lower-case)."""
    words: set[str] = set(CommonPasswordValidator().passwords)
    for ranked in FREQUENCY_LISTS.values():
        words.update(ranked)
    return frozenset(words)


def base_words(password: str) -> list[str]:
    """Return the words ``password`` is made of, stripped of what people add to meet rules.

    Words are split at spaces and symbols; digits at either end of a word (a year, "123")
    are dropped; look-alikes inside it are undone ("p4ssw0rd" is "password"); a word
    repeated within itself counts once ("summersummer" is "summer").
    """
    text = unicodedata.normalize("NFKD", password).lower()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    words: list[str] = []
    for chunk in re.split(r"[^\w@$]+|_", text):
        core = chunk.strip("0123456789").translate(_LOOK_ALIKES)
        repeated = re.fullmatch(r"(.+?)\1+", core)
        if repeated:
            core = repeated.group(1)
        if core:
            words.append(core)
    return words


# Longer runs of letters are not split into words: a phrase people type runs shorter,
# and the split's cost grows with the square of the length.
_PHRASE_MAX_LENGTH = 40


def split_phrase(word: str, *, max_words: int) -> list[str] | None:
    """Return ``word`` as the fewest common words that spell it, or None if it takes more.

    "ilovemydog" is "ilove" and "mydog", "iloveyouforever" is "iloveyou" and "forever":
    phrases typed without spaces, which guessing tools try as they try single words.
    """
    if len(word) > _PHRASE_MAX_LENGTH:
        return None
    common = _common_words()
    # fewest[i]: the fewest common words that spell word[:i] (more than max_words: none);
    # starts[i]: where the last of them starts.
    beyond = max_words + 1
    fewest, starts = [0] + [beyond] * len(word), [0] * (len(word) + 1)
    for end in range(1, len(word) + 1):
        for start in range(end):
            if fewest[start] + 1 < fewest[end] and word[start:end] in common:
                fewest[end], starts[end] = fewest[start] + 1, start
    if fewest[-1] > max_words:
        return None
    words, end = [], len(word)
    while end:
        words.append(word[starts[end] : end])
        end = starts[end]
    return words[::-1]


def find_common_pattern(
    password: str, names: list[str], *, max_words: int = 2, typo_min_length: int = 6
) -> str | None:
    """Say why ``password`` is a common word or ``names`` dressed up, or return None.

    Such a password is at most ``max_words`` different words, each a leaked password, an
    English word or a name (or one of ``names``, also with one typo when it is long),
    plus digits, symbols and repeats: whatever its zxcvbn score, the dressing-up is the
    first thing guessing tools try.
    """
    normalized_names = {normalize_for_matching(name): name for name in names}
    named: list[str] = []
    own: list[str] = []
    phrase = False
    for word in base_words(password):
        name = _matching_name(word, normalized_names, typo_min_length=typo_min_length)
        if name is not None:
            named.append(name)
            continue
        parts = None if word in _common_words() else split_phrase(word, max_words=max_words)
        phrase = phrase or parts is not None
        own.extend(part for part in parts or [word] if part not in own)
    if len(own) > max_words or not all(word in _common_words() for word in own):
        return None
    if phrase and not named:
        return _(
            "This is a common phrase run together, with a few digits or symbols added: "
            "guessing tools try such phrases first. A few unrelated words make a strong "
            "passphrase."
        )
    if named:
        return _(
            "This is “%(word)s”, which anyone targeting you would try first, with a few "
            "common words, digits or symbols added. A few unrelated words make a strong "
            "passphrase."
        ) % {"word": named[0]}
    if own:
        return _(
            "This is a common password with a few digits and symbols added: guessing tools "
            "try such variations first. A few unrelated words make a strong passphrase."
        )
    return None


def _matching_name(word: str, names: dict[str, str], *, typo_min_length: int) -> str | None:
    """Return the name (as written) that ``word`` spells, allowing one typo in a long one."""
    if word in names:
        return names[word]
    for normalized, name in names.items():
        if len(normalized) >= typo_min_length and _is_one_edit_apart(word, normalized):
            return name
    return None


class StrengthValidator:
    """Hard to guess, whatever its characters: not a common word or one of the user's
    names dressed up with digits and symbols, and a zxcvbn score of at least
    ``min_score`` (0 to 4)."""

    def __init__(self, min_score: int = 3) -> None:
        if not 0 <= min_score <= 4:
            raise ValueError("zxcvbn scores run from 0 to 4")
        self.min_score = min_score

    def validate(self, password: str, user: Any = None) -> None:
        if _is_over_length(password):
            return
        hints = [w for w in [*_personal_words(user), *context_words(user)] if w]
        result = zxcvbn(password[:ZXCVBN_MAX_INPUT], user_inputs=hints)
        if result["score"] < self.min_score:
            feedback = result["feedback"]
            parts = [feedback.get("warning") or "", *(feedback.get("suggestions") or [])]
            detail = " ".join(part for part in parts if part)
            raise ValidationError(
                _("This password is too easy to guess.") + (f" {detail}" if detail else ""),
                code="password_too_weak",
            )
        # zxcvbn prices "Summer2024!Summer" as a word, a year and a repeat, each cheap,
        # yet rates their sum strong: guessing tools try exactly such variations first.
        common_pattern = find_common_pattern(password, hints)
        if common_pattern:
            raise ValidationError(common_pattern, code="password_common_pattern")

    def get_help_text(self) -> str:
        return _(
            "It must be hard to guess: avoid names, dates, keyboard patterns and phrases, "
            "and common passwords or words with digits, symbols or a year added."
        )


class HistoryValidator:
    """None of the user's last ``depth`` passwords (the current one included), compared by hash.

    Only hashes are kept, each as slow to attack as the live password hash. Checking a
    candidate costs one hash per remembered password.
    """

    def __init__(self, depth: int = 5) -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self.depth = depth

    def validate(self, password: str, user: Any = None) -> None:
        if user is None or not getattr(user, "pk", None) or _is_over_length(password):
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

        # Django calls this right after saving a user whose password was set, so
        # ``user.password`` is the hash of ``password``: no second slow hash needed.
        if user is None or not getattr(user, "pk", None) or not user.has_usable_password():
            return
        with transaction.atomic():
            PasswordHistoryEntry.objects.create(user=user, password_hash=user.password)
            stale = list(
                PasswordHistoryEntry.objects.filter(user=user).values_list("pk", flat=True)[
                    self.depth :
                ]
            )
            PasswordHistoryEntry.objects.filter(pk__in=stale).delete()

    def _recent_hashes(self, user: Any) -> list[str]:
        hashes = list(user.password_history.values_list("password_hash", flat=True)[: self.depth])
        # The current password counts as the most recent one even before history existed.
        if user.password and user.has_usable_password() and user.password not in hashes:
            hashes = [user.password, *hashes[: self.depth - 1]]
        return hashes

    def get_help_text(self) -> str:
        return _("It cannot be any of your last %(depth)d passwords.") % {"depth": self.depth}


def new_account_validators() -> list[Any]:
    """Return the password rules that apply to an account without a password yet."""
    return [v for v in get_default_password_validators() if not isinstance(v, HistoryValidator)]


def find_password_problems(password: str, *, user: Any, include_history: bool = True) -> list[str]:
    """Return every reason the password rules give to refuse ``password`` for ``user``."""
    validators = get_default_password_validators() if include_history else new_account_validators()
    problems: list[str] = []
    for validator in validators:
        try:
            validator.validate(password, user)
        except ValidationError as error:
            problems += error.messages
    return problems


class PasswordChangeError(Exception):
    """A password change was refused; ``errors`` maps each field to its reasons."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def change_password(
    context: AuditContext,
    *,
    current_password: str,
    new_password: str,
    finish: Callable[[], object],
) -> None:
    """Replace the context's user's password after checking the current one and every rule.

    ``finish`` runs in the same transaction as the change: the caller's session side, as
    allauth's ``finalize_password_change`` (which sends the audited ``password_changed``).
    A refused attempt is audited on its own, outside any transaction.
    """
    actor = context.actor
    if not actor.check_password(current_password):
        record(
            "accounts.password.change_failed",
            context=context,
            outcome=Outcome.FAILURE,
            target=actor,
            data={"reason": "wrong_current_password"},
        )
        raise PasswordChangeError({"current_password": [_("The current password is not correct.")]})
    problems = find_password_problems(new_password, user=actor)
    if problems:
        raise PasswordChangeError({"new_password": problems})
    with transaction.atomic():
        # allauth's own path, as on the web form: the history hook runs with the change.
        password_change.change_password(actor, new_password)
        finish()

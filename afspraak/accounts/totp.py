"""TOTP enrolment that spends the code it was confirmed with (control O2)."""

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.forms import ActivateTOTPForm as AllauthActivateTOTPForm
from allauth.mfa.totp.internal.auth import TOTP


class ActivateTOTPForm(AllauthActivateTOTPForm):
    """allauth's enrolment form, except that the confirming code cannot log in afterwards.

    allauth checks the enrolment code without marking it used, so whoever saw it could
    replay it at the login's MFA step within the same period. Marking it in the shared
    cache, as a login does, closes that gap.
    """

    def clean_code(self) -> str:
        code = super().clean_code()
        unsaved = Authenticator(user_id=self.user.pk, type=Authenticator.Type.TOTP)
        # Same cache key and lifetime as a code used at login: allauth offers no public
        # call for it.
        TOTP(unsaved)._mark_code_used(code)
        return code

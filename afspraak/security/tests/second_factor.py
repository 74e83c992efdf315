"""Give a test user a second factor, as enrolling TOTP would."""

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret


def give_second_factor(user) -> None:
    """Activate TOTP for ``user`` with a fresh secret."""
    TOTP.activate(user, generate_totp_secret())

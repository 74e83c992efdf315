"""allauth adapters: where Afspraak plugs its own rules into sign-up, login and MFA."""

import base64

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter

from afspraak.crypto.keyring import decrypt_with_master, encrypt_with_master

_MFA_SECRET_AD = b"afspraak.mfa.authenticator.secret"
_CIPHERTEXT_PREFIX = "tink1:"


class AccountAdapter(DefaultAccountAdapter):
    """Account rules: lower-cased e-mail logins."""

    def clean_email(self, email: str) -> str:
        return super().clean_email(email).strip().lower()


class MFAAdapter(DefaultMFAAdapter):
    """Keeps TOTP secrets only as AES-256-GCM ciphertext under the master keyset."""

    def encrypt(self, text: str) -> str:
        ciphertext = encrypt_with_master(text.encode(), _MFA_SECRET_AD)
        return _CIPHERTEXT_PREFIX + base64.b64encode(ciphertext).decode("ascii")

    def decrypt(self, encrypted_text: str) -> str:
        if not encrypted_text.startswith(_CIPHERTEXT_PREFIX):
            raise ValueError("MFA secret is not in the encrypted format")
        ciphertext = base64.b64decode(encrypted_text.removeprefix(_CIPHERTEXT_PREFIX))
        return decrypt_with_master(ciphertext, _MFA_SECRET_AD).decode()

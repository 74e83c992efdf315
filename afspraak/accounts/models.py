"""People who sign in, and what the security system keeps about their passwords."""

from functools import partial
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from afspraak.inputs.names import validate_name_text
from afspraak.publicid import new_public_id

MAX_NAME_LENGTH = 100


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        """Create a user who signs in with ``email``."""
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        """Create a staff superuser (who must still enrol in MFA before using anything)."""
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person with a login. The e-mail address is the login name."""

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "usr")
    )
    email = models.EmailField(unique=True)
    # The name others see (booking pages, e-mails, calendar invitations, member lists).
    # Asked at sign-up; blank only for accounts made without it (createsuperuser).
    full_name = models.CharField(
        "name", max_length=MAX_NAME_LENGTH, blank=True, validators=[validate_name_text]
    )
    # The avatar's bytes live in UserAvatar, not loaded with every request's user; the
    # hash names its address (afspraak.accounts.avatars), empty when there is none.
    avatar_hash = models.CharField(max_length=64, blank=True, default="", db_default="")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.email

    def has_mfa(self) -> bool:
        """Tell whether the user has a second factor (TOTP or a security key)."""
        # Imported here: the middleware module imports allauth's models. One definition of
        # "a second factor" serves the enrolment middleware, the adapter and the tenancy app.
        from afspraak.accounts.middleware import has_second_factor

        return has_second_factor(self)


class UserAvatar(models.Model):
    """The user's picture, checked by ``afspraak.accounts.avatars.inspect_avatar``."""

    # Deleting the user deletes the picture with them (control D2).
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="+")
    content_type = models.CharField(max_length=16)
    data = models.BinaryField()

    def __str__(self) -> str:
        return f"avatar of {self.user_id}"


class PasswordHistoryEntry(models.Model):
    """A hash of one of a user's earlier passwords, kept to refuse its reuse (control O3)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password_hash = models.CharField(max_length=256)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        verbose_name_plural = "password history entries"

    def __str__(self) -> str:
        return f"password of {self.user_id} set {self.created_at:%Y-%m-%d}"

"""A user's avatar: an optional picture shown next to their name.

It is checked like an organization's logo (``afspraak.images``: PNG, JPEG or still
WebP, by content, size and pixel limits), stripped of its metadata (a phone photo's
Exif names where it was taken) and stored in the database with its hash on the
user's row. Its address names the user's public id and the hash, so a new picture
gets a new address and each address can be cached for good. Anyone with the address
may fetch it: it appears on the host's public booking pages, the public id is random,
and the picture is one the user chose to show.
"""

import hashlib

from django.db import transaction
from django.urls import reverse

from afspraak.accounts.models import User, UserAvatar
from afspraak.audit.context import AuditContext
from afspraak.audit.deletions import DeletedKind, note_deletion
from afspraak.audit.trail import record
from afspraak.images import CheckedImage, inspect_image, without_metadata

MAX_AVATAR_BYTES = 512 * 1024
MAX_AVATAR_SIDE = 2048
# What the browser makes a larger photo fit before sending it (js/shrink-picture.js):
# the largest circle a page shows is 96 CSS pixels, so this stays sharp on a screen of
# four times the density, and a JPEG this size is far under the byte limit.
AVATAR_FIT_SIDE = 512
# The hash's first characters name the version in the address: enough to tell
# pictures apart, short enough to read.
_VERSION_LENGTH = 16


def inspect_avatar(data: bytes) -> CheckedImage:
    """Return the type and size of an uploaded avatar; refuse all but a sane PNG, JPEG or WebP."""
    return inspect_image(data, noun="picture", max_bytes=MAX_AVATAR_BYTES, max_side=MAX_AVATAR_SIDE)


def avatar_version(user: User) -> str:
    """Return the version of the user's avatar that its address names ("" for none)."""
    return user.avatar_hash[:_VERSION_LENGTH]


def avatar_url(user: User) -> str:
    """Return the address of the user's avatar, or "" when they have none."""
    if not user.avatar_hash:
        return ""
    return reverse("account_avatar", args=[user.public_id, avatar_version(user)])


def set_avatar(user: User, data: bytes, *, context: AuditContext) -> None:
    """Check and store the user's own avatar, replacing any earlier one; record it."""
    # Kept without what the camera wrote (where and when the photo was taken): anyone
    # with the address may fetch it.
    checked = inspect_avatar(data)
    data = without_metadata(data, checked)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        replaced = bool(locked.avatar_hash)
        UserAvatar.objects.update_or_create(
            user=locked, defaults={"content_type": checked.content_type, "data": data}
        )
        previous = locked.avatar_hash
        locked.avatar_hash = user.avatar_hash = hashlib.sha256(data).hexdigest()
        locked.save(update_fields=["avatar_hash"])
        if previous and previous != locked.avatar_hash:
            _note_gone(locked, context)
        record(
            "accounts.avatar.changed",
            actor=user,
            target=user,
            context=context,
            data={"replaced": replaced},
        )


def remove_avatar(user: User, *, context: AuditContext) -> bool:
    """Delete the user's own avatar; record it and tell whether there was one."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        deleted, _ = UserAvatar.objects.filter(user=locked).delete()
        if not deleted and not locked.avatar_hash:
            return False
        locked.avatar_hash = user.avatar_hash = ""
        locked.save(update_fields=["avatar_hash"])
        _note_gone(locked, context)
        record("accounts.avatar.removed", actor=user, target=user, context=context, data={})
    return True


def _note_gone(user: User, context: AuditContext) -> None:
    # A picture of a person is personal data: the ledger certifies it gone from the
    # backups too, once no backup taken before now is left (control D2).
    note_deletion(
        DeletedKind.AVATAR,
        organization_public_id="",
        subject_ids=[user.public_id],
        context=context,
    )

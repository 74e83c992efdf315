"""A user's optional picture: uploaded, replaced and removed on the profile page, refused
unless it is a sane PNG, JPEG or WebP, served safely, shown beside their name (issue 12)."""

import hashlib
import io

import pytest
from django.urls import reverse
from PIL import Image

from afspraak.accounts.avatars import MAX_AVATAR_BYTES, avatar_url, set_avatar
from afspraak.accounts.models import User, UserAvatar
from afspraak.accounts.templatetags.avatars import initials_of
from afspraak.audit.context import AuditContext
from afspraak.audit.models import DeletionRecord
from afspraak.bookings.links import invitee_token
from afspraak.bookings.tests.url_matrix import members_booking
from afspraak.testing.audit import assert_audited, events
from afspraak.testing.factories import MeetingTypeFactory, UserFactory
from afspraak.testing.images import photo_with_metadata

pytestmark = pytest.mark.django_db


def image(kind: str = "PNG", size: tuple[int, int] = (96, 96)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 90, 40)).save(buffer, format=kind)
    return buffer.getvalue()


def assert_in_the_deletion_ledger(user: User) -> None:
    """Assert the old picture's deletion waits in the ledger for its certificate (D2)."""
    (entry,) = DeletionRecord.objects.all()
    assert (entry.kind, entry.subject_ids, entry.actor_public_id, entry.certified_at) == (
        "avatar",
        [user.public_id],
        user.public_id,
        None,
    )


def upload(client, data: bytes, name: str = "me.png"):
    picture = io.BytesIO(data)
    picture.name = name
    return client.post(reverse("account_avatar_upload"), {"picture": picture})


def given_avatar(user: User, data: bytes | None = None) -> bytes:
    data = data or image()
    set_avatar(user, data, context=AuditContext.system(user))
    return data


@pytest.fixture
def user(client):
    user = UserFactory.create(full_name="Hanna de Vries")
    client.force_login(user)
    return user


@pytest.mark.parametrize(
    ("kind", "content_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")],
)
def test_a_user_uploads_a_picture_on_the_profile_page(client, user, kind, content_type):
    data = image(kind)
    response = upload(client, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_profile")
    user.refresh_from_db()
    assert user.avatar_hash == hashlib.sha256(data).hexdigest()
    stored = UserAvatar.objects.get(user=user)
    assert (bytes(stored.data), stored.content_type) == (data, content_type)
    assert_audited(
        "accounts.avatar.changed", actor=user, target_id=user.public_id, data={"replaced": False}
    )
    page = client.get(reverse("account_profile")).content.decode()
    assert "Your picture is saved." in page
    assert f'src="{avatar_url(user)}"' in page
    assert "Replace picture" in page


def test_a_new_picture_replaces_the_old_one_at_a_new_address(client, user):
    given_avatar(user, image(size=(50, 50)))
    old_url = avatar_url(user)
    new = image(size=(60, 60))
    assert upload(client, new).status_code == 302
    user.refresh_from_db()
    assert avatar_url(user) != old_url
    assert [bytes(a.data) for a in UserAvatar.objects.filter(user=user)] == [new]
    assert events("accounts.avatar.changed")[-1].data == {"replaced": True}
    assert_in_the_deletion_ledger(user)


def test_the_same_picture_again_deletes_nothing(client, user):
    picture = given_avatar(user, image(size=(50, 50)))
    assert upload(client, picture).status_code == 302
    assert not DeletionRecord.objects.exists()


def test_removing_the_picture_deletes_it_and_shows_the_initials(client, user):
    given_avatar(user)
    url = avatar_url(user)
    response = client.post(reverse("account_avatar_remove"))
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.avatar_hash == ""
    assert not UserAvatar.objects.filter(user=user).exists()
    assert_audited("accounts.avatar.removed", actor=user, target_id=user.public_id)
    assert_in_the_deletion_ledger(user)
    page = client.get(reverse("account_profile")).content.decode()
    assert "Your picture is removed." in page
    assert '<span class="avatar avatar-large avatar-initials" aria-hidden="true">HV</span>' in page
    assert client.get(url).status_code == 404


def test_removing_when_there_is_no_picture_records_nothing(client, user):
    response = client.post(reverse("account_avatar_remove"), follow=True)
    assert "You have no picture." in response.content.decode()
    assert events("accounts.avatar.removed") == []
    assert not DeletionRecord.objects.exists()


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            "me.svg",
            "The picture must be a PNG, JPEG or WebP image.",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"/>',
            "me.png",
            "The picture must be a PNG, JPEG or WebP image.",
        ),
        (
            b"just some text, honestly a picture",
            "me.png",
            "The picture must be a PNG, JPEG or WebP image.",
        ),
        (image("GIF"), "me.gif", "The picture must be a PNG, JPEG or WebP image."),
        (image()[:-1] + b"\x00" * MAX_AVATAR_BYTES, "me.png", "The picture is larger than 512 KB."),
        (
            image(size=(2049, 10)),
            "me.png",
            "The picture must be between 1 and 2048 pixels wide and high.",
        ),
        (
            image("JPEG", (10, 4000)),
            "me.jpg",
            "The picture must be between 1 and 2048 pixels wide and high.",
        ),
        (image()[:20], "me.png", "The PNG file is damaged"),
        (image("JPEG")[:200], "me.jpg", "The JPEG file is damaged: its segments"),
        (image()[:-4], "me.png", "The PNG file is damaged: its chunks"),
    ],
    ids=[
        "svg",
        "svg-named-png",
        "text-named-png",
        "gif",
        "too-large",
        "too-wide",
        "too-high",
        "damaged",
        "jpeg-cut-short",
        "png-cut-short",
    ],
)
def test_a_bad_picture_is_refused_with_its_reason_and_nothing_is_saved(
    client, user, data, name, message
):
    kept = given_avatar(user)
    response = upload(client, data, name)
    assert response.status_code == 400
    assert message in response.content.decode()
    user.refresh_from_db()
    assert user.avatar_hash == hashlib.sha256(kept).hexdigest()
    assert bytes(UserAvatar.objects.get(user=user).data) == kept
    assert len(events("accounts.avatar.changed")) == 1


def test_an_upload_without_a_file_is_refused(client, user):
    response = client.post(reverse("account_avatar_upload"), {})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert events("accounts.avatar.changed") == []


def test_anonymous_visitors_cannot_change_a_picture(client):
    client.logout()
    response = upload(client, image())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not UserAvatar.objects.exists()


def test_the_picture_is_served_as_its_type_with_nosniff_a_strict_csp_and_long_caching(client):
    host = UserFactory.create()
    data = given_avatar(host, image("WEBP"))
    client.logout()
    response = client.get(avatar_url(host))
    assert response.status_code == 200
    assert response.content == data
    assert response["Content-Type"] == "image/webp"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == (
        "default-src 'none'; img-src 'self'; style-src 'none'; sandbox"
    )
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    # The address names the user's random public id and the picture's hash, never its pk.
    assert avatar_url(host) == f"/avatars/{host.public_id}/{host.avatar_hash[:16]}"


def test_an_old_address_gets_the_current_picture_cached_briefly(client):
    host = UserFactory.create()
    given_avatar(host, image(size=(10, 10)))
    old_url = avatar_url(host)
    new = given_avatar(User.objects.get(pk=host.pk), image(size=(20, 20)))
    response = client.get(old_url)
    assert response.content == new
    assert response["Cache-Control"] == "public, max-age=300"


def test_no_picture_and_no_such_user_give_the_same_404(client):
    without = UserFactory.create()
    assert (
        client.get(reverse("account_avatar", args=[without.public_id, "0" * 16])).status_code == 404
    )
    assert client.get(reverse("account_avatar", args=["usr_nobody", "0" * 16])).status_code == 404


def test_deleting_the_user_deletes_their_picture():
    host = UserFactory.create()
    given_avatar(host)
    other = UserFactory.create()
    given_avatar(other)
    host.delete()
    assert list(UserAvatar.objects.values_list("user_id", flat=True)) == [other.pk]


def test_the_public_booking_page_shows_the_hosts_picture(client):
    meeting_type = MeetingTypeFactory.create()
    given_avatar(meeting_type.host)
    host = User.objects.get(pk=meeting_type.host.pk)
    page = client.get(
        reverse("bookings:meeting_type", args=[meeting_type.organization.slug, meeting_type.slug])
    ).content.decode()
    assert f'<img class="avatar avatar-medium" src="{avatar_url(host)}" alt="">' in page


def test_a_host_without_a_picture_shows_initials_on_the_booking_page(client):
    meeting_type = MeetingTypeFactory.create()
    meeting_type.host.full_name = "Ada Lovelace"
    meeting_type.host.save()
    page = client.get(
        reverse("bookings:meeting_type", args=[meeting_type.organization.slug, meeting_type.slug])
    ).content.decode()
    assert 'avatar-initials" aria-hidden="true">AL</span>' in page
    assert "/avatars/" not in page


def test_the_invitees_booking_page_shows_the_hosts_picture(client, tenants, clock):
    booking = members_booking(tenants)
    given_avatar(tenants.member.user)
    host = User.objects.get(pk=tenants.member.user.pk)
    page = client.get(reverse("bookings:manage", args=[invitee_token(booking)])).content.decode()
    assert f'src="{avatar_url(host)}"' in page


def test_the_members_list_and_the_home_page_show_the_pictures(client, tenants):
    given_avatar(tenants.member.user)
    member = User.objects.get(pk=tenants.member.user.pk)
    client.force_login(tenants.owner.user)
    members = client.get(reverse("tenancy:members", args=[tenants.a.slug])).content.decode()
    assert f'src="{avatar_url(member)}"' in members
    client.force_login(member)
    home = client.get(reverse("home")).content.decode()
    assert f'<img class="avatar avatar-medium" src="{avatar_url(member)}" alt="">' in home


@pytest.mark.parametrize(
    ("full_name", "email", "initials"),
    [
        ("Hanna de Vries", "h@example.test", "HV"),
        ("Madonna", "m@example.test", "M"),
        ("  ", "zed@example.test", "Z"),
        ("élodie ångström", "e@example.test", "ÉÅ"),
    ],
)
def test_the_initials_are_of_the_first_and_last_name_or_the_email(full_name, email, initials):
    assert initials_of(User(full_name=full_name, email=email)) == initials


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
def test_the_picture_is_kept_without_where_it_was_taken(client, user, kind):
    uploaded = photo_with_metadata(kind)
    assert b"PhoneMaker" in uploaded
    assert upload(client, uploaded).status_code == 302
    stored = bytes(UserAvatar.objects.get(user=user).data)
    assert b"PhoneMaker" not in stored
    assert b"Keizersgracht" not in stored
    with Image.open(io.BytesIO(stored)) as picture:
        picture.load()
        assert picture.size == (40, 30)
        exif = picture.getexif()
        assert 0x8825 not in exif
        assert 0x010F not in exif
        # A JPEG keeps its turn, so a phone's portrait is not shown on its side.
        assert exif.get(0x0112) == (6 if kind == "JPEG" else None)
    user.refresh_from_db()
    assert user.avatar_hash == hashlib.sha256(stored).hexdigest()

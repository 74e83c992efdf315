"""Factories for people: users with a verified e-mail address and a known password."""

import factory
from allauth.account.models import EmailAddress

from afspraak.accounts.models import User

DEFAULT_PASSWORD = "quiet lanterns drift over amber canals"


def _set_password(user: User, create: bool, extracted: str | None, **kwargs: object) -> None:
    user.set_password(extracted or DEFAULT_PASSWORD)
    if create:
        user.save()


def _add_verified_email(user: User, create: bool, extracted: bool | None, **kwargs: object) -> None:
    if create and extracted is not False:
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    # Not Faker: a random real name could collide with the words of a password test.
    full_name = factory.Sequence(lambda n: f"Pat Example{n}")
    password = factory.PostGeneration(_set_password)
    verified_email = factory.PostGeneration(_add_verified_email)


class StaffUserFactory(UserFactory):
    is_staff = True
    is_superuser = True

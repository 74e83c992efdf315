"""Factories for people: users with a verified e-mail address and a known password."""

import factory
from allauth.account.models import EmailAddress

from afspraak.accounts.models import User

DEFAULT_PASSWORD = "quiet lanterns drift over amber canals"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or DEFAULT_PASSWORD)
        if create:
            self.save()

    @factory.post_generation
    def verified_email(self, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


class StaffUserFactory(UserFactory):
    is_staff = True
    is_superuser = True

"""Crypto below tenancy: the tenant context is handed down, field paths stay, checks still run."""

import importlib

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models
from django.test.utils import isolate_apps

from afspraak.crypto import fields, keysets, tenants
from afspraak.crypto.models import OrganizationKeyset
from afspraak.tenancy.models import Organization
from afspraak.tenancy.rls import ORGANIZATION_SETTING

pytestmark = pytest.mark.django_db


def test_tenancy_hands_crypto_its_organization_context(org):
    assert tenants.organization_setting() == ORGANIZATION_SETTING
    assert tenants.organization_model() is Organization
    with tenants.organization_context(org):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_setting(%s, true)", [ORGANIZATION_SETTING])
                assert cursor.fetchone()[0] == str(org.pk)
        assert OrganizationKeyset.objects.filter(organization=org).count() == 2


def test_without_a_provided_context_crypto_refuses_to_touch_keysets(org, monkeypatch):
    OrganizationKeyset.objects.filter(organization=org).delete()
    monkeypatch.setattr(tenants, "_provided", None)

    with pytest.raises(ImproperlyConfigured, match="no organization context"):
        keysets.create_organization_keysets(org)

    assert not OrganizationKeyset.objects.filter(organization=org).exists()


@pytest.mark.parametrize(
    "field",
    [
        fields.SealedRowField(),
        fields.EncryptedTextField(),
        fields.EncryptedEmailField(),
        fields.EncryptedJSONField(),
        fields.BlindIndexField(source="email", normalizer="email"),
    ],
    ids=lambda field: type(field).__name__,
)
def test_fields_deconstruct_to_the_package_path_migrations_use(field):
    field.set_attributes_from_name("value")
    _, path, _, _ = field.deconstruct()
    module, _, name = path.rpartition(".")

    assert path == f"afspraak.crypto.fields.{type(field).__name__}"
    assert getattr(importlib.import_module(module), name) is type(field)


@isolate_apps("afspraak.crypto")
def test_a_model_with_encrypted_fields_must_be_an_encrypted_model():
    class Plain(models.Model):
        organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
        public_id = models.CharField(max_length=32, unique=True)
        secret = fields.EncryptedTextField()

        class Meta:
            app_label = "crypto"

        def __str__(self) -> str:
            return self.public_id

    errors = fields.check_encrypted_models([_config_with(Plain)])

    assert [error.id for error in errors] == ["crypto.E001"]
    assert errors[0].obj is Plain._meta.get_field("secret")


def _config_with(model: type[models.Model]) -> object:
    class Config:
        @staticmethod
        def get_models() -> list[type[models.Model]]:
            return [model]

    return Config()

"""The encrypted field types a model declares: text, e-mail address, JSON."""

import json
from typing import Any

from django import forms
from django.core import exceptions, validators
from django.db import models

from afspraak.crypto.fields.row import EncryptedField


class EncryptedTextField(EncryptedField):
    """Text kept only as ciphertext."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(validators.MaxLengthValidator(self.max_length))


class EncryptedEmailField(EncryptedTextField):
    """An e-mail address kept only as ciphertext."""

    default_validators = [validators.validate_email]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": forms.EmailField, **kwargs})


class EncryptedJSONField(EncryptedField):
    """A JSON value (object, list, text, number) kept only as ciphertext."""

    # What django-stubs' plugin types the attribute as (TextField's would say str).
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    empty_strings_allowed = False

    def prepare(self, value: Any) -> Any:
        return value

    def to_python(self, value: Any) -> Any:
        return value

    def validate(self, value: Any, model_instance: Any) -> None:
        super().validate(value, model_instance)
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise exceptions.ValidationError(
                "Enter a value that can be stored as JSON.", code="invalid"
            ) from None

    def formfield(self, **kwargs: Any) -> Any:
        return models.Field.formfield(self, **{"form_class": forms.JSONField, **kwargs})

"""What encrypted fields refuse: plaintext in the database, SQL on their values, serializers."""

from django.core.exceptions import FieldError


class PlaintextRefusedError(TypeError):
    """A plaintext value was about to be sent to the database in place of a ciphertext."""


class EncryptedFieldQueryError(FieldError):
    """An encrypted field was named in a query: its values exist only inside the sealed row."""


class SerializationRefusedError(TypeError):
    """A model with encrypted fields was about to be written out by a serializer (``dumpdata``)."""

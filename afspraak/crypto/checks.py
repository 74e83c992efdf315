"""System checks: refuse to start with a master keyset that is unsafe or unusable."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks

from afspraak.crypto.errors import MasterKeyError
from afspraak.crypto.keyring import master_keyring


def check_master_key(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Report a master keyset file others can read, or a KMS that cannot be used."""
    # A missing keyset file is not an error here: `afspraak setup` creates it after
    # migrating, and every use of a missing key fails closed anyway.
    if (
        not settings.AFSPRAAK_MASTER_KEY_URI
        and not Path(settings.AFSPRAAK_MASTER_KEYSET_FILE).exists()
    ):
        return []
    try:
        master_keyring()
    except MasterKeyError as error:
        return [checks.Error(str(error), id="crypto.E010")]
    return []

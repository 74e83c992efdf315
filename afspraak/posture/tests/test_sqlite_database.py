"""On SQLite the database checks have nothing to look at."""

import pytest

from afspraak.posture.database import check_database_role, check_row_level_security
from afspraak.posture.results import Status

pytestmark = [pytest.mark.sqlite_only, pytest.mark.django_db]


def test_sqlite_has_no_roles_or_row_level_security_to_check(posture_target):
    assert check_database_role(posture_target).status is Status.NOT_APPLICABLE
    assert check_row_level_security(posture_target).status is Status.NOT_APPLICABLE

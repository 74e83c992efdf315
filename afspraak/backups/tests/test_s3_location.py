"""The second location on an S3-compatible store: moto's S3 server on loopback, through boto3."""

import socket

import boto3
import pytest
from moto.server import ThreadedMotoServer

from afspraak.audit.context import AuditContext
from afspraak.backups.backup import list_backups, restore_backup, run_backup, verify_backup
from afspraak.backups.errors import BackupError
from afspraak.crypto.tests.records import make_invitee

pytestmark = [pytest.mark.sqlite_only, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def s3(settings, backup_dirs):
    """Start an S3 server on 127.0.0.1 with a bucket, make it the second location, stop it."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    settings.AFSPRAAK_BACKUP_SECOND_LOCATION = "s3://offsite/afspraak"
    settings.AFSPRAAK_BACKUP_S3_ENDPOINT_URL = endpoint
    settings.AFSPRAAK_BACKUP_S3_ACCESS_KEY_ID = "testing"
    settings.AFSPRAAK_BACKUP_S3_SECRET_ACCESS_KEY = "testing"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket="offsite")
    yield client
    server.stop()


def test_backups_go_to_s3_and_restore_from_there(tmp_path, tenants, s3):
    make_invitee(tenants.a)
    manifest = run_backup(AuditContext.system())

    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket="offsite")["Contents"])
    assert keys == [
        f"afspraak/{manifest['id']}/{name}"
        for name in ("database.sqlite3.enc", "jobs.sqlite3.enc", "manifest.json")
    ]
    assert [listed["id"] for listed in list_backups()] == [manifest["id"]]
    target = tmp_path / "from-s3.sqlite3"
    restore_backup(AuditContext.system(), manifest["id"], target, source="second")
    assert target.stat().st_size == manifest["files"]["database"]["plain_size"]


def test_a_copy_altered_in_s3_is_not_listed(tenants, s3):
    manifest = run_backup(AuditContext.system())
    key = f"afspraak/{manifest['id']}/database.sqlite3.enc"
    s3.put_object(Bucket="offsite", Key=key, Body=b"not the backup")

    assert list_backups() == []
    with pytest.raises(BackupError, match="second: the database ciphertext does not match"):
        verify_backup(manifest["id"])

"""Where backups are kept: a directory, or an S3-compatible bucket (through boto3).

A backup is a folder of objects, ``<backup id>/<name>``; its manifest is written last,
so a backup without one is incomplete (a run that was killed) and never listed. Every
write is atomic: a directory's file is written beside its name and renamed, an S3
object appears whole or not at all.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from afspraak.backups.errors import BackupError

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


class Location(Protocol):
    """One place that holds a copy of every backup."""

    name: str

    def put_file(self, backup_id: str, name: str, path: Path) -> None: ...

    def put_bytes(self, backup_id: str, name: str, data: bytes) -> None: ...

    def get_bytes(self, backup_id: str, name: str) -> bytes | None: ...

    def open(self, backup_id: str, name: str) -> BinaryIO: ...

    def backup_ids(self) -> set[str]: ...

    def delete(self, backup_id: str) -> None: ...


class DirectoryLocation:
    """Backups as folders of a directory (mode 0700, files 0600)."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.root = root

    def _folder(self, backup_id: str) -> Path:
        folder = self.root / backup_id
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return folder

    @contextmanager
    def receive(self, backup_id: str, name: str) -> Iterator[BinaryIO]:
        """Give a file to write ``name`` into: it appears, synced, only if the block succeeds."""
        target = self._folder(backup_id) / name
        partial = target.with_name(f".{target.name}.partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.rename(target)

    def put_file(self, backup_id: str, name: str, path: Path) -> None:
        with path.open("rb") as source, self.receive(backup_id, name) as handle:
            shutil.copyfileobj(source, handle, _CHUNK)

    def move_in(self, backup_id: str, name: str, path: Path) -> None:
        """Move ``path`` (on this location's file system, already synced) into the backup."""
        path.rename(self._folder(backup_id) / name)

    def put_bytes(self, backup_id: str, name: str, data: bytes) -> None:
        partial = self._folder(backup_id) / f".{name}.partial"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        partial.rename(partial.with_name(name))

    def get_bytes(self, backup_id: str, name: str) -> bytes | None:
        try:
            return (self.root / backup_id / name).read_bytes()
        except FileNotFoundError:
            return None

    def open(self, backup_id: str, name: str) -> BinaryIO:
        try:
            return (self.root / backup_id / name).open("rb")
        except FileNotFoundError:
            raise BackupError(f"{self.name}: {backup_id}/{name} is missing") from None

    def backup_ids(self) -> set[str]:
        if not self.root.is_dir():
            return set()
        return {entry.name for entry in self.root.iterdir() if _is_backup_id(entry.name)}

    def delete(self, backup_id: str) -> None:
        shutil.rmtree(self.root / backup_id, ignore_errors=False)


class S3Location:
    """Backups as objects under a prefix of an S3-compatible bucket."""

    def __init__(self, name: str, bucket: str, prefix: str, client: Any) -> None:
        self.name = name
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client

    def _key(self, backup_id: str, name: str = "") -> str:
        return "/".join(part for part in (self.prefix, backup_id, name) if part)

    def _call(self, what: str, function: Any, **kwargs: Any) -> Any:
        try:
            return function(Bucket=self.bucket, **kwargs)
        except (BotoCoreError, ClientError) as error:
            raise BackupError(f"{self.name}: cannot {what}: {error}") from None

    def put_file(self, backup_id: str, name: str, path: Path) -> None:
        with path.open("rb") as source:
            self._call(
                "upload", self.client.upload_fileobj, Key=self._key(backup_id, name), Fileobj=source
            )

    def put_bytes(self, backup_id: str, name: str, data: bytes) -> None:
        self._call("write", self.client.put_object, Key=self._key(backup_id, name), Body=data)

    def get_bytes(self, backup_id: str, name: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(backup_id, name))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise BackupError(f"{self.name}: cannot read {backup_id}/{name}: {error}") from None
        except BotoCoreError as error:
            raise BackupError(f"{self.name}: cannot read {backup_id}/{name}: {error}") from None
        return bytes(answer["Body"].read())

    def open(self, backup_id: str, name: str) -> BinaryIO:
        answer = self._call(
            f"read {backup_id}/{name}", self.client.get_object, Key=self._key(backup_id, name)
        )
        body: BinaryIO = answer["Body"]
        return body

    def _keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"]
        except (BotoCoreError, ClientError) as error:
            raise BackupError(f"{self.name}: cannot list: {error}") from None

    def backup_ids(self) -> set[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        found = {key[len(start) :].split("/", 1)[0] for key in self._keys(start)}
        return {backup_id for backup_id in found if _is_backup_id(backup_id)}

    def delete(self, backup_id: str) -> None:
        for key in list(self._keys(self._key(backup_id) + "/")):
            self._call("delete", self.client.delete_object, Key=key)


def _is_backup_id(name: str) -> bool:
    # Backup ids are <UTC time>Z-<hex> (backup.new_backup_id); nothing else is ours.
    stamp, _, suffix = name.partition("Z-")
    return len(stamp) == 15 and stamp[8] == "T" and len(suffix) == 8


def location_from(name: str, address: str) -> Location:
    """Return the location ``address`` names: ``s3://bucket/prefix`` or a directory path."""
    if address.startswith("s3://"):
        parts = urlsplit(address)
        if not parts.netloc:
            raise BackupError(f"{address!r} names no bucket: write s3://bucket/prefix")
        client = boto3.client(
            "s3",
            endpoint_url=settings.AFSPRAAK_BACKUP_S3_ENDPOINT_URL or None,
            region_name=settings.AFSPRAAK_BACKUP_S3_REGION,
            aws_access_key_id=settings.AFSPRAAK_BACKUP_S3_ACCESS_KEY_ID or None,
            aws_secret_access_key=settings.AFSPRAAK_BACKUP_S3_SECRET_ACCESS_KEY or None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}),
        )
        return S3Location(name, parts.netloc, parts.path, client)
    return DirectoryLocation(name, Path(address))


def configured_locations() -> list[Location]:
    """Return the primary location and, when configured, the second one."""
    locations: list[Location] = [DirectoryLocation("primary", settings.AFSPRAAK_BACKUP_DIR)]
    if settings.AFSPRAAK_BACKUP_SECOND_LOCATION:
        locations.append(location_from("second", settings.AFSPRAAK_BACKUP_SECOND_LOCATION))
    return locations

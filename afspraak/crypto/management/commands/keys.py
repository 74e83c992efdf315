"""``afspraak keys``: show and rotate the encryption keys (control D1 at rest)."""

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from afspraak.crypto.errors import CryptoError
from afspraak.crypto.keyset_rotation import (
    DEFAULT_BATCH_SIZE,
    rotate_index_key,
    rotate_organization_key,
)
from afspraak.crypto.reporting import report_failure
from afspraak.crypto.rotation import (
    KeyInUseError,
    initialize_organization_keysets,
    key_status,
    retire_master_key,
    rotate_master_key,
)
from afspraak.crypto.tenants import Organization, organization_with_slug


def _age(since: datetime | None) -> str:
    if since is None:
        return "age unknown"
    days = (timezone.now() - since).days
    return f"since {since:%Y-%m-%d}, {days} day{'s' if days != 1 else ''}"


class Command(BaseCommand):
    help = "Show and rotate encryption keys."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser(
            "status", help="master key ids and ages, and which organizations use which"
        )
        actions.add_parser(
            "rotate-master",
            help="add a new primary master key and rewrap every organization keyset under it",
        )
        retire = actions.add_parser(
            "retire-master", help="remove an old master key once nothing uses it"
        )
        retire.add_argument("key_id", metavar="KEY_ID")
        rotate = actions.add_parser(
            "rotate-org",
            help="give an organization a new data key and re-encrypt its rows (resumable); "
            "blind indexes keep their key: see rotate-index",
        )
        rotate.add_argument("organization", metavar="ORG_SLUG")
        rotate.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
        rotate_index = actions.add_parser(
            "rotate-index",
            help="give an organization a new blind-index (PRF) key and recompute its blind "
            "indexes (resumable; lookups match old and new indexes until the old key is "
            "retired at the end)",
        )
        rotate_index.add_argument("organization", metavar="ORG_SLUG")
        rotate_index.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
        init = actions.add_parser(
            "init-org", help="create the keysets of an organization that has none"
        )
        init.add_argument("organization", metavar="ORG_SLUG")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "status":
                self.status()
            elif action == "rotate-master":
                self.rotate_master()
            elif action == "retire-master":
                retire_master_key(options["key_id"])
                self.stdout.write(
                    f"retired master key {options['key_id']}: it is gone from the keyset; "
                    "back up the master keyset file now"
                )
            elif action == "rotate-org":
                self.rotate_org(options["organization"], options["batch_size"])
            elif action == "rotate-index":
                self.rotate_index(options["organization"], options["batch_size"])
            elif action == "init-org":
                organization = self.organization(options["organization"])
                if initialize_organization_keysets(organization):
                    self.stdout.write(f"created the keysets of {organization.slug}")
                else:
                    self.stdout.write(f"{organization.slug} already has its keysets")
        except CryptoError as failure:
            report_failure(failure)
            raise CommandError(str(failure)) from None
        except KeyInUseError as refusal:
            raise CommandError(str(refusal)) from None

    def organization(self, slug: str) -> Organization:
        organization = organization_with_slug(slug)
        if organization is None:
            raise CommandError(f"no organization with slug {slug!r}")
        return organization

    def status(self) -> None:
        status = key_status()
        self.stdout.write(f"Master key: {status.master_description}")
        if status.master_error:
            self.stdout.write(f"  UNAVAILABLE: {status.master_error}")
        for key in status.master_keys:
            role = "primary" if key.primary else "old"
            self.stdout.write(
                f"  key {key.key_id} ({role}, {_age(key.first_seen_at)}): wraps "
                f"{key.keysets} organization keyset(s), {key.mfa_secrets} MFA secret(s)"
            )
        self.stdout.write(f"Organizations: {len(status.organizations)}")
        for org in status.organizations:
            old = [key_id for key_id in org.data_key_ids if key_id != org.data_primary_key_id]
            self.stdout.write(
                f"  {org.slug}: data key {org.data_primary_key_id} "
                f"({_age(org.data_key_since)})"
                + (
                    f", old data keys {', '.join(map(str, old))} "
                    f"({org.rows_under_old_keys} row(s) still under them)"
                    if old
                    else ""
                )
                + f"; index key {', '.join(map(str, org.index_key_ids))}"
                + f"; wrapped by master key {', '.join(org.master_key_ids)}"
                + ("; ROTATION IN PROGRESS (rerun rotate-org)" if org.rotation_in_progress else "")
                + (
                    "; INDEX ROTATION IN PROGRESS (rerun rotate-index)"
                    if org.index_rotation_in_progress
                    else ""
                )
            )
        if status.organizations_without_keysets:
            self.stdout.write(
                "Organizations WITHOUT keysets (run `afspraak keys init-org SLUG`): "
                + ", ".join(status.organizations_without_keysets)
            )
        if status.master_error:
            raise CommandError("the master key is unavailable")

    def rotate_master(self) -> None:
        result = rotate_master_key()
        self.stdout.write(
            f"master key {result.new_primary_key_id} is primary (was "
            f"{result.old_primary_key_id}); rewrapped {result.keysets_rewrapped} organization "
            f"keyset(s) and re-encrypted {result.mfa_authenticators_reencrypted} MFA "
            "authenticator(s). "
            "Back up the master keyset file now; retire the old key with "
            f"`afspraak keys retire-master {result.old_primary_key_id}`."
        )

    def rotate_org(self, slug: str, batch_size: int) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        organization = self.organization(slug)
        result = rotate_organization_key(organization, batch_size=batch_size)
        retired = ", ".join(map(str, result.retired_key_ids)) or "none"
        self.stdout.write(
            f"{organization.slug}: data key {result.new_key_id} is primary; "
            f"re-encrypted {result.rows_changed} row(s); retired key(s): {retired}"
            + (" (resumed an interrupted rotation)" if result.resumed else "")
        )

    def rotate_index(self, slug: str, batch_size: int) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        organization = self.organization(slug)
        result = rotate_index_key(organization, batch_size=batch_size)
        retired = ", ".join(map(str, result.retired_key_ids)) or "none"
        self.stdout.write(
            f"{organization.slug}: blind-index key {result.new_key_id} is primary; "
            f"recomputed the indexes of {result.rows_changed} row(s); retired key(s): "
            f"{retired}" + (" (resumed an interrupted rotation)" if result.resumed else "")
        )

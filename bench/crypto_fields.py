"""Benchmark the encrypted fields: per-value cost, and loading 1,000 invitees.

Run: ``.venv/bin/python bench/crypto_fields.py``. It sets Django up on its own with
a throw-away SQLite database and master keyset in a temporary directory, and prints:

- encrypt and decrypt operations per second for a 64-byte field value, through the
  field (associated data, Tink AES-256-GCM, the stored text format) and through the
  bare Tink primitive for reference;
- the time to load 1,000 invitees and read their five encrypted fields, against the
  same rows in a plaintext table, and the ratio (target: at most 1.3); and the ratio
  when only one field is read, as a list page does (decryption is lazy);
- for comparison only, the same load from a table where the five values are one
  ciphertext per row (a single ``EncryptedJSONField``): what a per-row design would
  give. No model uses that design; it would need a schema change in every app with
  encrypted fields.

Both tables are read with the same query (the organization's rows) and the same
attribute reads.

Loads are timed alternately (plaintext, encrypted, …) so a busy machine slows both alike.
"""

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROWS = 1000
REPEATS = 15
VALUE_64 = "x" * 52 + "@example.test"  # 64 bytes


def _setup_django(directory: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "afspraak.settings",
            "AFSPRAAK_VAR_DIR": str(directory),
            "AFSPRAAK_DB_ENGINE": "sqlite",
            "AFSPRAAK_DB_NAME": str(directory / "bench.sqlite3"),
            "AFSPRAAK_MASTER_KEYSET_FILE": str(directory / "keys" / "master.json"),
            "AFSPRAAK_MASTER_KEY_URI": "",
            "AFSPRAAK_LOG_LEVEL": "warning",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    from afspraak.crypto.keyring import create_master_keyset

    create_master_keyset(directory / "keys" / "master.json")
    call_command("migrate", verbosity=0)


def _interleaved(
    first: Callable[[], object], second: Callable[[], object], repeats: int
) -> tuple[list[float], list[float]]:
    """Time two loads alternately, so a busy machine slows both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for run, bucket in ((first, times[0]), (second, times[1])):
            started = time.perf_counter()
            run()
            bucket.append(time.perf_counter() - started)
    return times


def _ops_per_second(run: Callable[[], object], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        run()
    return count / (time.perf_counter() - started)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="afspraak-bench-") as name:
        _setup_django(Path(name))
        from django.db import connection, models
        from django_scopes import scope, scopes_disabled

        from afspraak.bookings.models import Invitee
        from afspraak.crypto import keysets
        from afspraak.crypto.fields import EncryptedJSONField, EncryptedModel, Sealed
        from afspraak.tenancy.models import Organization

        class PlainInvitee(models.Model):
            """The same columns as Invitee, in the clear: the baseline."""

            organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
            public_id = models.CharField(max_length=32, unique=True)
            name = models.TextField()
            email = models.TextField()
            email_index = models.CharField(max_length=64, blank=True)
            phone = models.TextField()
            notes = models.TextField()
            answers = models.JSONField(default=dict)
            created_at = models.DateTimeField(auto_now_add=True)

            class Meta:
                app_label = "bookings"

            def __str__(self) -> str:
                return self.public_id

        class BundledInvitee(EncryptedModel):
            """The same values as Invitee, all five in one ciphertext per row: the alternative."""

            organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
            public_id = models.CharField(max_length=32, unique=True)
            sealed = EncryptedJSONField()
            email_index = models.CharField(max_length=64, blank=True)
            created_at = models.DateTimeField(auto_now_add=True)

            class Meta:
                app_label = "bookings"

        with connection.schema_editor() as editor:
            editor.create_model(PlainInvitee)
            editor.create_model(BundledInvitee)

        organization = Organization.objects.create(name="Bench", slug="bench")
        keysets.create_organization_keysets(organization)
        values = {
            "phone": "+31 6 1234 5678",
            "notes": "Prefers mornings; wheelchair access",
            "answers": {"reason": "check-up", "first_visit": True},
        }
        with scope(organization=organization):
            invitees = Invitee.objects.bulk_create(
                Invitee(
                    organization=organization,
                    name=f"Invitee number {n}",
                    email=f"invitee{n}@example.test",
                    **values,
                )
                for n in range(ROWS)
            )
        PlainInvitee.objects.bulk_create(
            PlainInvitee(
                organization=organization,
                public_id=invitee.public_id,
                name=f"Invitee number {n}",
                email=f"invitee{n}@example.test",
                email_index=invitee.email_index or "",
                **values,
            )
            for n, invitee in enumerate(invitees)
        )
        for n, invitee in enumerate(invitees):
            BundledInvitee(
                organization=organization,
                public_id=invitee.public_id,
                sealed={
                    "name": f"Invitee number {n}",
                    "email": f"invitee{n}@example.test",
                    **values,
                },
                email_index=invitee.email_index or "",
            ).save()

        # Per value: one 64-byte field through the field's own encrypt and decrypt path.
        keys = keysets.keys_for_reading(organization.pk)
        sample = invitees[0]
        field = Invitee._meta.get_field("notes")
        sealed = field.seal_for(sample, VALUE_64, keys)
        assert field.open(sample, sealed) == VALUE_64
        count = 50_000
        field_encrypt = _ops_per_second(lambda: field.seal_for(sample, VALUE_64, keys), count)
        field_decrypt = _ops_per_second(lambda: field.open(sample, sealed), count)
        plaintext, associated_data = VALUE_64.encode(), b"a" * 60
        ciphertext = keys.data.encrypt(plaintext, associated_data)
        tink_encrypt = _ops_per_second(lambda: keys.data.encrypt(plaintext, associated_data), count)
        tink_decrypt = _ops_per_second(
            lambda: keys.data.decrypt(ciphertext, associated_data), count
        )

        def load_encrypted() -> None:
            with scope(organization=organization):
                for row in Invitee.objects.all():
                    _ = (row.name, row.email, row.phone, row.notes, row.answers)

        def load_plain() -> None:
            with scopes_disabled():
                for row in PlainInvitee.objects.filter(organization=organization):
                    _ = (row.name, row.email, row.phone, row.notes, row.answers)

        def load_bundled() -> None:
            with scopes_disabled():
                for row in BundledInvitee.objects.filter(organization=organization):
                    values = row.sealed
                    _ = (
                        values["name"],
                        values["email"],
                        values["phone"],
                        values["notes"],
                        values["answers"],
                    )

        def load_encrypted_names() -> None:
            with scope(organization=organization):
                for row in Invitee.objects.all():
                    _ = row.name

        def load_plain_names() -> None:
            with scopes_disabled():
                for row in PlainInvitee.objects.filter(organization=organization):
                    _ = row.name

        keysets.clear_cache()
        cold_started = time.perf_counter()
        load_encrypted()
        cold = time.perf_counter() - cold_started
        _interleaved(load_plain, load_encrypted, 3)
        plain_times, encrypted_times = _interleaved(load_plain, load_encrypted, REPEATS)
        plain_names, encrypted_names = _interleaved(load_plain_names, load_encrypted_names, REPEATS)
        plain_again, bundled_times = _interleaved(load_plain, load_bundled, REPEATS)
        bundled_ratio = statistics.median(bundled_times) / statistics.median(plain_again)
        names_ratio = statistics.median(encrypted_names) / statistics.median(plain_names)
        plain_best, plain_median = min(plain_times), statistics.median(plain_times)
        encrypted_best, encrypted_median = min(encrypted_times), statistics.median(encrypted_times)

        with scope(organization=organization):
            first = Invitee.objects.first()
            assert first is not None
            assert isinstance(first.__dict__["name"], Sealed)

    lines = [
        f"encrypted fields benchmark ({ROWS} invitees, SQLite, {REPEATS} alternating repeats)",
        f"  encrypt, 64-byte field value: {field_encrypt:>9,.0f} ops/s"
        f"  (bare Tink AEAD: {tink_encrypt:,.0f} ops/s)",
        f"  decrypt, 64-byte field value: {field_decrypt:>9,.0f} ops/s"
        f"  (bare Tink AEAD: {tink_decrypt:,.0f} ops/s)",
        f"  load {ROWS} rows, read 5 fields, plaintext: best {plain_best * 1000:6.1f} ms,"
        f" median {plain_median * 1000:6.1f} ms",
        f"  load {ROWS} rows, read 5 fields, encrypted: best {encrypted_best * 1000:6.1f} ms,"
        f" median {encrypted_median * 1000:6.1f} ms",
        f"  ratio encrypted / plaintext: best {encrypted_best / plain_best:.2f}x,"
        f" median {encrypted_median / plain_median:.2f}x (target <= 1.3x)",
        f"  ratio when only the name is read (a list page; decryption is lazy):"
        f" median {names_ratio:.2f}x",
        f"  first encrypted load with a cold key cache: {cold * 1000:.1f} ms",
        f"  (not in use) one ciphertext per row holding the five values: median"
        f" {statistics.median(bundled_times) * 1000:.1f} ms, ratio {bundled_ratio:.2f}x",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Benchmark the encrypted rows: per-row cost, and loading 1,000 invitees.

Run: ``.venv/bin/python bench/crypto_fields.py``. It sets Django up on its own with
a throw-away SQLite database and master keyset in a temporary directory, and prints:

- seal and open operations per second for one invitee row (its five encrypted values,
  one JSON object, one ciphertext: associated data, Tink AES-256-GCM, the stored text
  format), and the bare Tink primitive on a 64-byte value and on the row's plaintext
  for reference;
- the time to load 1,000 invitees (the real ``bookings.Invitee`` model, whose
  encrypted fields are sealed together in one column) and read their five encrypted
  fields, against the same rows in a plaintext twin table, and the ratio (target: at
  most 1.3); and the ratio when only one field is read, as a list page does (the row
  is decrypted whole either way).

Both tables are read with the same query (the organization's rows) and the same
attribute reads.

Loads are timed alternately (plaintext, encrypted, …) so a busy machine slows both alike.
"""

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _figures import figure

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
        from afspraak.crypto.fields import SEALED, is_unread, open_row, row_spec, seal_row
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

        with connection.schema_editor() as editor:
            editor.create_model(PlainInvitee)

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
        # Per row: one invitee's five values through the model's own seal and open path.
        keys = keysets.keys_for_reading(organization.pk)
        sample = invitees[0]
        sample.notes = VALUE_64
        text = seal_row(sample, keys)
        row_values = {name: getattr(sample, name) for name in row_spec(Invitee).names}
        row_bytes = len(json.dumps(row_values, separators=(",", ":")).encode())

        def open_once() -> None:
            for name in row_spec(Invitee).names:
                sample.__dict__.pop(name, None)
            sample.__dict__[SEALED] = text
            open_row(sample)

        open_once()
        assert sample.notes == VALUE_64
        count = 20_000
        row_seal = _ops_per_second(lambda: seal_row(sample, keys), count)
        row_open = _ops_per_second(open_once, count)
        associated_data = b"a" * 100
        tink_rates = []
        for plaintext in (VALUE_64.encode(), b"r" * row_bytes):
            ciphertext = keys.data.encrypt(plaintext, associated_data)
            tink_rates.append(
                (
                    _ops_per_second(
                        lambda p=plaintext: keys.data.encrypt(p, associated_data), count
                    ),
                    _ops_per_second(
                        lambda c=ciphertext: keys.data.decrypt(c, associated_data), count
                    ),
                )
            )

        def load_encrypted() -> None:
            with scope(organization=organization):
                for row in Invitee.objects.all():
                    _ = (row.name, row.email, row.phone, row.notes, row.answers)

        def load_plain() -> None:
            with scopes_disabled():
                for row in PlainInvitee.objects.filter(organization=organization):
                    _ = (row.name, row.email, row.phone, row.notes, row.answers)

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
        names_ratio = statistics.median(encrypted_names) / statistics.median(plain_names)
        plain_best, plain_median = min(plain_times), statistics.median(plain_times)
        encrypted_best, encrypted_median = min(encrypted_times), statistics.median(encrypted_times)

        with scope(organization=organization):
            first = Invitee.objects.first()
            assert first is not None
            assert is_unread(first)
            assert first.name == "Invitee number 0"

    (tink_encrypt_64, tink_decrypt_64), (tink_encrypt_row, tink_decrypt_row) = tink_rates
    lines = [
        f"encrypted rows benchmark ({ROWS} invitees, SQLite, {REPEATS} alternating repeats)",
        f"  seal one invitee row (five values, ~{row_bytes} bytes): {row_seal:>9,.0f} ops/s"
        f"  (bare Tink AEAD: {tink_encrypt_row:,.0f} ops/s; on 64 bytes: {tink_encrypt_64:,.0f})",
        f"  open one invitee row (five values, ~{row_bytes} bytes): {row_open:>9,.0f} ops/s"
        f"  (bare Tink AEAD: {tink_decrypt_row:,.0f} ops/s; on 64 bytes: {tink_decrypt_64:,.0f})",
        f"  load {ROWS} rows, read 5 fields, plaintext: best {plain_best * 1000:6.1f} ms,"
        f" median {plain_median * 1000:6.1f} ms",
        f"  load {ROWS} rows, read 5 fields, encrypted: best {encrypted_best * 1000:6.1f} ms,"
        f" median {encrypted_median * 1000:6.1f} ms",
        f"  ratio encrypted / plaintext: best {encrypted_best / plain_best:.2f}x,"
        f" median {encrypted_median / plain_median:.2f}x (target <= 1.3x)",
        f"  ratio when only the name is read (a list page): median {names_ratio:.2f}x",
        f"  first encrypted load with a cold key cache: {cold * 1000:.1f} ms",
    ]
    print("\n".join(lines))
    figure(
        "crypto",
        "encrypted / plaintext row load (median)",
        encrypted_median / plain_median,
        "x",
        "<= 1.3",
    )


if __name__ == "__main__":
    main()

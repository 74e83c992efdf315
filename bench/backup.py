"""Benchmark the encrypted SQLite backup against SQLite's plain online backup of the same file.

Run: ``.venv/bin/python bench/backup.py [MEGABYTES]`` (default 300; the issue's figure
is taken at 1100). It generates a database of that size in a temporary directory:
bookings whose sealed invitee data is random base64 (incompressible, as ciphertext is),
with an index, then times, best of 3 taken in turns:

- plain: ``sqlite3.Connection.backup`` into a new file (SQLite's defaults);
- encrypted: what ``afspraak backup run`` does with the live database file: one pass
  under a read transaction, Tink Streaming AEAD (AES256_GCM_HKDF_1MB) into the
  ciphertext file with its SHA-256 computed on the way, synced to disk
  (``snapshot.encrypt_live_database``);
- two passes: what it did before (and still does for a database in WAL mode): the
  online backup into a temporary file, then that file encrypted.

It prints the times, the throughput and the ratios (target: encrypted / plain <= 1.15).
"""

import base64
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "afspraak.settings")

import django

django.setup()

import tink  # noqa: E402
from _figures import figure  # noqa: E402
from tink import streaming_aead  # noqa: E402

from afspraak.backups import snapshot  # noqa: E402

streaming_aead.register()

ROW_BYTES = 1024


def generate(path: Path, megabytes: int) -> None:
    database = sqlite3.connect(path)
    database.execute(
        "CREATE TABLE booking (id INTEGER PRIMARY KEY, public_id TEXT, starts_at TEXT, sealed TEXT)"
    )
    rows = megabytes * 1_000_000 // (ROW_BYTES + 80)
    batch = 10_000
    for first in range(0, rows, batch):
        database.executemany(
            "INSERT INTO booking (public_id, starts_at, sealed) VALUES (?, ?, ?)",
            (
                (
                    os.urandom(12).hex(),
                    f"2026-12-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
                    base64.b64encode(os.urandom(ROW_BYTES * 3 // 4)).decode(),
                )
                for n in range(first, min(first + batch, rows))
            ),
        )
    database.execute("CREATE INDEX booking_public_id ON booking (public_id)")
    # The backup notes the newest deletion-ledger record its copy holds.
    database.execute("CREATE TABLE audit_deletionrecord (id INTEGER PRIMARY KEY)")
    database.commit()
    database.close()


def plain_backup(source: Path, target: Path) -> None:
    live = sqlite3.connect(source)
    copy = sqlite3.connect(target)
    live.backup(copy)
    copy.close()
    live.close()


def encrypted_backup(primitive: streaming_aead.StreamingAead, source: Path, target: Path) -> None:
    streamed = snapshot.encrypt_live_database(
        primitive, source, target, b"afspraak backup bench database"
    )
    if streamed is None:
        raise SystemExit("the generated database is in WAL mode: nothing to compare")


def two_pass_backup(
    primitive: streaming_aead.StreamingAead, source: Path, work: Path, target: Path
) -> None:
    copy = work / "copy.sqlite3"
    snapshot.copy_sqlite_file(source, copy)
    snapshot.encrypt_file(primitive, copy, target, b"afspraak backup bench database")
    copy.unlink()


def best_of_interleaved(rounds: int, actions: dict, cleanup) -> dict[str, float]:
    """Time each action once per round, in turn, and keep each one's best time.

    In turns, so a shift in the shared machine's load or disk speed reaches all of them
    alike instead of one block of runs.
    """
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(rounds):
        for name, action in actions.items():
            cleanup()
            started = time.perf_counter()
            action()
            times[name].append(time.perf_counter() - started)
    cleanup()
    return {name: min(taken) for name, taken in times.items()}


def main() -> None:
    megabytes = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    handle = tink.new_keyset_handle(streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB)
    primitive = handle.primitive(streaming_aead.StreamingAead)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        source = root / "live.sqlite3"
        started = time.perf_counter()
        generate(source, megabytes)
        size = source.stat().st_size
        print(f"database: {size / 1e6:.0f} MB generated in {time.perf_counter() - started:.1f} s")
        plain_target = root / "plain.sqlite3"
        encrypted_target = root / "backup.sqlite3.enc"

        def clear() -> None:
            for path in (plain_target, encrypted_target, root / "copy.sqlite3"):
                path.unlink(missing_ok=True)

        best = best_of_interleaved(
            3,
            {
                "plain": lambda: plain_backup(source, plain_target),
                "encrypted": lambda: encrypted_backup(primitive, source, encrypted_target),
                "two_pass": lambda: two_pass_backup(primitive, source, root, encrypted_target),
            },
            clear,
        )
        plain, encrypted, two_pass = best["plain"], best["encrypted"], best["two_pass"]
    print(f"plain online backup:    {plain:.2f} s ({size / 1e6 / plain:.0f} MB/s)")
    print(f"encrypted, one pass:    {encrypted:.2f} s ({size / 1e6 / encrypted:.0f} MB/s)")
    print(f"encrypted, two passes:  {two_pass:.2f} s ({size / 1e6 / two_pass:.0f} MB/s)")
    print(f"ratio one pass / plain:   {encrypted / plain:.2f} (target <= 1.15)")
    print(f"ratio two passes / plain: {two_pass / plain:.2f}")
    figure("backup", "encrypted / plain online backup time", encrypted / plain, "x", "<= 1.15")


if __name__ == "__main__":
    main()

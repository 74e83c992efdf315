"""Brute force: 10 failed logins lock an account for 30 minutes, counted in the database so
every server process sees them; one address guessing across accounts is throttled."""

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.core import mail
from django.db import connection
from django.urls import reverse

from afspraak.accounts.login_identity import login_identity
from afspraak.accounts.tests.login_worker import WRONG_PASSWORD
from afspraak.accounts.tests.signin import submit_password
from afspraak.audit.models import AuditEvent
from afspraak.testing.audit import events
from afspraak.testing.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REPO_ROOT = Path(__file__).resolve().parents[3]


def _fail(client, email, times, *, address="127.0.0.1"):
    return [
        client.post(
            reverse("account_login"),
            {"login": email, "password": WRONG_PASSWORD},
            REMOTE_ADDR=address,
        ).status_code
        for _ in range(times)
    ]


def _logged_in(client):
    return client.get(reverse("home")).context["user"].is_authenticated


SMALL_LIMIT = 3


@pytest.fixture
def small_limit(settings):
    """A lower failure limit for tests about something other than the limit itself."""
    settings.AXES_FAILURE_LIMIT = SMALL_LIMIT
    return SMALL_LIMIT


def test_ten_failures_lock_the_account_even_against_the_right_password(client):
    user = UserFactory.create()

    assert _fail(client, user.email, 9) == [200] * 9
    assert _fail(client, user.email, 1) == [429]
    response = submit_password(client, user.email)

    assert response.status_code == 429
    assert "locked for 30 minutes" in response.content.decode()
    assert not _logged_in(client)
    failures = events("accounts.login.failed")
    assert [e.outcome for e in failures] == ["failure"] * 10 + ["denied"]
    assert failures[-1].data == {
        "known_account": True,
        "reason": "locked_out",
        "identity": login_identity(user.email),
    }
    assert {e.target_id for e in failures} == {user.public_id}
    [lockout] = events("accounts.login.locked_out")
    assert (lockout.outcome, lockout.target_id) == ("denied", user.public_id)
    assert lockout.data == {"known_account": True, "failures": 10}


def test_the_lock_lifts_by_itself_after_thirty_minutes(client):
    user = UserFactory.create()
    with time_machine.travel(START, tick=False):
        _fail(client, user.email, 10)
    with time_machine.travel(START + timedelta(minutes=29), tick=False):
        assert submit_password(client, user.email).status_code == 429
    with time_machine.travel(START + timedelta(minutes=31), tick=False):
        response = submit_password(client, user.email)
        assert response.status_code == 302
        assert _logged_in(client)
    assert not AccessAttempt.objects.filter(username=user.email).exists()


def test_attempts_while_locked_do_not_extend_the_lock(client, small_limit):
    user = UserFactory.create()
    with time_machine.travel(START, tick=False):
        _fail(client, user.email, small_limit)
    with time_machine.travel(START + timedelta(minutes=20), tick=False):
        assert _fail(client, user.email, 3) == [429] * 3
    with time_machine.travel(START + timedelta(minutes=31), tick=False):
        assert submit_password(client, user.email).status_code == 302


def test_failures_count_per_account_whatever_the_address_or_letter_case(client, small_limit):
    user = UserFactory.create()

    _fail(client, user.email, 2, address="192.0.2.1")
    _fail(client, user.email.upper(), 1, address="198.51.100.7")

    assert submit_password(client, user.email).status_code == 429


def test_unknown_address_locks_like_a_real_account(client, small_limit):
    email = "nobody@example.test"

    statuses = _fail(client, email, small_limit + 1)

    assert statuses == [200] * (small_limit - 1) + [429, 429]
    stored = [(e.data, e.target_id) for e in AuditEvent.objects.all()]
    assert "nobody@example.test" not in json.dumps(stored)
    [lockout] = events("accounts.login.locked_out")
    assert lockout.data == {"known_account": False, "failures": small_limit}


def test_other_accounts_are_not_locked(client, small_limit):
    locked, other = UserFactory.create(), UserFactory.create()
    _fail(client, locked.email, small_limit)

    assert submit_password(client, other.email).status_code == 302


def test_a_successful_login_resets_the_count(client, small_limit):
    user = UserFactory.create()
    _fail(client, user.email, small_limit - 1)
    assert submit_password(client, user.email).status_code == 302
    client.post(reverse("account_logout"))

    assert _fail(client, user.email, small_limit - 1) == [200] * (small_limit - 1)
    assert submit_password(client, user.email).status_code == 302


def test_password_reset_by_email_lifts_the_lock(client, small_limit):
    user = UserFactory.create()
    _fail(client, user.email, small_limit)
    assert submit_password(client, user.email).status_code == 429
    client.post(reverse("account_reset_password"), {"email": user.email})
    link = next(word for word in mail.outbox[0].body.split() if "/password/reset/key/" in word)
    form_url = client.get(link)["Location"]
    new_password = "seven orange gliders hum beneath the quay"
    response = client.post(form_url, {"password1": new_password, "password2": new_password})
    assert response.status_code == 302

    assert submit_password(client, user.email, new_password).status_code == 302
    [reset] = events("accounts.password.reset")
    assert reset.data == {"lock_lifted": True}


GUESSER = "203.0.113.9"


def _guess_across_accounts(client, users, traveller):
    # One guess every 20 seconds: slow enough to stay under allauth's per-minute limit on
    # login posts, so what stops the guesser is the failed-login throttle under test.
    for user in users:
        assert _fail(client, user.email, 1, address=GUESSER) == [200]
        traveller.shift(20)


def test_one_address_guessing_across_accounts_is_throttled(client):
    allowed = int(settings.ACCOUNT_RATE_LIMITS["login_failed"].split("/")[0])
    users = UserFactory.create_batch(allowed + 1)
    with time_machine.travel(START, tick=False) as traveller:
        _guess_across_accounts(client, users[:allowed], traveller)
        response = client.post(
            reverse("account_login"),
            {"login": users[allowed].email, "password": DEFAULT_PASSWORD},
            REMOTE_ADDR=GUESSER,
        )

        assert response.status_code == 200
        assert "Too many failed login attempts" in response.content.decode()
        assert not _logged_in(client)
        # The throttled guess never reached the password check or the account's counters.
        assert not AccessAttempt.objects.filter(username=users[allowed].email).exists()
        [throttled] = events("accounts.login.throttled")
        assert throttled.outcome == "denied"
        assert throttled.ip_address == GUESSER
        # Another address is not affected, and this one may try again after the window.
        assert submit_password(client, users[allowed].email).status_code == 302
        client.post(reverse("account_logout"))
        traveller.shift(timedelta(minutes=16))
        response = client.post(
            reverse("account_login"),
            {"login": users[allowed].email, "password": DEFAULT_PASSWORD},
            REMOTE_ADDR=GUESSER,
        )
        assert response.status_code == 302


@pytest.fixture(scope="module")
def shared_database_file(django_db_setup, django_db_blocker, tmp_path_factory):
    """An SQLite file holding the migrated schema, for server processes to share.

    On the SQLite run the in-memory test database is copied with SQLite's backup API
    (milliseconds, and before any test transaction is open); otherwise the schema is
    built by ``migrate`` in the file.
    """
    path = tmp_path_factory.mktemp("lockout") / "shared.sqlite3"
    with django_db_blocker.unblock():
        if connection.vendor == "sqlite":
            assert "memory" in connection.settings_dict["NAME"], "never copy a real database"
            connection.ensure_connection()
            target = sqlite3.connect(path)
            connection.connection.backup(target)
            target.close()
        else:
            env = _worker_env(path)
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
                cwd=REPO_ROOT,
                env=env,
                check=True,
                timeout=120,
            )
            subprocess.run(
                [sys.executable, "manage.py", "createcachetable"],
                cwd=REPO_ROOT,
                env=env,
                check=True,
                timeout=60,
            )
    return path


def _worker_env(database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AFSPRAAK_REDIS_URL"}
    env |= {
        "AFSPRAAK_DB_ENGINE": "sqlite",
        "AFSPRAAK_DB_NAME": str(database),
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "afspraak.settings"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
    }
    return env


def _start_worker(database: Path, email: str, *args: str) -> subprocess.Popen[str]:
    """Start a login worker process and wait until it has started Django."""
    worker = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
        [sys.executable, "-m", "afspraak.accounts.tests.login_worker", "--email", email, *args],
        cwd=REPO_ROOT,
        env=_worker_env(database),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return worker


def _wait_ready(worker: subprocess.Popen[str]) -> None:
    assert worker.stdout is not None
    line = worker.stdout.readline()
    if line.strip() != "ready":
        worker.kill()
        _stdout, stderr = worker.communicate()
        pytest.fail(f"login worker did not start: {stderr[-3000:]}")


def _go(*workers: subprocess.Popen[str]) -> None:
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()


def _statuses(worker: subprocess.Popen[str]) -> list[int]:
    stdout, stderr = worker.communicate(timeout=120)
    assert worker.returncode == 0, stderr[-3000:]
    return json.loads(stdout.strip().splitlines()[-1])["statuses"]


def test_failure_counters_are_shared_by_every_server_process(shared_database_file):
    """Ten failures spread over three OS processes lock the account in all of them.

    Each process is a separate Python interpreter with its own Django, connections and
    memory, like one gunicorn worker; they share only the database file, as workers share
    the production database. The first two fail at the same time; the third starts only
    after both have exited, as a restarted worker would, and still sees their counts.
    """
    email = "shared-lock@example.test"
    workers: list[subprocess.Popen[str]] = []
    try:
        first = _start_worker(shared_database_file, email, "--wrong", "4", "--create-user")
        workers.append(first)
        second = _start_worker(shared_database_file, email, "--wrong", "3", "--address", "10.0.0.2")
        workers.append(second)
        _wait_ready(first)
        _wait_ready(second)
        _go(first, second)
        concurrent = _statuses(first) + _statuses(second)

        restarted = _start_worker(
            shared_database_file, email, "--wrong", "3", "--right", "1", "--address", "10.0.0.3"
        )
        workers.append(restarted)
        _wait_ready(restarted)
        _go(restarted)
        after_restart = _statuses(restarted)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    assert concurrent == [200] * 7
    assert after_restart == [200, 200, 429, 429]
    with sqlite3.connect(shared_database_file) as database:
        actions = database.execute(
            "SELECT action, outcome FROM audit_auditevent ORDER BY id"
        ).fetchall()
    assert actions.count(("accounts.login.failed", "failure")) == 10
    assert actions.count(("accounts.login.locked_out", "denied")) == 1
    assert actions.count(("accounts.login.failed", "denied")) == 1


def test_lock_is_answered_in_json_to_scripts(client, small_limit):
    user = UserFactory.create()
    _fail(client, user.email, small_limit)

    response = client.post(
        reverse("account_login"),
        {"login": user.email, "password": DEFAULT_PASSWORD},
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )

    assert response.status_code == 429
    body = response.json()
    assert body["lock_minutes"] == 30
    assert user.email not in json.dumps(body)

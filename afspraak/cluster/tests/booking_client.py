"""A booking client of the failover test, run as its own process against the Patroni pair.

``setup`` creates a host, an organization and a 30-minute meeting type open around the
clock, and prints the meeting type's id. ``book N`` books slot after slot as client N
through ``book_meeting`` until the stop file exists; ``post N`` does the same through the
whole web stack (Django's test client posting the public booking form over HTTPS: every
middleware, the rate limit in the database cache, the 503 handler). Each prints one JSON
line per attempt: ``confirmed`` (with the slot's start) once the booking was answered as
made, ``retryable`` when the database was unavailable (the failover; over HTTP a 503 with
``Retry-After``), ``taken`` when a retry found its slot already booked (a commit whose
answer was lost: not counted as confirmed), ``error`` for anything else (a 500 among them).
Each client is a process with its own connection, as a web worker is.
"""

import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

NOW = datetime(2030, 1, 1, tzinfo=UTC)
FIRST_SLOT = datetime(2030, 1, 7, tzinfo=UTC)
CLIENTS_MAX = 16
RETRY_PAUSE = 0.2
ORGANIZATION_SLUG = "failover"


def _setup() -> None:
    from afspraak.accounts.models import User
    from afspraak.audit.context import AuditContext
    from afspraak.crypto.keyring import create_master_keyset
    from afspraak.scheduling.models import MeetingType, Schedule
    from afspraak.tenancy.context import organization_context
    from afspraak.tenancy.organizations import create_organization

    create_master_keyset(Path(os.environ["AFSPRAAK_MASTER_KEYSET_FILE"]))
    host = User.objects.create_user("host@failover.test", "not used by the test")
    organization = create_organization(
        AuditContext.system(host), name="Failover", slug=ORGANIZATION_SLUG
    )
    with organization_context(organization):
        schedule = Schedule.objects.create(
            organization=organization,
            host=host,
            name="Always",
            time_zone="Europe/Amsterdam",
            weekly_hours={str(day): [["00:00", "24:00"]] for day in range(7)},
        )
        meeting_type = MeetingType.objects.create(
            organization=organization,
            host=host,
            schedule=schedule,
            name="Call",
            slug="call",
            duration_minutes=30,
            minimum_notice_minutes=0,
            horizon_days=3650,
            reminder_offsets_minutes=[],
        )
    print(meeting_type.pk, flush=True)


def _book(client: int, meeting_type_id: int, stop_file: Path) -> None:
    from django.db import InterfaceError, OperationalError, close_old_connections, connection

    from afspraak.audit.context import AuditContext
    from afspraak.bookings.booking import InviteeDetails, SlotTakenError, book_meeting
    from afspraak.scheduling.models import MeetingType
    from afspraak.tenancy.access import access_for_visitor
    from afspraak.tenancy.context import organization_context
    from afspraak.tenancy.models import Organization

    meeting_type = None
    attempt = 0
    slot = client
    while not stop_file.exists():
        start = FIRST_SLOT + timedelta(minutes=30) * slot
        try:
            if meeting_type is None:
                organization = Organization.objects.get(slug=ORGANIZATION_SLUG)
                with organization_context(organization):
                    meeting_type = MeetingType.objects.get(pk=meeting_type_id)
            booking = book_meeting(
                access_for_visitor(meeting_type.organization, AuditContext()),
                meeting_type,
                start=start,
                details=InviteeDetails(
                    name=f"Invitee {client}-{slot}",
                    email=f"invitee{client}-{slot}@failover.test",
                    timezone="Europe/Amsterdam",
                ),
                now=NOW,
            )
        except (OperationalError, InterfaceError) as error:
            # What a request caught in the switch sees; the web edge answers it with a 503.
            _emit("retryable", slot, error=type(error).__name__)
            connection.close()
            close_old_connections()
            time.sleep(RETRY_PAUSE)
            attempt += 1
            continue
        except SlotTakenError:
            _emit("taken", slot)
        else:
            _emit("confirmed", slot, start=start.isoformat(), booking=booking.public_id)
        slot += CLIENTS_MAX


def _post(client_number: int, stop_file: Path) -> None:
    from django.conf import settings
    from django.db import close_old_connections
    from django.test import Client, override_settings
    from django.urls import reverse

    # Plain static URLs: the pages need no collectstatic manifest (static files are not what
    # this client is about, and collecting them would take longer than the failover).
    override_settings(
        STORAGES=settings.STORAGES
        | {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    ).enable()
    client = Client(raise_request_exception=False)
    url = reverse("bookings:book", kwargs={"org_slug": ORGANIZATION_SLUG, "type_slug": "call"})
    slot = client_number
    while not stop_file.exists():
        start = FIRST_SLOT + timedelta(minutes=30) * slot
        # What a WSGI server's request signals do and Django's test client turns off: drop
        # a connection that failed or is too old, so the request connects afresh.
        close_old_connections()
        response = client.post(
            url,
            {
                "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "name": f"Invitee {client_number}-{slot}",
                "email": f"invitee{client_number}-{slot}@failover.test",
                "timezone": "Europe/Amsterdam",
            },
            secure=True,
        )
        if response.status_code == 503 and response.has_header("Retry-After"):
            _emit("retryable", slot, status=503)
            time.sleep(RETRY_PAUSE)
            continue
        if response.status_code == 302:
            _emit("confirmed", slot, start=start.isoformat())
        elif response.status_code == 409:
            _emit("taken", slot)
        else:
            _emit("error", slot, status=response.status_code, body=response.content[:2000].decode())
        slot += CLIENTS_MAX


def _emit(outcome: str, slot: int, **details: object) -> None:
    line = {"outcome": outcome, "slot": slot, "at": time.time()} | details
    print(json.dumps(line), flush=True)


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "afspraak.settings")
    django.setup()
    if sys.argv[1] == "setup":
        _setup()
    elif sys.argv[1] == "post":
        _post(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        _book(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))


if __name__ == "__main__":
    main()

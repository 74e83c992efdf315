"""What a booking's re-check of its slot needs from the database, read in one statement.

``book_meeting`` and ``reschedule_booking`` re-check the slot inside their transaction:
the host must still be a member, no held booking of the host may overlap the slot, and
the slot must still lie in the host's hours (weekly, or a date override). Built through
the ORM, the three queries were two fifths of a booking's Python time; this reads them
in one round trip of plain SQL (a ``UNION ALL`` that PostgreSQL and SQLite both run).

A cursor is outside the tenant scope (django-scopes), so every branch names the
organization itself; on PostgreSQL row-level security applies to it all the same.
"""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db import connection
from django.utils.dateparse import parse_datetime

from afspraak.bookings.models import HOLDING_STATUSES, Booking
from afspraak.scheduling.availability import TimeRange
from afspraak.scheduling.models import DateOverride, MeetingType, parse_ranges
from afspraak.scheduling.slots import Booking as EngineBooking
from afspraak.tenancy.models import Membership

_BOOKING, _OVERRIDE, _MEMBERSHIP = 0, 1, 2


@dataclass(frozen=True)
class SlotSurroundings:
    """The host's membership, held bookings and date overrides around one slot."""

    host_is_member: bool
    bookings: list[EngineBooking]
    overrides: dict[date, tuple[TimeRange, ...]]


def _sql(excluding: bool) -> str:
    quote = connection.ops.quote_name
    booking, override = quote(Booking._meta.db_table), quote(DateOverride._meta.db_table)
    membership = quote(Membership._meta.db_table)
    start, end = quote("start"), quote("end")
    statuses = ", ".join(["%s"] * len(HOLDING_STATUSES))
    # The first branch gives the columns their types (the bookings' times).
    return f"""
        SELECT {_BOOKING}, b.{start}, b.{end}, b.blocked_start, b.blocked_end,
               b.meeting_type_id, NULL, NULL
          FROM {booking} b
         WHERE b.organization_id = %s AND b.host_id = %s AND b.status IN ({statuses})
           AND b.blocked_end > %s AND b.blocked_start < %s
           {"AND b.id <> %s" if excluding else ""}
        UNION ALL
        SELECT {_OVERRIDE}, NULL, NULL, NULL, NULL, NULL,
               CAST(o.date AS TEXT), CAST(o.ranges AS TEXT)
          FROM {override} o
         WHERE o.organization_id = %s AND o.schedule_id = %s AND o.date BETWEEN %s AND %s
        UNION ALL
        SELECT {_MEMBERSHIP}, NULL, NULL, NULL, NULL, NULL, NULL, NULL
          FROM {membership} m
         WHERE m.organization_id = %s AND m.user_id = %s
    """  # noqa: S608 - only the models' table names are formatted in; values are bound


def _aware(value: Any) -> datetime:
    # PostgreSQL hands back aware datetimes; SQLite naive UTC ones, or text where it
    # cannot tell a compound query's column type.
    moment = parse_datetime(value) if isinstance(value, str) else value
    if moment is None:
        raise ValueError(f"not a stored time: {value!r}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def read_slot_surroundings(
    meeting_type: MeetingType,
    *,
    held: tuple[datetime, datetime],
    days: tuple[date, date],
    exclude: Booking | None = None,
) -> SlotSurroundings:
    """Read the host's membership, held bookings meeting ``held`` and overrides of ``days``."""
    ops = connection.ops
    params: list[Any] = [meeting_type.organization_id, meeting_type.host_id, *HOLDING_STATUSES]
    params += [ops.adapt_datetimefield_value(held[0]), ops.adapt_datetimefield_value(held[1])]
    if exclude is not None:
        params.append(exclude.pk)
    params += [meeting_type.organization_id, meeting_type.schedule_id]
    params += [ops.adapt_datefield_value(days[0]), ops.adapt_datefield_value(days[1])]
    params += [meeting_type.organization_id, meeting_type.host_id]
    with connection.cursor() as cursor:
        cursor.execute(_sql(exclude is not None), params)
        rows = cursor.fetchall()
    bookings: list[EngineBooking] = []
    overrides: dict[date, tuple[TimeRange, ...]] = {}
    member = False
    for kind, start, end, blocked_start, blocked_end, type_id, day, ranges in rows:
        if kind == _BOOKING:
            start, end = _aware(start), _aware(end)
            bookings.append(
                EngineBooking(
                    start=start,
                    end=end,
                    buffer_before=start - _aware(blocked_start),
                    buffer_after=_aware(blocked_end) - end,
                    counts_toward_limits=type_id == meeting_type.pk,
                )
            )
        elif kind == _OVERRIDE:
            overrides[date.fromisoformat(day)] = parse_ranges(json.loads(ranges))
        else:
            member = True
    return SlotSurroundings(member, bookings, overrides)

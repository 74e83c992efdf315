"""The free slots of a meeting type, computed once per host version and local day.

Computing a month of slots (the schedule, its overrides, the host's bookings, the
engine) was most of the booking page's cost, and every visitor asks the same question.
The answer is kept in Django's cache (shared by every worker) under a key naming the
meeting type, its host, the host's ``SlotsVersion`` and the day:

- The version is raised in the same transaction as every save or delete of one of the
  host's schedules, date overrides, meeting types or bookings (signal receivers here
  and in ``afspraak.bookings``), and read *before* the data it keys: a computation
  that could have missed a change is stored under the version before it, which no
  reader asks for once the change is committed.
- The slots are computed for the start of the day (in the schedule's zone) rather than
  for the current instant, which offers every slot of the day, and the notice is applied
  to the cached list on each request: the grid does not depend on ``now``, and the
  horizon only on the date, which is in the key.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import signals

from afspraak.scheduling.availability import start_of_local_day
from afspraak.scheduling.models import DateOverride, MeetingType, Schedule, SlotsVersion

# Keys name the day, so entries are of no use after it; a day and a bit frees the space.
CACHE_SECONDS = 26 * 3600


# The hosts whose versions the running ``versions_raised_last`` block will raise.
_deferred_hosts: ContextVar[set[int] | None] = ContextVar("deferred_slot_hosts", default=None)


def bump_slots_version(host_id: int) -> None:
    """Raise the host's slot version, so their cached free slots are computed afresh."""
    deferred = _deferred_hosts.get()
    if deferred is not None:
        deferred.add(host_id)
        return
    _raise_version(host_id)


@contextmanager
def versions_raised_last() -> Iterator[None]:
    """Raise the versions the block asks for when it ends, still inside its transaction.

    The raise locks the host's version row until the transaction ends, so every other
    change of the host waits for it: raised last, just before the commit, it is held for
    one statement instead of the whole change (on PostgreSQL, 20 concurrent bookings of
    one host spent most of their time waiting for it). The block must run inside the
    transaction that commits the change, and must not read the slot cache after changing
    what it keys (it would still find the version before the change). Nested: the
    outermost block raises them.
    """
    if _deferred_hosts.get() is not None:
        yield
        return
    hosts: set[int] = set()
    token = _deferred_hosts.set(hosts)
    try:
        yield
    finally:
        _deferred_hosts.reset(token)
    for host in sorted(hosts):  # one order, so concurrent writers lock rows alike
        _raise_version(host)


def _raise_version(host_id: int) -> None:
    # One statement, on every booking: PostgreSQL and SQLite (3.24+) both upsert, and
    # the ORM's upsert can only set the new row's value, not add one to the old.
    table = connection.ops.quote_name(SlotsVersion._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (host_id, number) VALUES (%s, 1) "  # noqa: S608 - the model's table
            f"ON CONFLICT (host_id) DO UPDATE SET number = {table}.number + 1",
            [host_id],
        )


def slots_version(host_id: int) -> int:
    """Return the host's current slot version (0 before their first change)."""
    number = SlotsVersion.objects.filter(host_id=host_id).values_list("number", flat=True).first()
    return number or 0


def cached_free_slots(
    *,
    meeting_type_id: int,
    host_id: int,
    zone_key: str,
    minimum_notice: timedelta,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    compute: Callable[[datetime], list[datetime]],
) -> list[datetime]:
    """Return the free slots of the window, from the cache or from ``compute(day_start)``.

    ``compute(reference)`` must return the slots as they are at the instant ``reference``;
    ``zone_key`` is the schedule's zone, whose date decides the horizon.
    """
    # The version first: see the module's docstring.
    version = slots_version(host_id)
    zone = ZoneInfo(zone_key)
    today = now.astimezone(zone).date()
    key = (
        f"slots:{meeting_type_id}:{host_id}:{version}:{today.isoformat()}:{zone_key}:"
        f"{window_start.timestamp():.0f}:{window_end.timestamp():.0f}"
    )
    slots: list[datetime] | None = cache.get(key)
    if slots is None:
        slots = compute(start_of_local_day(today, zone))
        cache.set(key, slots, CACHE_SECONDS)
    earliest = now + minimum_notice
    return [slot for slot in slots if slot >= earliest]


def bump_schedule_hosts(schedule_id: int | None, host_id: int) -> None:
    """Raise the version of a schedule's host and of every host whose meeting types use it."""
    hosts = {host_id}
    if schedule_id is not None:
        # The base manager: a schedule may be saved outside a tenant scope (a migration,
        # the admin), and the versions are not tenant data.
        hosts |= set(
            MeetingType._base_manager.filter(schedule_id=schedule_id).values_list(
                "host_id", flat=True
            )
        )
    for host in sorted(hosts):  # one order, so concurrent writers lock rows alike
        bump_slots_version(host)


def _schedule_changed(sender: Any, instance: Schedule, **kwargs: Any) -> None:
    bump_schedule_hosts(instance.pk, instance.host_id)


def _override_changed(sender: Any, instance: DateOverride, **kwargs: Any) -> None:
    schedule = Schedule._base_manager.filter(pk=instance.schedule_id).values("host_id").first()
    if schedule is not None:  # gone already: its own deletion raised the versions
        bump_schedule_hosts(instance.schedule_id, schedule["host_id"])


def _meeting_type_changed(sender: Any, instance: MeetingType, **kwargs: Any) -> None:
    bump_slots_version(instance.host_id)


def _host_changed(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    # The host's name is on the booking page; a login (last_login only) changes nothing shown.
    if update_fields is None or {"full_name", "is_active"} & set(update_fields):
        bump_slots_version(instance.pk)


def connect_receivers() -> None:
    """Raise the versions when a schedule, override, meeting type or host is saved or deleted."""
    signals.post_save.connect(
        _host_changed, sender=settings.AUTH_USER_MODEL, dispatch_uid="slots-host"
    )
    for model, receiver in (
        (Schedule, _schedule_changed),
        (DateOverride, _override_changed),
        (MeetingType, _meeting_type_changed),
    ):
        signals.post_save.connect(receiver, sender=model, dispatch_uid=f"slots-{model.__name__}")
        signals.post_delete.connect(receiver, sender=model, dispatch_uid=f"slots-{model.__name__}")

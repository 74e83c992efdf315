"""The booking flow: free slots, booking, rescheduling, cancelling, approving and declining.

Every function here takes the ``Access`` it acts with first and checks through it:
visitors book (``Permission.BOOK_MEETING``), the invitee's link changes its own booking
(``Access.require_booking``), hosts act on theirs and owners and admins on everyone's
(``Permission.HOST``, ``Permission.VIEW_ALL_BOOKINGS``). Each runs in the organization's
tenant context (``access.scope()``) and changes a booking in one transaction.

Double bookings are impossible by two guards: the slot is re-checked with the slot
engine inside the transaction, and the database refuses overlapping held times of one
host (an exclusion constraint on PostgreSQL; on SQLite every transaction takes the write
lock at ``BEGIN IMMEDIATE``, so the check and the insert cannot interleave with another
writer's).

Each change writes one audit event ``bookings.booking.<change>`` holding ids only, arms
or drops the booking's reminders, and leaves its e-mails in the outbox
(``notifications.enqueue_booking_emails``), all in the change's own transaction: a change
that rolls back sends nothing, one that commits is e-mailed once it has.
"""

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import signals
from django.utils import timezone

from afspraak.audit.trail import record
from afspraak.bookings import notifications
from afspraak.bookings.host_access import BOOKING_NOT_FOUND, require_booking_host_rights
from afspraak.bookings.models import (
    HOLDING_STATUSES,
    Booking,
    CancelledBy,
    Invitee,
    Status,
    find_invitee_by_email,
)
from afspraak.bookings.slot_check import read_slot_surroundings
from afspraak.errors import ConflictError, DomainError, NotFoundError
from afspraak.inputs.names import validate_name_text
from afspraak.scheduling.access import MEETING_TYPE_NOT_FOUND
from afspraak.scheduling.models import Location, MeetingType, QuestionKind, zone_or_none
from afspraak.scheduling.slot_cache import (
    bump_slots_version,
    cached_free_slots,
    versions_raised_last,
)
from afspraak.scheduling.slots import Booking as EngineBooking
from afspraak.scheduling.slots import compute_free_slots, is_slot_offered
from afspraak.tenancy.access import Access, ActorKind
from afspraak.tenancy.models import Membership
from afspraak.tenancy.roles import Permission

EXCLUSION_CONSTRAINT = "bookings_no_double_booking"
DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE
INSERT_ATTEMPTS = 3
SLOT_TAKEN = "That time was just taken. Please choose another one."
SLOT_NOT_OFFERED = "That time is not offered. Please choose one of the times shown."
MAX_ANSWER_LENGTH = {QuestionKind.SHORT_TEXT: 200, QuestionKind.LONG_TEXT: 5000}
MAX_PHONE_LENGTH = 40
# Bookings this far around a window are loaded too: a booking's buffers (at most a day
# each) and the per-day and per-week limits reach beyond the window itself.
_BUFFER_CONTEXT = timedelta(days=2)
_WEEK_CONTEXT = timedelta(days=9)
_DAY = timedelta(days=1)


class BookingError(DomainError):
    """A booking change that cannot be made, with a message fit for the person asking."""


class SlotTakenError(BookingError):
    """Someone else got the time first."""

    status = ConflictError.status

    def __init__(self) -> None:
        super().__init__(SLOT_TAKEN)


class SlotNotOfferedError(BookingError):
    """The time is not one the meeting type offers (past, too soon, outside the hours)."""

    def __init__(self) -> None:
        super().__init__(SLOT_NOT_OFFERED)


class ChangeRefusedError(BookingError):
    """The booking is in no state for this change (cancelled, past, after the cut-off)."""

    status = ConflictError.status


@dataclass(frozen=True)
class InviteeDetails:
    """What an invitee tells us when booking."""

    name: str
    email: str
    timezone: str
    phone: str = ""
    answers: dict[str, Any] = field(default_factory=dict)


def _phone_error(value: str) -> str | None:
    digits = sum(ch.isdigit() for ch in value)
    if len(value) > MAX_PHONE_LENGTH or digits < 6 or not set(value) <= set("0123456789+-() ."):
        return "Enter a phone number: digits, spaces, + - ( ) only."
    return None


def clean_answers(meeting_type: MeetingType, raw: dict[str, Any]) -> dict[str, Any]:
    """Return the answers to the meeting type's questions, or raise a ValidationError per field."""
    errors: dict[str, str] = {}
    answers: dict[str, Any] = {}
    for question in meeting_type.questions:
        key, kind, required = question["key"], question["kind"], question.get("required", False)
        value = raw.get(key)
        if kind == QuestionKind.CHECKBOX:
            answers[key] = bool(value)
            if required and not value:
                errors[key] = "Please tick this box to continue."
            continue
        if kind == QuestionKind.MULTIPLE_CHOICE:
            chosen = [] if value in (None, "") else value
            if not isinstance(chosen, list) or not set(chosen) <= set(question["choices"]):
                errors[key] = "Choose from the options given."
            elif required and not chosen:
                errors[key] = "Choose at least one option."
            else:
                answers[key] = [c for c in question["choices"] if c in chosen]
            continue
        text = value.strip() if isinstance(value, str) else ""
        if value is not None and not isinstance(value, str):
            errors[key] = "This answer must be text."
        elif not text:
            if required:
                errors[key] = "This question needs an answer."
        elif kind == QuestionKind.SINGLE_CHOICE and text not in question["choices"]:
            errors[key] = "Choose one of the options given."
        elif kind == QuestionKind.PHONE and (problem := _phone_error(text)):
            errors[key] = problem
        elif len(text) > MAX_ANSWER_LENGTH.get(kind, 200):
            errors[key] = f"Keep this answer under {MAX_ANSWER_LENGTH.get(kind, 200)} characters."
        if text and key not in errors:
            answers[key] = text
    if errors:
        raise ValidationError(errors)
    return answers


def clean_details(meeting_type: MeetingType, details: InviteeDetails) -> InviteeDetails:
    """Return the details trimmed and checked, or raise a ValidationError per field."""
    errors: dict[str, Any] = {}
    name, email, phone = details.name.strip(), details.email.strip(), details.phone.strip()
    if not name or len(name) > 200:
        errors["name"] = "Enter your name (at most 200 characters)."
    else:
        # The same rule as the form's, for every caller: the name reaches e-mail subjects,
        # calendar files and the host's pages.
        try:
            validate_name_text(name)
        except ValidationError as error:
            errors["name"] = error.messages
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = "Enter a valid e-mail address."
    if phone and (problem := _phone_error(phone)):
        errors["phone"] = problem
    if zone_or_none(details.timezone) is None:
        errors["timezone"] = "Choose a time zone from the list."
    try:
        answers = clean_answers(meeting_type, details.answers)
    except ValidationError as error:
        errors.update(error.message_dict)
        answers = {}
    if errors:
        raise ValidationError(errors)
    return InviteeDetails(name, email, details.timezone, phone, answers)


def _held_bookings(
    meeting_type: MeetingType, start: datetime, end: datetime, *, exclude: Booking | None = None
) -> list[EngineBooking]:
    """Return the host's pending and confirmed bookings around ``[start, end)`` for the engine."""
    # Buffers reach at most a day beyond a booking; limits count whole local days and
    # ISO weeks, so a limited type needs the weeks around the window too.
    limited = meeting_type.limit_per_day or meeting_type.limit_per_week
    margin = _WEEK_CONTEXT if limited else _BUFFER_CONTEXT
    rows = Booking.objects.filter(
        host_id=meeting_type.host_id,
        status__in=HOLDING_STATUSES,
        blocked_end__gt=start - margin,
        blocked_start__lt=end + margin,
    )
    if exclude is not None:
        rows = rows.exclude(pk=exclude.pk)
    # Plain tuples, not model instances: a busy host's month has hundreds of bookings.
    return [
        EngineBooking(
            start=row_start,
            end=row_end,
            buffer_before=row_start - blocked_start,
            buffer_after=blocked_end - row_end,
            counts_toward_limits=type_id == meeting_type.pk,
        )
        for row_start, row_end, blocked_start, blocked_end, type_id in rows.values_list(
            "start", "end", "blocked_start", "blocked_end", "meeting_type_id"
        )
    ]


def takes_bookings(meeting_type: MeetingType) -> bool:
    """Tell whether invitees may book the type: not disabled, its host still a member."""
    return (
        meeting_type.is_bookable
        and meeting_type.host.is_active
        and Membership.objects.filter(
            organization_id=meeting_type.organization_id, user_id=meeting_type.host_id
        ).exists()
    )


def _require_same_organization_type(access: Access, meeting_type: MeetingType) -> None:
    if meeting_type.organization_id != access.organization.pk:
        raise NotFoundError(MEETING_TYPE_NOT_FOUND)


def _require_same_organization_booking(access: Access, booking: Booking) -> None:
    if booking.organization_id != access.organization.pk:
        raise NotFoundError(BOOKING_NOT_FOUND)


def free_slots(
    access: Access,
    meeting_type: MeetingType,
    *,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    moving: Booking | None = None,
) -> list[datetime]:
    """Return the free slot starts (UTC) of a bookable meeting type within the window.

    ``moving``: a booking being rescheduled, whose own time counts as free.
    """
    access.require(Permission.BOOK_MEETING)
    _require_same_organization_type(access, meeting_type)
    with access.scope():
        if not takes_bookings(meeting_type):
            return []

        def compute(reference: datetime) -> list[datetime]:
            return compute_free_slots(
                meeting_type.schedule.engine_schedule(),
                meeting_type.slot_rules(),
                window_start=window_start,
                window_end=window_end,
                now=reference,
                bookings=_held_bookings(meeting_type, window_start, window_end, exclude=moving),
            )

        if moving is not None:  # one invitee's view, with their own booking left out
            return compute(now)
        return cached_free_slots(
            meeting_type_id=meeting_type.pk,
            host_id=meeting_type.host_id,
            zone_key=meeting_type.schedule.time_zone,
            minimum_notice=meeting_type.slot_rules().minimum_notice,
            window_start=window_start,
            window_end=window_end,
            now=now,
            compute=compute,
        )


def _check_offered(
    meeting_type: MeetingType, start: datetime, now: datetime, *, exclude: Booking | None = None
) -> None:
    if start.tzinfo is None or not meeting_type.is_bookable or not meeting_type.host.is_active:
        raise SlotNotOfferedError
    rules = meeting_type.slot_rules()
    if rules.limit_per_day or rules.limit_per_week:
        # Limits count bookings of different slots, which no constraint guards: on
        # PostgreSQL bookings of a limited type queue on its row (SQLite's write lock
        # already serialises them). They count whole local days and ISO weeks.
        MeetingType.objects.select_for_update().filter(pk=meeting_type.pk).first()
        held = (start - _WEEK_CONTEXT, start + meeting_type.duration + _WEEK_CONTEXT)
    else:
        # Without limits only a booking whose held time overlaps this slot's, buffers
        # included on both sides, can take it (the engine's test, and the exclusion
        # constraint's): the host's other bookings around it need not be loaded.
        blocked = rules.blocked_for(start)
        held = (blocked.start, blocked.end)
    day = start.astimezone(meeting_type.schedule.zone).date()
    # The engine looks at the slot's local date and the next (clocks turned back across
    # midnight); a day either side more costs nothing.
    surroundings = read_slot_surroundings(
        meeting_type, held=held, days=(day - _DAY, day + 2 * _DAY), exclude=exclude
    )
    if not surroundings.host_is_member:  # the rest of takes_bookings
        raise SlotNotOfferedError
    bookings = surroundings.bookings
    engine_schedule = meeting_type.schedule.engine_schedule(surroundings.overrides)
    if is_slot_offered(engine_schedule, rules, start, now=now, bookings=bookings):
        return
    # Offered with the host's other bookings left out: someone took it, else it never was.
    if is_slot_offered(engine_schedule, rules, start, now=now):
        raise SlotTakenError
    raise SlotNotOfferedError


def _is_deadlock(error: OperationalError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == DEADLOCK_DETECTED


def _insert(booking: Booking) -> None:
    """Save the booking, or raise SlotTakenError when the database refuses its time.

    On PostgreSQL two transactions writing overlapping times at the same moment can
    each wait to check the other's row: the server breaks that deadlock by failing one
    statement, which is rolled back to its savepoint and tried again, now waiting for
    the other transaction to end (and then refused if that one committed).
    """
    for attempt in range(1, INSERT_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                booking.save()
        except IntegrityError as error:
            if EXCLUSION_CONSTRAINT in str(error):
                raise SlotTakenError from error
            raise
        except OperationalError as error:
            if not _is_deadlock(error):
                raise
            if attempt == INSERT_ATTEMPTS:
                # Nothing was written; the invitee is offered the times still free.
                raise SlotTakenError from error
        else:
            return


def _invitee_for(meeting_type: MeetingType, details: InviteeDetails) -> Invitee:
    organization = meeting_type.organization
    found = find_invitee_by_email(organization, details.email)
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Invitee.objects.create(
                organization=organization, name=details.name, email=details.email
            )
    except IntegrityError:
        # Another booking by the same new address committed first: use that invitee.
        again = find_invitee_by_email(organization, details.email)
        if again is None:
            raise
        return again


def _location(meeting_type: MeetingType) -> str:
    if meeting_type.location_kind == Location.VIDEO:
        return settings.AFSPRAAK_VIDEO_ROOM_URL + secrets.token_urlsafe(16)
    return meeting_type.location_detail


def _blocked(meeting_type: MeetingType, start: datetime) -> tuple[datetime, datetime]:
    blocked = meeting_type.slot_rules().blocked_for(start)
    return blocked.start, blocked.end


def _announce(
    access: Access,
    booking: Booking,
    change: str,
    *,
    data: dict[str, Any] | None = None,
    previous_start: datetime | None = None,
) -> None:
    """Record the change, (re)arm or drop its reminders and leave its e-mails in the outbox."""
    record(
        f"bookings.booking.{change}",
        context=access.context,
        organization=access.organization,
        target=booking,
        data={"meeting_type": booking.meeting_type.public_id, "status": booking.status}
        | (data or {}),
    )
    if booking.holds_time:
        # A new booking of a type that asks for no reminders has none to arm or drop.
        if change != "created" or booking.meeting_type.reminder_offsets_minutes:
            # The change's own time, which its function was given.
            notifications.arrange_reminders(booking, now=booking.updated_at)
    else:
        notifications.drop_unsent_reminders(booking)
    notifications.enqueue_booking_emails(booking, change, previous_start=previous_start)


def book_meeting(
    access: Access,
    meeting_type: MeetingType,
    *,
    start: datetime,
    details: InviteeDetails,
    now: datetime | None = None,
) -> Booking:
    """Book the slot at ``start`` for the invitee, or raise SlotTakenError / SlotNotOfferedError.

    Raises ValidationError (per field) for bad details; nothing is written then.
    """
    access.require(Permission.BOOK_MEETING)
    _require_same_organization_type(access, meeting_type)
    now = now or timezone.now()
    details = clean_details(meeting_type, details)
    with access.scope(), versions_raised_last():
        _check_offered(meeting_type, start, now)
        blocked_start, blocked_end = _blocked(meeting_type, start)
        booking = Booking(
            organization=meeting_type.organization,
            meeting_type=meeting_type,
            host_id=meeting_type.host_id,
            invitee=_invitee_for(meeting_type, details),
            status=Status.PENDING if meeting_type.requires_approval else Status.CONFIRMED,
            start=start,
            end=start + meeting_type.duration,
            blocked_start=blocked_start,
            blocked_end=blocked_end,
            invitee_timezone=details.timezone,
            invitee_name=details.name,
            invitee_phone=details.phone,
            answers=details.answers,
            location=_location(meeting_type),
            created_at=now,
            updated_at=now,
        )
        _insert(booking)
        _announce(access, booking, "created")
    return booking


def _locked(booking: Booking) -> Booking:
    return Booking.objects.select_for_update().select_related("meeting_type").get(pk=booking.pk)


def invitee_change_refusal(booking: Booking, now: datetime) -> str | None:
    """Return why the invitee can no longer cancel or move the booking, or None if they can."""
    if booking.status == Status.DECLINED:
        return "The host declined this meeting."
    if not booking.holds_time:
        return "This meeting has been cancelled."
    if booking.start <= now:
        return "This meeting has already started or taken place."
    if not booking.invitee_may_change(now):
        return "It is too late to change this meeting online; please contact the host."
    return None


def _refuse_unless_invitee_may_change(booking: Booking, now: datetime) -> None:
    refusal = invitee_change_refusal(booking, now)
    if refusal is not None:
        raise ChangeRefusedError(refusal)


def reschedule_booking(
    access: Access, booking: Booking, *, start: datetime, now: datetime | None = None
) -> Booking:
    """Move the invitee's booking to another free slot (same UID, next SEQUENCE)."""
    _require_same_organization_booking(access, booking)
    access.require_booking(booking.public_id)
    now = now or timezone.now()
    with access.scope():
        current = _locked(booking)
        _refuse_unless_invitee_may_change(current, now)
        _check_offered(current.meeting_type, start, now, exclude=current)
        previous_start = current.start
        current.start, current.end = start, start + current.meeting_type.duration
        current.blocked_start, current.blocked_end = _blocked(current.meeting_type, start)
        current.sequence += 1
        current.updated_at = now
        _insert(current)
        _announce(
            access,
            current,
            "rescheduled",
            data={"by": CancelledBy.INVITEE},
            previous_start=previous_start,
        )
    return current


def _canceller(access: Access, booking: Booking) -> CancelledBy:
    """Return who cancels through ``access`` (its invitee, else a host), or refuse."""
    if access.kind == ActorKind.INVITEE:
        access.require_booking(booking.public_id)
        return CancelledBy.INVITEE
    require_booking_host_rights(access, booking)
    return CancelledBy.HOST


def cancel_booking(
    access: Access, booking: Booking, *, reason: str = "", now: datetime | None = None
) -> Booking:
    """Cancel a pending or confirmed booking, freeing its time; invitees only before the cut-off."""
    _require_same_organization_booking(access, booking)
    by = _canceller(access, booking)
    now = now or timezone.now()
    reason = reason.strip()
    if len(reason) > 1000:
        raise ValidationError({"reason": "Keep the message under 1,000 characters."})
    with access.scope():
        current = _locked(booking)
        if by == CancelledBy.INVITEE:
            _refuse_unless_invitee_may_change(current, now)
        elif not current.holds_time:
            raise ChangeRefusedError("This meeting has already been cancelled.")
        elif current.has_passed(now):
            raise ChangeRefusedError("This meeting has already taken place.")
        current.status, current.cancelled_by, current.cancel_reason = Status.CANCELLED, by, reason
        current.sequence += 1
        current.updated_at = now
        current.save()
        _announce(access, current, "cancelled", data={"by": by})
    return current


def _decide(
    access: Access, booking: Booking, status: Status, *, reason: str, now: datetime | None
) -> Booking:
    _require_same_organization_booking(access, booking)
    require_booking_host_rights(access, booking)
    now = now or timezone.now()
    with access.scope():
        current = _locked(booking)
        if current.status != Status.PENDING:
            raise ChangeRefusedError("This booking is not waiting for approval.")
        if status == Status.CONFIRMED and current.start <= now:
            raise ChangeRefusedError("This meeting's time has passed; decline it instead.")
        current.status = status
        current.cancel_reason = reason.strip()[:1000]
        current.sequence += 1
        current.updated_at = now
        current.save()
        change = "approved" if status == Status.CONFIRMED else "declined"
        _announce(access, current, change)
    return current


def approve_booking(access: Access, booking: Booking, *, now: datetime | None = None) -> Booking:
    """Confirm a pending booking (it already holds its time)."""
    return _decide(access, booking, Status.CONFIRMED, reason="", now=now)


def decline_booking(
    access: Access, booking: Booking, *, reason: str = "", now: datetime | None = None
) -> Booking:
    """Decline a pending booking, freeing its time."""
    return _decide(access, booking, Status.DECLINED, reason=reason, now=now)


def _booking_changed(sender: Any, instance: Booking, **kwargs: Any) -> None:
    bump_slots_version(instance.host_id)


def connect_slot_receivers() -> None:
    """Raise the host's slot version whenever one of their bookings is saved or deleted."""
    signals.post_save.connect(_booking_changed, sender=Booking, dispatch_uid="slots-Booking")
    signals.post_delete.connect(_booking_changed, sender=Booking, dispatch_uid="slots-Booking")

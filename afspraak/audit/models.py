"""The audit trail: an append-only table of security-relevant events (controls O5, N2)."""

from typing import Any, ClassVar, NoReturn, TypeVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove an audit event."""


_Row = TypeVar("_Row", bound=models.Model)


class AppendOnlyQuerySet(models.QuerySet[_Row]):
    """Refuse bulk updates and deletes: audit rows are written once and kept."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit rows cannot be updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit rows cannot be deleted")


class Outcome(models.TextChoices):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


class AuditEvent(models.Model):
    """One thing that happened: who did what to which object, and how it ended.

    The actor and the organization are kept as references without a database
    constraint, so removing a user or an organization never rewrites history.
    ``data`` holds ids and codes only, never secrets or personal data.
    """

    # Both indexed in Meta, together: every query of a time or a window names actions (the
    # latest backup, the rules' windows) or an organization or an actor, and every index
    # is a cost on each append. No pattern index for the action: every prefix filter
    # starts from an organization's index.
    occurred_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=100)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        # Led by the (actor, occurred_at) index below: a second one only slows appends.
        db_index=False,
        related_name="+",
    )
    actor_public_id = models.CharField(max_length=32, blank=True)
    organization = models.ForeignKey(
        "tenancy.Organization",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        # Led by the (organization, occurred_at) index below.
        db_index=False,
        related_name="+",
    )
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # An anonymous visitor's or invitee's address and browser, as a keyed hash under their
    # organization's key (``afspraak.audit.pseudonyms``): events of one source can be told
    # together, the person cannot be read back, and the organization's deletion (its keys
    # destroyed) leaves the hash unlinkable.
    source_pseudonym = models.CharField(max_length=64, blank=True)
    # Ties together the events of one request or job (the response's X-Request-ID).
    request_id = models.CharField(max_length=32, blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet["AuditEvent"].as_manager()

    class Meta:
        ordering: ClassVar[list[str]] = ["-occurred_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "-occurred_at"]),
            models.Index(fields=["actor", "-occurred_at"]),
            models.Index(fields=["action", "-occurred_at"], name="audit_event_action_time"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit events cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events cannot be deleted")


class OutboxMessage(models.Model):
    """Something that must leave the system once the transaction that wrote it commits.

    Written in the same transaction as the change it reports (an audit event, a booking
    e-mail …), so a rolled-back change sends nothing and a committed one is never
    forgotten. ``payload`` holds ids and codes only; the handler of ``topic`` loads what
    it needs. See ``afspraak.audit.outbox``.
    """

    topic = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    # When the next delivery attempt may start: now, or later after a failure.
    available_at = models.DateTimeField(default=timezone.now)
    # Set by the dispatcher that claimed the message; a claim older than the lease is taken over.
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Set when the message ran out of attempts; an operator looks at it (docs/runbooks/outbox.md).
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["available_at"],
                name="outbox_pending",
                condition=models.Q(delivered_at__isnull=True, failed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"


class AuditChainLink(models.Model):
    """An audit event's place in the tamper-evident chain (``afspraak.audit.chain``).

    ``mac`` is an HMAC-SHA256, under a key sealed by the master key, over the event's
    canonical JSON, its sequence number and the previous link's ``mac``. Links are
    assigned after commit by one sequencer, in the order events are delivered, and are
    append-only like the events.
    """

    event = models.OneToOneField(
        AuditEvent, on_delete=models.DO_NOTHING, db_constraint=False, related_name="link"
    )
    sequence = models.BigIntegerField(unique=True)
    previous_mac = models.CharField(max_length=64)
    mac = models.CharField(max_length=64)
    linked_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet["AuditChainLink"].as_manager()

    def __str__(self) -> str:
        return f"link {self.sequence} (event {self.event_id})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit chain links cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit chain links cannot be deleted")


class AuditChainHead(models.Model):
    """The newest link of the chain (one row): where the sequencer appends the next one."""

    sequence = models.BigIntegerField(default=0)
    mac = models.CharField(max_length=64, default="")
    # When the head was last written to the log stream, and at which sequence.
    exported_sequence = models.BigIntegerField(default=0)
    exported_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"chain head {self.sequence}"


class DeletionRecord(models.Model):
    """One deletion of data (control D2): what kind, which public ids, when and by whom.

    Written by the deleting domain function in its own transaction
    (``afspraak.audit.deletions.note_deletion``); it holds public ids only, never the
    personal data that was deleted, and no database reference, so it outlives what it
    names. ``certified_at`` is set once no backup that could still hold the data is
    left in any backup location (``afspraak.backups.certification``).
    """

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    kind = models.CharField(max_length=40)
    organization_public_id = models.CharField(max_length=32)
    subject_ids = models.JSONField(default=list)
    deleted_at = models.DateTimeField(default=timezone.now)
    actor_public_id = models.CharField(max_length=32, blank=True)
    certified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["deleted_at"],
                name="audit_deletion_uncertified",
                condition=models.Q(certified_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id}"


class Severity(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AlertStatus(models.TextChoices):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class Alert(models.Model):
    """A detection rule fired (``afspraak.audit.detection``): what, about whom, on which events.

    Later firings of the same rule about the same subject join the alert while it is not
    closed and was last seen within the grouping window (``afspraak.audit.alerts``).
    The organization is named by its public id, not a foreign key: alerts are the
    operator's records, outside any tenant's rows, like the audit trail.
    """

    public_id = models.CharField(max_length=32, unique=True)
    rule_id = models.CharField(max_length=60)
    title = models.CharField(max_length=120)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    # What the rule counted on ("account:usr_…", "source:192.0.2.1", "organization:org_…").
    subject = models.CharField(max_length=120)
    organization_public_id = models.CharField(max_length=32, blank=True)
    # The audit events that made the rule fire, by database id (bounded: see alerts.py).
    evidence = models.JSONField(default=list)
    # A rule's finding that is not an event (the chain's first break); ids and codes only.
    detail = models.CharField(max_length=300, blank=True)
    firings = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=15, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    raised_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.TextField(blank=True)
    # Set once the alert passed its review deadline unreviewed and was escalated.
    escalated_at = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey(
        "Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["-raised_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["rule_id", "subject", "status"]),
            models.Index(fields=["status", "raised_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.rule_id} {self.status}"


class IncidentStatus(models.TextChoices):
    DETECTED = "detected"
    TRIAGED = "triaged"
    CONTAINED = "contained"
    ERADICATED = "eradicated"
    RECOVERED = "recovered"
    CLOSED = "closed"


class Incident(models.Model):
    """A security incident declared from an alert (docs/security/incident-response.md)."""

    public_id = models.CharField(max_length=32, unique=True)
    title = models.CharField(max_length=120)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    status = models.CharField(
        max_length=15, choices=IncidentStatus.choices, default=IncidentStatus.DETECTED
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    organization_public_id = models.CharField(max_length=32, blank=True)
    declared_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    post_incident_review = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-declared_at", "-id"]

    def __str__(self) -> str:
        return f"{self.public_id} {self.severity} {self.status}"


class IncidentNote(models.Model):
    """One entry of an incident's timeline: a note, and the status change it came with."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    written_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=15, choices=IncidentStatus.choices)
    text = models.TextField()

    class Meta:
        ordering: ClassVar[list[str]] = ["written_at", "id"]

    def __str__(self) -> str:
        return f"note on {self.incident_id} ({self.status})"

"""Staff records (controls P1, P2, O4) and staff support grants (control O1).

These are the operator's records about its own employees, not customer data: they live
outside every organization's tenant context. A support grant names the organization it
opens, and every query for one filters by that organization explicitly.
"""

from datetime import date, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import models
from django.utils import timezone

from afspraak.publicid import new_public_id
from afspraak.tenancy.models import Organization

# Training is valid for twelve months from its completion (control P2).
TRAINING_VALIDITY = timedelta(days=365)


class ConfidentialityAgreement(models.Model):
    """A staff member's signed confidentiality agreement: its version and the document's hash."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="confidentiality_agreements",
    )
    version = models.CharField(max_length=40)
    signed_on = models.DateField()
    document_sha256 = models.CharField(max_length=64)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "version"], name="one_agreement_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.user} signed agreement {self.version}"


class PolicyVersion(models.Model):
    """A published version of the information-security policy; the newest is the current one."""

    version = models.CharField(max_length=40, unique=True)
    document_sha256 = models.CharField(max_length=64)
    published_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"policy {self.version}"

    @classmethod
    def current(cls) -> "PolicyVersion | None":
        """Return the policy version in force (the last published), if any."""
        return cls.objects.order_by("-published_at", "-id").first()


class PolicyAcknowledgement(models.Model):
    """A staff member's acknowledgement of one version of the policy."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="policy_acknowledgements"
    )
    policy = models.ForeignKey(
        PolicyVersion, on_delete=models.PROTECT, related_name="acknowledgements"
    )
    acknowledged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "policy"], name="one_acknowledgement_per_policy"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} acknowledged {self.policy}"


class TrainingKind(models.TextChoices):
    AT_HIRE = "hire", "At hire"
    ANNUAL = "annual", "Annual refresher"


class TrainingCompletion(models.Model):
    """A completed security and privacy training; it counts for twelve months."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_completions"
    )
    kind = models.CharField(max_length=10, choices=TrainingKind.choices)
    completed_on = models.DateField()
    # When each reminder before expiry was queued: claimed once by a conditional UPDATE.
    reminded_30_days_at = models.DateTimeField(null=True, blank=True)
    reminded_7_days_at = models.DateTimeField(null=True, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} trained on {self.completed_on}"

    @property
    def expires_on(self) -> date:
        return self.completed_on + TRAINING_VALIDITY


class DisciplinaryNote(models.Model):
    """A note of a staff member's non-compliance (O4); only security reviewers read them.

    A note outlives nothing by accident: an account with notes cannot be deleted (offboarding
    deactivates it), so no cascade erases the record (docs/security/controls.md, O4).
    """

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "dis")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="disciplinary_notes"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(max_length=4000)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        permissions = [("review_security", "Is a security reviewer (reads disciplinary notes)")]

    def __str__(self) -> str:
        return f"note {self.public_id}"


class Approver(models.TextChoices):
    OWNER = "owner", "An owner of the organization"
    STAFF = "staff", "A second staff member"


class SupportPolicy(models.Model):
    """Who approves staff support access to one organization (owners when there is no row)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="support_policy"
    )
    approver = models.CharField(max_length=10, choices=Approver.choices, default=Approver.OWNER)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.organization}: {self.approver} approves"


class GrantState(models.TextChoices):
    REQUESTED = "requested", "Waiting for approval"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Refused"
    REVOKED = "revoked", "Revoked"


class SupportGrant(models.Model):
    """A staff member's request for, and then time-bound read access to, one organization."""

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "sup")
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="support_grants"
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_grants"
    )
    reason = models.TextField(max_length=1000)
    duration_minutes = models.PositiveSmallIntegerField()
    approver = models.CharField(max_length=10, choices=Approver.choices)
    state = models.CharField(
        max_length=10, choices=GrantState.choices, default=GrantState.REQUESTED
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # Set at approval: the access runs from then for its duration and ends by itself.
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["staff", "organization", "state"])]

    def __str__(self) -> str:
        return self.public_id

    @property
    def hours(self) -> int:
        return self.duration_minutes // 60

    def is_active(self, now: datetime | None = None) -> bool:
        """Tell whether the grant opens its organization now."""
        moment = now or timezone.now()
        return (
            self.state == GrantState.APPROVED
            and self.expires_at is not None
            and self.expires_at > moment
        )


# --- Access reviews (control O1) ----------------------------------------------------------------


class ReviewCampaign(models.Model):
    """One access review: every elevated membership, staff account and active support grant."""

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "arc")
    )
    opened_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    # The completed campaign's report (canonical JSON), its SHA-256 and an HMAC under the
    # installation's secret, so a report edited later no longer matches.
    report = models.TextField(blank=True)
    report_sha256 = models.CharField(max_length=64, blank=True)
    report_hmac = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return self.public_id

    def is_overdue(self, now: datetime | None = None) -> bool:
        """Tell whether the campaign is still open after its due date."""
        return self.completed_at is None and self.due_at < (now or timezone.now())


class ReviewItemKind(models.TextChoices):
    MEMBERSHIP = "membership", "Owner or admin of an organization"
    STAFF = "staff", "Staff account"
    SUPPORT_GRANT = "support_grant", "Active support access"
    API_TOKEN = "api_token", "Active API token"


class ReviewDecision(models.TextChoices):
    PENDING = "pending", "Not reviewed yet"
    CONFIRMED = "confirmed", "Confirmed"
    REVOKED = "revoked", "Revoked"


class ReviewItem(models.Model):
    """One access under review: confirmed or revoked by the organization's owner or, for a
    staff account, by a security reviewer."""

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "ari")
    )
    campaign = models.ForeignKey(ReviewCampaign, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=20, choices=ReviewItemKind.choices)
    # Empty for a staff account: the operator's own people belong to no organization.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The reviewed thing's public id (membership, user or support grant) and what it grants.
    subject_public_id = models.CharField(max_length=32)
    access = models.CharField(max_length=80)
    decision = models.CharField(
        max_length=10, choices=ReviewDecision.choices, default=ReviewDecision.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["campaign", "organization", "decision"])]

    def __str__(self) -> str:
        return self.public_id


# --- Subprocessors (control V1) -----------------------------------------------------------------


class Subprocessor(models.Model):
    """A third party that processes customers' data for the operator, as published."""

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "spr")
    )
    name = models.CharField(max_length=120)
    purpose = models.CharField(max_length=300)
    data_categories = models.CharField(max_length=300)
    location = models.CharField(max_length=120)
    # The signed data processing (confidentiality) agreement: its date and the document's hash.
    agreement_signed_on = models.DateField()
    document_sha256 = models.CharField(max_length=64)
    # Customers hear of a new subprocessor at least 30 days before this date.
    effective_on = models.DateField()
    added_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class SubprocessorSubscription(models.Model):
    """An organization owner's wish to hear of new subprocessors by e-mail."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    subscribed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="one_subprocessor_subscription"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} hears of subprocessors for {self.organization_id}"


# --- Penetration tests (control C1) -------------------------------------------------------------


class PentestEngagement(models.Model):
    """A penetration test: who did it, when, on what, and the hash of its report."""

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "pte")
    )
    firm = models.CharField(max_length=120)
    performed_on = models.DateField()
    scope = models.TextField(max_length=2000)
    report_sha256 = models.CharField(max_length=64)
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.firm} {self.performed_on}"


class FindingSeverity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


# Days to fix a finding, by severity (control C1).
FINDING_DEADLINES = {
    FindingSeverity.CRITICAL: 7,
    FindingSeverity.HIGH: 30,
    FindingSeverity.MEDIUM: 90,
    FindingSeverity.LOW: 180,
}


class PentestFinding(models.Model):
    """One finding of a penetration test, due for a fix by its severity's deadline."""

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "ptf")
    )
    engagement = models.ForeignKey(
        PentestEngagement, on_delete=models.PROTECT, related_name="findings"
    )
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=10, choices=FindingSeverity.choices)
    reported_on = models.DateField()
    due_on = models.DateField()
    resolved_on = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.public_id} ({self.severity})"

    def is_overdue(self, today: date) -> bool:
        """Tell whether the finding is still open after its due date."""
        return self.resolved_on is None and self.due_on < today


# --- Vulnerability disclosure (control C2) ------------------------------------------------------


class DisclosureState(models.TextChoices):
    RECEIVED = "received", "Received"
    TRIAGING = "triaging", "Being triaged"
    ACCEPTED = "accepted", "Accepted: a vulnerability"
    REJECTED = "rejected", "Not a vulnerability"
    FIXED = "fixed", "Fixed"


class DisclosureReport(models.Model):
    """A vulnerability report from the public; everything the reporter wrote is sealed."""

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "vdr")
    )
    received_at = models.DateTimeField(default=timezone.now)
    # AES-256-GCM under the master keyset, bound to the public id: the reporter's address,
    # summary, details and attachment (``afspraak.compliance.disclosure``).
    sealed = models.BinaryField()
    has_attachment = models.BooleanField(default=False)
    state = models.CharField(
        max_length=10, choices=DisclosureState.choices, default=DisclosureState.RECEIVED
    )
    state_changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.public_id

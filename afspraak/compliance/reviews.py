"""Access reviews (control O1): every quarter, every elevated access is confirmed or revoked.

A campaign lists every owner and admin membership, every staff account, every active
support grant and every active API token (a read-only one too: it reads every booking
and the audit log; the page says what each may do). An organization's owners decide on its
memberships, grants and tokens; a security reviewer (staff with
``compliance.review_security``) decides on staff accounts. A revocation takes effect in
the same transaction as the decision: the member becomes a plain member, the grant
ends, the token is revoked, the staff account loses its staff flags. When the last item
is decided the campaign is complete and its report is stored with its SHA-256 and an
HMAC under the installation's secret. A daily job opens a campaign when one is due and
raises an alert for a campaign past its due date.
"""

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from afspraak.accounts.middleware import is_staff_account
from afspraak.accounts.models import User
from afspraak.audit.alerts import raise_alert
from afspraak.audit.context import AuditContext
from afspraak.audit.models import Alert, Severity
from afspraak.audit.rules import Firing, Rule
from afspraak.audit.trail import record
from afspraak.compliance.models import (
    GrantState,
    ReviewCampaign,
    ReviewDecision,
    ReviewItem,
    ReviewItemKind,
    SupportGrant,
)
from afspraak.compliance.records import REVIEWER_PERMISSION
from afspraak.compliance.support import revoke_support_grant
from afspraak.crypto.system_secrets import system_secret
from afspraak.errors import ConflictError, ForbiddenError, NotFoundError
from afspraak.tenancy.access import Access
from afspraak.tenancy.api_tokens import abilities_in_words, active_api_tokens, revoke_api_token
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.membership import change_member_role
from afspraak.tenancy.models import ApiToken, Membership, Organization
from afspraak.tenancy.roles import Permission, Role

# How long reviewers have to decide every item of a campaign.
REVIEW_WINDOW = timedelta(days=14)
ITEM_NOT_FOUND = "No such item under review."
REPORT_KEY_PURPOSE = "compliance.access_review_report"
ELEVATED_ROLES = (Role.OWNER, Role.ADMIN)
_ACCESS_LENGTH = ReviewItem._meta.get_field("access").max_length or 80
OVERDUE_RULE = Rule(
    id="afspraak-access-review-overdue",
    title="An access review is overdue",
    level=Severity.MEDIUM,
    logsource="daily sweep of the access-review campaigns",
    condition="a campaign is not complete by its due date (opened + 14 days)",
    falsepositives=("none: an overdue review is itself the finding",),
)


def review_interval() -> timedelta:
    """Return how often a campaign opens (AFSPRAAK_ACCESS_REVIEW_INTERVAL_DAYS)."""
    return timedelta(days=settings.AFSPRAAK_ACCESS_REVIEW_INTERVAL_DAYS)


def open_campaign() -> ReviewCampaign | None:
    """Return the campaign under way, if any."""
    return ReviewCampaign.objects.filter(completed_at=None).order_by("-opened_at").first()


def is_campaign_due(now: Any = None) -> bool:
    """Tell whether a new campaign should open: none is under way and the last is old enough."""
    moment = now or timezone.now()
    if open_campaign() is not None:
        return False
    last = ReviewCampaign.objects.order_by("-opened_at").first()
    return last is None or last.opened_at + review_interval() <= moment


def _elevated_memberships(organization: Organization) -> list[tuple[str, Any, str]]:
    with organization_context(organization):
        return [
            (membership.public_id, membership.user, membership.get_role_display())
            for membership in Membership.objects.filter(role__in=ELEVATED_ROLES)
            .select_related("user")
            .order_by("id")
        ]


def _token_access(token: ApiToken) -> str:
    """Return how a token is named on the review: its name shortened to fit the column."""
    scope = token.get_scope_display().lower()
    # A date in words: a phone's narrow column wraps it between words, not at its hyphens.
    until = f"{token.expires_at.day} {token.expires_at:%b %Y}"
    tail = f"” ({token.prefix}…), {scope}, until {until}"
    room = _ACCESS_LENGTH - len("API token “") - len(tail)
    name = token.name if len(token.name) <= room else token.name[: room - 1] + "…"
    return f"API token “{name}{tail}"


def start_review_campaign(context: AuditContext) -> ReviewCampaign:
    """Open a campaign listing every elevated access there is now."""
    now = timezone.now()
    with transaction.atomic():
        if open_campaign() is not None:
            raise ConflictError("An access review is already under way: finish it first.")
        campaign = ReviewCampaign.objects.create(opened_at=now, due_at=now + REVIEW_WINDOW)
        items = []
        for organization in Organization.objects.order_by("id"):
            for public_id, user, role in _elevated_memberships(organization):
                items.append(
                    ReviewItem(
                        campaign=campaign,
                        kind=ReviewItemKind.MEMBERSHIP,
                        organization=organization,
                        user=user,
                        subject_public_id=public_id,
                        access=role,
                    )
                )
        for grant in SupportGrant.objects.filter(
            state=GrantState.APPROVED, expires_at__gt=now
        ).select_related("staff", "organization"):
            items.append(
                ReviewItem(
                    campaign=campaign,
                    kind=ReviewItemKind.SUPPORT_GRANT,
                    organization=grant.organization,
                    user=grant.staff,
                    subject_public_id=grant.public_id,
                    access=f"Support access until {grant.expires_at:%Y-%m-%d %H:%M} UTC",
                )
            )
        for token in active_api_tokens():
            items.append(
                ReviewItem(
                    campaign=campaign,
                    kind=ReviewItemKind.API_TOKEN,
                    organization=token.organization,
                    user=token.user,
                    subject_public_id=token.public_id,
                    access=_token_access(token),
                )
            )
        for user in User.objects.filter(is_active=True).order_by("id"):
            if is_staff_account(user):
                items.append(
                    ReviewItem(
                        campaign=campaign,
                        kind=ReviewItemKind.STAFF,
                        user=user,
                        subject_public_id=user.public_id,
                        access="Superuser" if user.is_superuser else "Staff",
                    )
                )
        ReviewItem.objects.bulk_create(items)
        record(
            "compliance.access_review.opened",
            context=context,
            target=campaign,
            data={"campaign": campaign.public_id, "items": len(items)},
        )
        _complete_if_done(context, campaign)
    return campaign


def review_items_of(access: Access) -> QuerySet[ReviewItem]:
    """Return the organization's items in the campaign under way, undecided first."""
    access.require(Permission.MANAGE_OWNERS)
    campaign = open_campaign()
    return (
        ReviewItem.objects.filter(campaign=campaign, organization=access.organization)
        .select_related("user", "decided_by")
        .order_by("-decision", "kind", "id")
    )


def token_abilities_of(access: Access, items: list[ReviewItem]) -> dict[str, str]:
    """Return what each API token among ``items`` may do, in words, by its public id."""
    access.require(Permission.MANAGE_OWNERS)
    public_ids = [i.subject_public_id for i in items if i.kind == ReviewItemKind.API_TOKEN]
    with access.scope():
        tokens = list(ApiToken.objects.filter(public_id__in=public_ids))
    return {t.public_id: abilities_in_words(t.granted_permissions) for t in tokens}


def get_review_item_for(access: Access, public_id: str) -> ReviewItem:
    """Return the organization's review item ``public_id``, or 404."""
    access.require(Permission.MANAGE_OWNERS)
    item = (
        ReviewItem.objects.filter(organization=access.organization, public_id=public_id)
        .select_related("user", "campaign")
        .first()
    )
    if item is None:
        raise NotFoundError(ITEM_NOT_FOUND)
    return item


def _lock_pending(item: ReviewItem) -> ReviewItem:
    locked = (
        ReviewItem.objects.select_for_update().select_related("campaign", "user").get(pk=item.pk)
    )
    if locked.decision != ReviewDecision.PENDING:
        raise ConflictError("This access was already reviewed.")
    if locked.campaign.completed_at is not None:
        raise ConflictError("This review is complete.")
    return locked


def _settle(context: AuditContext, item: ReviewItem, *, confirm: bool) -> ReviewItem:
    item.decision = ReviewDecision.CONFIRMED if confirm else ReviewDecision.REVOKED
    item.decided_by = context.actor
    item.decided_at = timezone.now()
    item.save(update_fields=["decision", "decided_by", "decided_at"])
    record(
        "compliance.access_review.confirmed" if confirm else "compliance.access_review.revoked",
        context=context,
        organization=item.organization,
        target=item,
        data={
            "campaign": item.campaign.public_id,
            "kind": item.kind,
            "subject": item.subject_public_id,
        },
    )
    _complete_if_done(context, item.campaign)
    return item


def decide_review_item(access: Access, item: ReviewItem, *, confirm: bool) -> ReviewItem:
    """Confirm, or revoke at once, an access to the organization under review."""
    access.require(Permission.MANAGE_OWNERS)
    if item.organization_id != access.organization.pk:
        raise NotFoundError(ITEM_NOT_FOUND)
    with transaction.atomic():
        locked = _lock_pending(item)
        if not confirm:
            _revoke_organization_access(access, locked)
        return _settle(access.context, locked, confirm=confirm)


def _revoke_organization_access(access: Access, item: ReviewItem) -> None:
    if item.kind == ReviewItemKind.MEMBERSHIP:
        with access.scope():
            membership = Membership.objects.filter(public_id=item.subject_public_id).first()
        # A member who left since the campaign opened has nothing left to revoke.
        if membership is not None and membership.role in ELEVATED_ROLES:
            change_member_role(access, membership, Role.MEMBER)
    elif item.kind == ReviewItemKind.SUPPORT_GRANT:
        grant = SupportGrant.objects.filter(
            public_id=item.subject_public_id, organization=access.organization
        ).first()
        if grant is not None and grant.state in (GrantState.REQUESTED, GrantState.APPROVED):
            revoke_support_grant(access, grant)
    elif item.kind == ReviewItemKind.API_TOKEN:
        with access.scope():
            token = ApiToken.objects.filter(public_id=item.subject_public_id).first()
        if token is not None:
            revoke_api_token(access, token, trigger="access_review")


def staff_review_items() -> QuerySet[ReviewItem]:
    """Return the staff accounts in the campaign under way, undecided first."""
    return (
        ReviewItem.objects.filter(campaign=open_campaign(), kind=ReviewItemKind.STAFF)
        .select_related("user", "decided_by")
        .order_by("-decision", "id")
    )


def get_staff_review_item(public_id: str) -> ReviewItem:
    """Return the staff-account review item ``public_id``, or 404."""
    item = (
        ReviewItem.objects.filter(public_id=public_id, kind=ReviewItemKind.STAFF)
        .select_related("user", "campaign")
        .first()
    )
    if item is None:
        raise NotFoundError(ITEM_NOT_FOUND)
    return item


def is_security_reviewer(user: Any) -> bool:
    """Tell whether ``user`` is a staff member who reviews staff accounts."""
    return is_staff_account(user) and user.has_perm(REVIEWER_PERMISSION)


def decide_staff_review_item(
    context: AuditContext, item: ReviewItem, *, confirm: bool
) -> ReviewItem:
    """Confirm, or revoke at once, a staff account under review (security reviewers only)."""
    reviewer = context.actor
    if reviewer is None or not is_security_reviewer(reviewer):
        raise ForbiddenError("Only a security reviewer reviews staff accounts.")
    if item.user_id == reviewer.pk:
        raise ForbiddenError("Another security reviewer must review your own account.")
    with transaction.atomic():
        locked = _lock_pending(item)
        if not confirm:
            User.objects.filter(pk=locked.user_id).update(is_staff=False, is_superuser=False)
        return _settle(context, locked, confirm=confirm)


def _report(campaign: ReviewCampaign, completed_at: Any) -> str:
    items = [
        {
            "item": item.public_id,
            "kind": item.kind,
            "organization": item.organization.public_id if item.organization else None,
            "user": item.user.public_id,
            "subject": item.subject_public_id,
            "access": item.access,
            "decision": item.decision,
            "decided_by": item.decided_by.public_id if item.decided_by else None,
            "decided_at": item.decided_at.isoformat() if item.decided_at else None,
        }
        for item in campaign.items.select_related("organization", "user", "decided_by").order_by(
            "id"
        )
    ]
    body = {
        "campaign": campaign.public_id,
        "opened_at": campaign.opened_at.isoformat(),
        "due_at": campaign.due_at.isoformat(),
        "completed_at": completed_at.isoformat(),
        "items": items,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def report_hmac(report: str) -> str:
    """Return the HMAC-SHA256 of a campaign report under the installation's secret."""
    return hmac.new(system_secret(REPORT_KEY_PURPOSE), report.encode(), hashlib.sha256).hexdigest()


def is_report_intact(campaign: ReviewCampaign) -> bool:
    """Tell whether a completed campaign's report still matches its hash and HMAC."""
    report = campaign.report
    return bool(report) and (
        hmac.compare_digest(hashlib.sha256(report.encode()).hexdigest(), campaign.report_sha256)
        and hmac.compare_digest(report_hmac(report), campaign.report_hmac)
    )


def _complete_if_done(context: AuditContext, campaign: ReviewCampaign) -> None:
    if campaign.items.filter(decision=ReviewDecision.PENDING).exists():
        return
    locked = ReviewCampaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.completed_at is not None:
        return
    now = timezone.now()
    report = _report(locked, now)
    locked.completed_at = now
    locked.report = report
    locked.report_sha256 = hashlib.sha256(report.encode()).hexdigest()
    locked.report_hmac = report_hmac(report)
    locked.save(update_fields=["completed_at", "report", "report_sha256", "report_hmac"])
    record(
        "compliance.access_review.completed",
        context=context,
        target=locked,
        data={"campaign": locked.public_id, "sha256": locked.report_sha256},
    )


def alert_overdue_campaigns() -> list[Alert]:
    """Raise an alert for each campaign still open after its due date, and one for each
    organization with items left, so its owners hear of it too."""
    alerts = []
    for campaign in ReviewCampaign.objects.filter(completed_at=None, due_at__lt=timezone.now()):
        pending = campaign.items.filter(decision=ReviewDecision.PENDING)
        alerts.append(
            raise_alert(
                OVERDUE_RULE,
                Firing(
                    subject=campaign.public_id,
                    detail=f"{pending.count()} items undecided since {campaign.opened_at:%Y-%m-%d}",
                ),
            )
        )
        late = Organization.objects.filter(
            pk__in=pending.exclude(organization=None).values("organization")
        ).order_by("id")
        alerts.extend(
            raise_alert(
                OVERDUE_RULE,
                Firing(
                    subject=f"{campaign.public_id}:{organization.public_id}",
                    organization_public_id=organization.public_id,
                    detail=f"the access review of {organization.name} is past its due date",
                ),
            )
            for organization in late
        )
    return alerts


def run_access_reviews() -> ReviewCampaign | None:
    """Open a campaign when one is due, and alert on overdue ones; return the new campaign."""
    campaign = start_review_campaign(AuditContext.system()) if is_campaign_due() else None
    alert_overdue_campaigns()
    return campaign


@db_periodic_task(crontab(hour="5", minute="40"))
def daily_access_reviews() -> None:
    """Open the quarter's access review when due and alert on an overdue one, every day."""
    run_access_reviews()

"""The security alerts of one organization, for the members who see its security pages."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from afspraak.audit.models import Alert
from afspraak.tenancy.pages import OrganizationRequest, organization_page_context, organization_view
from afspraak.tenancy.roles import Permission

# The newest alerts; older ones are in the operator's records and the audit log.
ALERTS_SHOWN = 200


@require_GET
@organization_view(Permission.VIEW_SECURITY)
def alerts(request: OrganizationRequest) -> HttpResponse:
    # Alerts are the operator's records, named by the organization's public id; the review
    # notes and the reviewers stay the operator's (as in the e-mail the owners get).
    shown = Alert.objects.filter(organization_public_id=request.organization.public_id).only(
        "public_id",
        "title",
        "severity",
        "status",
        "raised_at",
        "last_seen_at",
        "firings",
        "closed_at",
        "incident_id",
    )[:ALERTS_SHOWN]
    return render(
        request,
        "security/organization_alerts.html",
        organization_page_context(request, alerts=list(shown), limit=ALERTS_SHOWN),
    )

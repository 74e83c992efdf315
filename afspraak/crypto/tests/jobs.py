"""A background job that reads an invitee, for the fail-closed tests of the job path."""

from huey.contrib.djhuey import task

from afspraak.bookings.models import Invitee
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Organization


@task()
def read_invitee_name(organization_id: int, invitee_id: int) -> str:
    organization = Organization.objects.get(pk=organization_id)
    with organization_context(organization):
        return str(Invitee.objects.get(pk=invitee_id).name)

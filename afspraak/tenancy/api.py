"""Organization endpoints of API v1: the caller's organizations and their members.

The same access helpers as the pages: another organization's member and a missing
one give the same 404 with the same message; a role without the permission gets 403.
"""

from typing import cast

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from afspraak.accounts.models import User
from afspraak.api.schemas import DetailSerializer
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record
from afspraak.tenancy.access import get_membership_for, get_organization_for, memberships_of
from afspraak.tenancy.context import organization_context, session_too_old
from afspraak.tenancy.errors import TenancyError
from afspraak.tenancy.membership import remove_member
from afspraak.tenancy.models import Membership


class OrganizationSerializer(serializers.Serializer):
    id = serializers.CharField(source="organization.public_id")
    slug = serializers.CharField(source="organization.slug")
    name = serializers.CharField(source="organization.name")
    role = serializers.CharField()


class MemberSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    user = serializers.CharField(source="user.public_id")
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.full_name")
    role = serializers.CharField()


def _user(request: Request) -> User:
    return cast(User, request.user)


def _membership(request: Request, org_slug: str, permission: str | None) -> Membership:
    """Return the caller's membership of ``org_slug`` with ``permission``, as the pages decide."""
    membership = get_organization_for(_user(request), org_slug, permission)
    organization = membership.organization
    if session_too_old(request, organization):
        record(
            "tenancy.access.denied",
            actor=request.user,
            outcome=Outcome.DENIED,
            organization=organization,
            request=request,
            data={"reason": "session_lifetime", "organization": organization.public_id},
        )
        raise PermissionDenied("Your session is older than this organization allows: log in again.")
    if membership.organization.require_mfa and not _user(request).has_mfa():
        raise PermissionDenied("This organization requires multi-factor authentication first.")
    return membership


class OrganizationListView(APIView):
    @extend_schema(responses=OrganizationSerializer(many=True), summary="Your organizations")
    def get(self, request: Request) -> Response:
        return Response(OrganizationSerializer(memberships_of(_user(request)), many=True).data)


class MemberListView(APIView):
    @extend_schema(
        responses={200: MemberSerializer(many=True), 404: DetailSerializer},
        summary="An organization's members",
    )
    def get(self, request: Request, org_slug: str) -> Response:
        organization = _membership(request, org_slug, "can_view_members").organization
        with organization_context(organization, user=_user(request)):
            members = Membership.objects.select_related("user").order_by("user__email", "id")
            data = MemberSerializer(members, many=True).data
        return Response(data)


class MemberDetailView(APIView):
    @extend_schema(responses={200: MemberSerializer, 404: DetailSerializer}, summary="A member")
    def get(self, request: Request, org_slug: str, member_id: str) -> Response:
        organization = _membership(request, org_slug, "can_view_members").organization
        member = get_membership_for(_user(request), organization, member_id)
        return Response(MemberSerializer(member).data)

    @extend_schema(
        responses={
            204: OpenApiResponse(description="Removed; their sessions have ended."),
            403: DetailSerializer,
            404: DetailSerializer,
            409: DetailSerializer,
        },
        summary="Remove a member (offboarding: sessions, invitations and tokens end at once)",
    )
    def delete(self, request: Request, org_slug: str, member_id: str) -> Response:
        organization = _membership(request, org_slug, "can_manage_members").organization
        member = get_membership_for(_user(request), organization, member_id, write=True)
        try:
            remove_member(
                actor=_user(request),
                organization=organization,
                membership=member,
                request=request._request,
            )
        except TenancyError as error:
            return Response({"detail": str(error)}, status=error.status)
        return Response(status=204)

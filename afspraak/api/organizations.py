"""Organization endpoints of API v1: the caller's organizations and their members.

The same ``Access`` as the pages: another organization's member and a missing one give
the same 404 with the same message; a role without the permission gets 403, audited
alike (``afspraak.api.errors``).
"""

from typing import cast

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from afspraak.accounts.models import User
from afspraak.api.schemas import DetailSerializer
from afspraak.tenancy.access import (
    access_for_request,
    get_membership_for,
    members_of,
    memberships_of,
)
from afspraak.tenancy.membership import remove_member
from afspraak.tenancy.models import ApiToken
from afspraak.tenancy.roles import Permission


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


class OrganizationListView(APIView):
    @extend_schema(responses=OrganizationSerializer(many=True), summary="Your organizations")
    def get(self, request: Request) -> Response:
        memberships = memberships_of(_user(request))
        if isinstance(request.auth, ApiToken):
            # A token is for one organization: it does not reveal the member's others.
            memberships = [
                m for m in memberships if m.organization_id == request.auth.organization_id
            ]
        return Response(OrganizationSerializer(memberships, many=True).data)


class MemberListView(APIView):
    @extend_schema(
        responses={200: MemberSerializer(many=True), 404: DetailSerializer},
        summary="An organization's members",
    )
    def get(self, request: Request, org_slug: str) -> Response:
        access = access_for_request(request._request, org_slug, Permission.VIEW_MEMBERS)
        with access.scope():
            data = MemberSerializer(members_of(access), many=True).data
        return Response(data)


class MemberDetailView(APIView):
    @extend_schema(responses={200: MemberSerializer, 404: DetailSerializer}, summary="A member")
    def get(self, request: Request, org_slug: str, member_id: str) -> Response:
        access = access_for_request(request._request, org_slug, Permission.VIEW_MEMBERS)
        return Response(MemberSerializer(get_membership_for(access, member_id)).data)

    @extend_schema(
        responses={
            204: OpenApiResponse(description="Removed; their sessions have ended."),
            403: DetailSerializer,
            404: DetailSerializer,
            409: DetailSerializer,
        },
        summary="Remove a member (offboarding: their sessions and invitations end at once)",
    )
    def delete(self, request: Request, org_slug: str, member_id: str) -> Response:
        access = access_for_request(request._request, org_slug, Permission.MANAGE_MEMBERS)
        remove_member(access, get_membership_for(access, member_id, write=True))
        return Response(status=204)

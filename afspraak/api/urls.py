"""Routes of API v1 (mounted at ``/api/v1/``, namespace ``api``)."""

from django.urls import path

from afspraak.api import account as account_api
from afspraak.api import organizations as tenancy_api

app_name = "api"

urlpatterns = [
    path(
        "account/password",
        account_api.PasswordChangeView.as_view(),
        name="account_password_change",
    ),
    path(
        "account/password/check",
        account_api.PasswordCheckView.as_view(),
        name="account_password_check",
    ),
    path("organizations", tenancy_api.OrganizationListView.as_view(), name="organizations"),
    path(
        "organizations/<slug:org_slug>/members",
        tenancy_api.MemberListView.as_view(),
        name="organization_members",
    ),
    path(
        "organizations/<slug:org_slug>/members/<str:member_id>",
        tenancy_api.MemberDetailView.as_view(),
        name="organization_member",
    ),
]

"""Organization pages live under /o/<org_slug>/; invitation links under /invitations/<token>/."""

from django.urls import path

from afspraak.tenancy import brand_views, token_views, views

app_name = "tenancy"

urlpatterns = [
    path("organizations/new/", views.create, name="create"),
    # Before the token pattern, which would take "pending" for a token.
    path("invitations/pending/", views.pending_invitation, name="pending_invitation"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("o/<slug:org_slug>/", views.home, name="home"),
    path("o/<slug:org_slug>/switch/", views.switch, name="switch"),
    path("o/<slug:org_slug>/leave/", views.leave, name="leave"),
    path("o/<slug:org_slug>/members/", views.members, name="members"),
    path("o/<slug:org_slug>/members/invite/", views.invite, name="invite"),
    path("o/<slug:org_slug>/members/<str:member_id>/role/", views.member_role, name="member_role"),
    path(
        "o/<slug:org_slug>/members/<str:member_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path(
        "o/<slug:org_slug>/invitations/<str:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("o/<slug:org_slug>/branding/", brand_views.branding, name="branding"),
    path("o/<slug:org_slug>/embedding/", brand_views.embedding, name="embedding"),
    path(
        "o-brand/<slug:org_slug>/<str:version>/style.css",
        brand_views.stylesheet,
        name="brand_stylesheet",
    ),
    path(
        "o-brand/<slug:org_slug>/<str:version>/nav.css",
        brand_views.navigation_stylesheet,
        name="brand_navigation_stylesheet",
    ),
    path("o-brand/<slug:org_slug>/<str:version>/logo", brand_views.logo, name="brand_logo"),
    path("o/<slug:org_slug>/api-tokens/", token_views.api_tokens, name="api_tokens"),
    path(
        "o/<slug:org_slug>/api-tokens/new/", token_views.api_token_create, name="api_token_create"
    ),
    path(
        "o/<slug:org_slug>/api-tokens/<str:token_id>/revoke/",
        token_views.api_token_revoke,
        name="api_token_revoke",
    ),
    path("o/<slug:org_slug>/security/", views.security, name="security"),
    path("o/<slug:org_slug>/security/edit/", views.security_edit, name="security_edit"),
    path("o/<slug:org_slug>/audit/", views.audit_log, name="audit_log"),
    path("o/<slug:org_slug>/audit/export/", views.audit_log_export, name="audit_log_export"),
    path("o/<slug:org_slug>/delete/", views.delete, name="delete"),
]

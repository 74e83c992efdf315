"""Support access: the owners' page under /o/<org_slug>/support/, the staff's under /staff/."""

from django.urls import path

from afspraak.compliance import views

app_name = "compliance"

urlpatterns = [
    path("o/<slug:org_slug>/support/", views.support_requests, name="support_requests"),
    path("o/<slug:org_slug>/support/approver/", views.support_approver, name="support_approver"),
    path(
        "o/<slug:org_slug>/support/<str:grant_id>/decide/",
        views.support_decide,
        name="support_decide",
    ),
    path(
        "o/<slug:org_slug>/support/<str:grant_id>/revoke/",
        views.support_revoke,
        name="support_revoke",
    ),
    path("staff/support/", views.staff_support, name="staff_support"),
    path(
        "staff/support/<str:grant_id>/decide/",
        views.staff_support_decide,
        name="staff_support_decide",
    ),
    path(
        "staff/support/<str:grant_id>/revoke/",
        views.staff_support_revoke,
        name="staff_support_revoke",
    ),
]

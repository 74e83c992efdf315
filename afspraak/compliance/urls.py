"""Support access: the owners' page under /o/<org_slug>/support/, the staff's under /staff/."""

from django.urls import path

from afspraak.compliance import disclosure_views, public_views, review_views, views

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
    path("o/<slug:org_slug>/access-review/", review_views.access_review, name="access_review"),
    path(
        "o/<slug:org_slug>/access-review/<str:item_id>/confirm/",
        review_views.access_review_confirm,
        name="access_review_confirm",
    ),
    path(
        "o/<slug:org_slug>/access-review/<str:item_id>/revoke/",
        review_views.access_review_revoke,
        name="access_review_revoke",
    ),
    path("staff/access-review/", review_views.staff_access_review, name="staff_access_review"),
    path(
        "staff/access-review/<str:item_id>/confirm/",
        review_views.staff_access_review_confirm,
        name="staff_access_review_confirm",
    ),
    path(
        "staff/access-review/<str:item_id>/revoke/",
        review_views.staff_access_review_revoke,
        name="staff_access_review_revoke",
    ),
    path("subprocessors/", public_views.subprocessors, name="subprocessors"),
    path("trust/", public_views.trust, name="trust"),
    path(".well-known/security.txt", disclosure_views.security_txt_file, name="security_txt"),
    path("security.txt", disclosure_views.security_txt_legacy, name="security_txt_legacy"),
    path("disclosure/", disclosure_views.disclosure, name="disclosure"),
    path("disclosure/report/", disclosure_views.disclosure_report, name="disclosure_report"),
    path("staff/disclosures/", disclosure_views.staff_disclosures, name="staff_disclosures"),
    path(
        "staff/disclosures/<str:report_id>/",
        disclosure_views.staff_disclosure,
        name="staff_disclosure",
    ),
    path(
        "staff/disclosures/<str:report_id>/attachment/",
        disclosure_views.staff_disclosure_attachment,
        name="staff_disclosure_attachment",
    ),
    path(
        "o/<slug:org_slug>/subprocessors/",
        public_views.subprocessor_notices,
        name="subprocessor_notices",
    ),
    path(
        "o/<slug:org_slug>/subprocessors/subscription/",
        public_views.subprocessor_subscription,
        name="subprocessor_subscription",
    ),
    path("staff/pentests/", review_views.staff_pentests, name="staff_pentests"),
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

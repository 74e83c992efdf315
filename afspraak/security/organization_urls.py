"""An organization's own security pages (under its ``/o/<slug>/``), beside tenancy's."""

from django.urls import path

from afspraak.security import organization_views

app_name = "org_security"

urlpatterns = [
    path("o/<slug:org_slug>/security/alerts/", organization_views.alerts, name="alerts"),
]

"""Schedules and meeting types of an organization, under /o/<org_slug>/."""

from django.urls import path

from afspraak.scheduling import views

app_name = "scheduling"

urlpatterns = [
    path("o/<slug:org_slug>/schedules/", views.schedule_list, name="schedules"),
    path("o/<slug:org_slug>/schedules/new/", views.schedule_create, name="schedule_create"),
    path(
        "o/<slug:org_slug>/schedules/<str:schedule_id>/",
        views.schedule_edit,
        name="schedule_edit",
    ),
    path(
        "o/<slug:org_slug>/schedules/<str:schedule_id>/delete/",
        views.schedule_delete,
        name="schedule_delete",
    ),
    path(
        "o/<slug:org_slug>/schedules/<str:schedule_id>/overrides/",
        views.override_set,
        name="override_set",
    ),
    path(
        "o/<slug:org_slug>/schedules/<str:schedule_id>/overrides/<str:override_id>/remove/",
        views.override_remove,
        name="override_remove",
    ),
    path("o/<slug:org_slug>/meeting-types/", views.meeting_type_list, name="meeting_types"),
    path(
        "o/<slug:org_slug>/meeting-types/new/",
        views.meeting_type_create,
        name="meeting_type_create",
    ),
    path(
        "o/<slug:org_slug>/meeting-types/<str:meeting_type_id>/",
        views.meeting_type_edit,
        name="meeting_type_edit",
    ),
    path(
        "o/<slug:org_slug>/meeting-types/<str:meeting_type_id>/delete/",
        views.meeting_type_delete,
        name="meeting_type_delete",
    ),
]

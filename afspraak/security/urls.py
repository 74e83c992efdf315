from django.urls import path

from afspraak.security import views

app_name = "security"

urlpatterns = [
    path("", views.console, name="console"),
    path("alerts/<str:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<str:alert_id>/close/", views.alert_close, name="alert_close"),
    path("alerts/<str:alert_id>/declare/", views.alert_declare, name="alert_declare"),
    path("incidents/<str:incident_id>/", views.incident, name="incident"),
    path("incidents/<str:incident_id>/update/", views.incident_update, name="incident_update"),
    path("incidents/<str:incident_id>/end-sessions/", views.end_sessions, name="end_sessions"),
    path("incidents/<str:incident_id>/revoke-tokens/", views.revoke_tokens, name="revoke_tokens"),
    path("incidents/<str:incident_id>/suspend/", views.suspend_member, name="suspend_member"),
    path(
        "incidents/<str:incident_id>/suspensions/<str:suspension_id>/lift/",
        views.lift_suspension,
        name="lift_suspension",
    ),
    path("incidents/<str:incident_id>/rotate-keys/", views.rotate_keys, name="rotate_keys"),
]

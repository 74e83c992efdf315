from django.urls import path

from afspraak.security import views

app_name = "security"

urlpatterns = [
    path("", views.console, name="console"),
    path("alerts/<str:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<str:alert_id>/close/", views.alert_close, name="alert_close"),
    path("alerts/<str:alert_id>/declare/", views.alert_declare, name="alert_declare"),
    path("incidents/<str:incident_id>/update/", views.incident_update, name="incident_update"),
]

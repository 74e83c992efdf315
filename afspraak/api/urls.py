"""Routes of API v1 (mounted at ``/api/v1/``, namespace ``api``)."""

from django.urls import path

from afspraak.accounts import api as account_api

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
]

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from afspraak.accounts import views as account_views
from afspraak.bookings import host_home
from afspraak.server import views as server_views

# Staff reach /admin/ only through allauth's login, which insists on their second factor.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Afspraak staff"

# Every unhandled error ends here; a lost database connection answers a retryable 503.
handler500 = "afspraak.server.errors.server_error"

urlpatterns = [
    path("", host_home.landing, name="home"),
    # HAProxy's health check of each app node (deploy/haproxy/haproxy.cfg).
    path("healthz", server_views.healthz, name="healthz"),
    path("accounts/profile/", account_views.profile, name="account_profile"),
    path("accounts/profile/avatar/", account_views.upload_avatar, name="account_avatar_upload"),
    path(
        "accounts/profile/avatar/remove/",
        account_views.delete_avatar,
        name="account_avatar_remove",
    ),
    # Public: the host's picture on their booking pages (afspraak.accounts.avatars).
    path("avatars/<str:public_id>/<str:version>", account_views.avatar, name="account_avatar"),
    path("accounts/sessions/end/", account_views.end_session, name="account_end_session"),
    path("accounts/", include("allauth.urls")),
    path("", include("afspraak.tenancy.urls")),
    path("api/v1/", include("afspraak.api.urls")),
    path("admin/", admin.site.urls),
    path("security/", include("afspraak.security.urls")),
    path("", include("afspraak.security.organization_urls")),
    path("", include("afspraak.scheduling.urls")),
    path("", include("afspraak.bookings.dashboard_urls")),
    path("", include("afspraak.compliance.urls")),
    # Last: the public booking pages take /<organization slug>/… (slugs that would
    # shadow the paths above are refused when an organization is created).
    path("", include("afspraak.bookings.urls")),
]

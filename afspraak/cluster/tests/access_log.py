"""HAProxy's access log keeps no secret a URL carries (ASVS 16.2.5; control N2)."""

import requests

from afspraak.cluster.loopback import wait_until
from afspraak.cluster.tests.clients import through_haproxy

# Each path holds a secret segment a real link would carry; "%62" is a "b" %-encoded.
SECRET_PATHS = {
    "/b/INVITEE-LINK-SECRET/reschedule/": "/b/redacted/reschedule/",
    "/%62/ENCODED-LINK-SECRET/cancel/": "/b/redacted/cancel/",
    "/invitations/INVITATION-SECRET/": "/invitations/redacted/",
    "/accounts/password/reset/key/3-RESET-SECRET/": "/accounts/password/reset/key/redacted/",
    "/accounts/confirm-email/CONFIRMATION-SECRET/": "/accounts/confirm-email/redacted/",
}


def check_haproxys_log_shows_no_url_secret_and_no_query(cluster):
    session = through_haproxy(cluster)
    for path in SECRET_PATHS:
        session.get(f"{cluster.url}{path}?token=QUERY-SECRET", timeout=30, allow_redirects=False)
        requests.get(
            f"http://127.0.0.1:{cluster.proxy.http_port}{path}", timeout=30, allow_redirects=False
        )

    def logged() -> str:
        return cluster.proxy.log_file.read_text(encoding="utf-8", errors="replace")

    wait_until(
        lambda: logged().count("/accounts/confirm-email/redacted/") >= 2,
        what="HAProxy's log lines",
        timeout=30,
    )
    log = logged()
    assert "SECRET" not in log
    for shown in SECRET_PATHS.values():
        # Once through the HTTPS frontend, once through the plain HTTP one.
        assert log.count(f'"GET {shown} HTTP/1.1"') >= 2, shown

"""HTTP clients for the cluster tests: through HAProxy over HTTPS, or straight to one node."""

from dataclasses import dataclass

import requests

from afspraak.cluster.appnodes import AppNode
from afspraak.cluster.shape import Cluster

CSRF_COOKIE = "__Host-afspraak_csrf"


def through_haproxy(cluster: Cluster) -> requests.Session:
    """Return a session that verifies HAProxy's certificate and sends the site's Origin."""
    session = requests.Session()
    # Else REQUESTS_CA_BUNDLE (and any proxy) of the environment would win over ``verify``.
    session.trust_env = False
    session.verify = str(cluster.ca_file)
    session.headers["Origin"] = cluster.url
    return session


@dataclass
class NodeClient:
    """Talks plain HTTP to one app node, dressed as HAProxy forwards an HTTPS request."""

    cluster: Cluster
    node: AppNode

    def _headers(self) -> dict[str, str]:
        return {
            "Host": self.cluster.url.removeprefix("https://"),
            "Origin": self.cluster.url,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "127.0.0.1",
        }

    def post_form(self, path: str, data: dict[str, str]) -> requests.Response:
        """Fetch the page for its CSRF cookie, then post ``data`` to it with the token."""
        url = f"http://{self.node.address}{path}"
        page = requests.get(url, headers=self._headers(), allow_redirects=False, timeout=30)
        assert page.status_code == 200, page.status_code
        token = page.cookies.get(CSRF_COOKIE)
        assert token, page.headers
        # requests keeps Secure cookies for https:// only: hand this one over explicitly.
        return requests.post(
            url,
            data=data | {"csrfmiddlewaretoken": token},
            headers=self._headers(),
            cookies={CSRF_COOKIE: token},
            allow_redirects=False,
            timeout=30,
        )

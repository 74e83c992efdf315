"""The time-zone list the public pages' pickers load: one address per hour, cached for good.

The booking pages carry only the chosen zone (``scheduling.zones``); ``zone-picker.js``
fetches the whole list from here. The list holds no organization's data and no secret,
so every visitor gets the same bytes, gzipped when the browser takes it.
"""

from functools import lru_cache

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.text import compress_string
from django.views.decorators.http import require_safe

from afspraak.errors import NotFoundError
from afspraak.scheduling.zones import zone_list_html

NO_SUCH_LIST = "There is no such time-zone list (any more); reload the page."
# The address names the content's hash: what it answers never changes.
FOREVER = "public, max-age=31536000, immutable"


@lru_cache(maxsize=4)
def _gzipped(html: str) -> bytes:
    return compress_string(html.encode())


@require_safe
def zone_options(request: HttpRequest, version: str) -> HttpResponse:
    """Serve every zone as the ``<option>``s of a ``<select>``, labelled with their offsets."""
    html = zone_list_html(version, timezone.now())
    if html is None:
        raise NotFoundError(NO_SUCH_LIST)
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(_gzipped(html))
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(html)
    response["Cache-Control"] = FOREVER
    patch_vary_headers(response, ["Accept-Encoding"])
    return response

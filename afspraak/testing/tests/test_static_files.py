"""Tests run on a fresh clone: static files come from the session's own collection."""

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.template import Context, Template

STYLESHEET = "css/afspraak.css"


def test_the_session_collects_static_files_instead_of_reading_var():
    root = Path(settings.STATIC_ROOT)
    assert not root.is_relative_to(settings.VAR_DIR)
    assert (root / "staticfiles.json").is_file()


def test_pages_get_the_hashed_name_from_the_sessions_manifest():
    url = Template("{% load static %}{% static path %}").render(Context({"path": STYLESHEET}))

    assert url.startswith("/static/css/afspraak.")
    assert url.endswith(".css")
    assert url != f"/static/{STYLESHEET}"
    assert staticfiles_storage.exists(url.removeprefix("/static/"))
    assert Path(staticfiles_storage.path(STYLESHEET)).parent.parent == Path(settings.STATIC_ROOT)

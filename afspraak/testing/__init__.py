"""Test harness shared by every app: a throw-away PostgreSQL server, an HTTPS live server
and a real browser.

``postgres`` is loaded with ``-p`` (see ``addopts`` in ``pyproject.toml``) because it must
run before pytest-django imports the settings; ``database``, ``liveserver`` and
``browser`` are loaded by the root ``conftest.py``.
"""

"""Errors stay in the product's look: branded 400, 403, 404 and 500 pages with a way back,
and the refusals the middleware answers carry their message (issue 12)."""

import pytest
from django.test import RequestFactory
from django.views.defaults import bad_request, server_error

HOME_LINK = '<a class="button" href="/">Go to the home page</a>'


@pytest.mark.parametrize("path", ["/an-org/nope/", "/nope-org/"])
def test_a_mistyped_address_gets_the_branded_404_with_a_way_home(client, tenants, path):
    response = client.get(path)
    assert response.status_code == 404
    html = response.content.decode()
    assert "We could not find that page" in html
    assert HOME_LINK in html
    assert "css/afspraak" in html


def test_the_404_page_holds_no_csrf_token_so_every_404_is_the_same(client, tenants):
    client.force_login(tenants.owner.user)
    first, second = client.get("/an-org/nope/"), client.get("/o/nope-org/")
    assert "csrfmiddlewaretoken" not in first.content.decode()
    assert first.content == second.content


def test_a_refusal_shows_its_message_in_the_products_look(client, tenants):
    client.force_login(tenants.member.user)
    response = client.get("/o/alpha/members/")
    assert response.status_code == 403
    html = response.content.decode()
    assert 'class="error-page"' in html
    assert 'class="refusal"' in html
    assert "Back to your organizations" in html


def test_the_500_and_400_pages_render_without_a_request_context(rf: RequestFactory):
    for view, heading in (
        (server_error, "Something went wrong on our side"),
        (lambda request: bad_request(request, ValueError()), "We could not understand that"),
    ):
        response = view(rf.get("/"))
        html = response.content.decode()
        assert heading in html
        assert HOME_LINK in html


def test_the_new_organization_form_names_both_paths_and_escapes_nothing_away(client, tenants):
    client.force_login(tenants.owner.user)
    html = client.get("/organizations/new/").content.decode()
    assert "book at /hanna-studio/" in html
    assert "pages live at /o/hanna-studio/" in html
    assert "<address>" not in html

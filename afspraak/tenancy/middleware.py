"""Answer the domain errors a page view raises, and audit its refusals in the one place."""

from collections.abc import Callable

from allauth.account.internal.flows.reauthentication import suspend_request
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from afspraak.errors import DomainError, ReauthenticationRequiredError
from afspraak.tenancy.access import AccessDeniedError, Refusal, record_refusal


class DomainErrorMiddleware:
    """Turn a domain error that left a view into its answer: a 404, a redirect or a 4xx page.

    An ``AccessDeniedError`` is recorded here, after the view's transaction rolled back, so the
    refusal stays in the audit trail. A session past the organization's lifetime ends and
    goes to the login page; a missing second factor goes to enrolment; a sensitive change
    asks for the password again and then carries on.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        if isinstance(exception, AccessDeniedError):
            record_refusal(exception)
            if exception.reason == Refusal.SESSION_LIFETIME:
                logout(request)
                return redirect_to_login(request.get_full_path())
            if exception.reason == Refusal.MFA_REQUIRED:
                return redirect("mfa_index")
            if exception.reason == Refusal.REAUTHENTICATION:
                return suspend_request(request, reverse("account_reauthenticate"))
        if isinstance(exception, ReauthenticationRequiredError):
            return suspend_request(request, reverse("account_reauthenticate"))
        if exception.status == 404:
            raise Http404(exception.message) from exception
        return render(
            request, "tenancy/refused.html", {"message": exception.message}, status=exception.status
        )

"""Account endpoints of API v1: change one's password, and check a candidate against the rules."""

from typing import Any

from allauth.account.internal.flows.password_change import finalize_password_change
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from afspraak.accounts.passwords import PasswordChangeError, change_password, find_password_problems
from afspraak.api.schemas import DetailSerializer
from afspraak.audit.context import AuditContext


class PasswordField(serializers.CharField):
    """A password exactly as typed: a JSON string, never trimmed, never coerced from a number."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("write_only", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class PasswordChangeSerializer(serializers.Serializer):
    current_password = PasswordField()
    new_password = PasswordField()


class PasswordCheckSerializer(serializers.Serializer):
    password = PasswordField()


class PasswordCheckResultSerializer(serializers.Serializer):
    acceptable = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())


class PasswordChangeThrottle(UserRateThrottle):
    # Each attempt verifies the current password: this caps guessing with a stolen session.
    scope = "account_password_change"
    rate = "20/hour"


class PasswordCheckThrottle(UserRateThrottle):
    # Enough for a strength meter fed on pauses in typing, not for a bulk oracle.
    scope = "account_password_check"
    rate = "60/minute"


class PasswordChangeView(APIView):
    # The account is the person's, not an integration's: API tokens do not reach it.
    authentication_classes = [SessionAuthentication]
    throttle_classes = [PasswordChangeThrottle]

    @extend_schema(
        operation_id="account_password_change",
        tags=["account"],
        request=PasswordChangeSerializer,
        responses={
            200: DetailSerializer,
            400: OpenApiResponse(
                description="Wrong current password (`current_password`), or the new "
                "password breaks rules (`new_password`, one reason per rule)."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        """Change the signed-in user's password, given the current one."""
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            change_password(
                AuditContext.from_request(request._request),
                current_password=serializer.validated_data["current_password"],
                new_password=serializer.validated_data["new_password"],
                # allauth's session side, as on the web form: this session stays signed
                # in, and the password_changed signal is audited.
                finish=lambda: finalize_password_change(request._request, request.user),
            )
        except PasswordChangeError as error:
            return Response(error.errors, status=status.HTTP_400_BAD_REQUEST)
        return Response({"detail": "Your password has been changed."})


class PasswordCheckView(APIView):
    # The account is the person's, not an integration's: API tokens do not reach it.
    authentication_classes = [SessionAuthentication]
    throttle_classes = [PasswordCheckThrottle]

    @extend_schema(
        operation_id="account_password_check",
        tags=["account"],
        request=PasswordCheckSerializer,
        responses={200: PasswordCheckResultSerializer},
        description="Judge a candidate password for the signed-in user by every rule except "
        "reuse of a recent password: that one costs a deliberately slow hash per remembered "
        "password, so it is checked only when the password is actually changed.",
    )
    def post(self, request: Request) -> Response:
        """Tell whether a candidate password is acceptable for the signed-in user, and why not."""
        serializer = PasswordCheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        problems = find_password_problems(
            serializer.validated_data["password"], user=request.user, include_history=False
        )
        return Response({"acceptable": not problems, "reasons": problems})

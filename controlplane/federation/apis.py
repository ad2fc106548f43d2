"""Federation API: trusted issuers and bindings (administrators), and the RFC 8693 token
exchange (anyone holding a subject token; the token is the credential)."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.api.inputs import validated_input
from controlplane.api.pagination import PagePagination, paginated_response
from controlplane.federation import serializers
from controlplane.federation.models import ServiceAccountBinding, TrustedIssuer
from controlplane.federation.selectors import (
    service_account_binding_get,
    service_account_bindings_list,
    trusted_issuer_get,
    trusted_issuers_list,
)
from controlplane.federation.services import (
    service_account_binding_create,
    service_account_binding_delete,
    trusted_issuer_create,
    trusted_issuer_deactivate,
    trusted_issuer_reactivate,
)
from controlplane.identities.exchange import ISSUED_TOKEN_TYPE, TokenExchangeRefused, token_exchange
from controlplane.identities.permissions import IsAdmin
from controlplane.identities.selectors import service_accounts_list
from controlplane.identities.throttling import (
    RateLimited,
    client_address,
    credential_attempt_check,
    credential_identifier,
)


class TrustedIssuerListCreateApi(APIView):
    permission_classes = [IsAdmin]
    pagination_class = PagePagination

    @extend_schema(
        operation_id="trusted_issuers_list",
        responses=serializers.TrustedIssuerOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=trusted_issuers_list(),
            serializer_class=serializers.TrustedIssuerOutputSerializer,
        )

    @extend_schema(
        operation_id="trusted_issuers_create",
        request=serializers.TrustedIssuerInputSerializer,
        responses={201: serializers.TrustedIssuerOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated_input(serializers.TrustedIssuerInputSerializer, request.data)
        trusted = trusted_issuer_create(actor=request.user, **data)
        body = serializers.TrustedIssuerOutputSerializer(trusted).data
        return Response(body, status=status.HTTP_201_CREATED)


class BindingListCreateApi(APIView):
    permission_classes = [IsAdmin]
    pagination_class = PagePagination

    @extend_schema(
        operation_id="trusted_issuers_bindings_list",
        responses=serializers.BindingOutputSerializer(many=True),
    )
    def get(self, request: Request, name: str) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=service_account_bindings_list(issuer=_issuer(name)),
            serializer_class=serializers.BindingOutputSerializer,
        )

    @extend_schema(
        operation_id="trusted_issuers_bindings_create",
        request=serializers.BindingInputSerializer,
        responses={201: serializers.BindingOutputSerializer},
    )
    def post(self, request: Request, name: str) -> Response:
        data = validated_input(serializers.BindingInputSerializer, request.data)
        issuer = _issuer(name)
        account = service_accounts_list().filter(username=data["service_account"]).first()
        if account is None:
            raise Http404(f"no service account named {data['service_account']!r}")
        binding = service_account_binding_create(
            actor=request.user, issuer=issuer, subject=data["subject"], service_account=account
        )
        body = serializers.BindingOutputSerializer(binding).data
        return Response(body, status=status.HTTP_201_CREATED)


class TrustedIssuerDeactivateApi(APIView):
    """Stop trusting an issuer's tokens (its bindings stay, for a reactivation)."""

    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="trusted_issuers_deactivate",
        request=None,
        responses=serializers.TrustedIssuerOutputSerializer,
    )
    def post(self, request: Request, name: str) -> Response:
        trusted = trusted_issuer_deactivate(actor=request.user, issuer=_issuer(name))
        return Response(serializers.TrustedIssuerOutputSerializer(trusted).data)


class TrustedIssuerReactivateApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="trusted_issuers_reactivate",
        request=None,
        responses=serializers.TrustedIssuerOutputSerializer,
    )
    def post(self, request: Request, name: str) -> Response:
        trusted = trusted_issuer_reactivate(actor=request.user, issuer=_issuer(name))
        return Response(serializers.TrustedIssuerOutputSerializer(trusted).data)


class BindingDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(operation_id="trusted_issuers_bindings_delete", responses={204: None})
    def delete(self, request: Request, name: str, subject: str) -> Response:
        try:
            binding = service_account_binding_get(issuer=_issuer(name), subject=subject)
        except ServiceAccountBinding.DoesNotExist:
            raise Http404(f"{subject!r} is not bound at {name!r}") from None
        service_account_binding_delete(actor=request.user, binding=binding)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _issuer(name: str) -> TrustedIssuer:
    try:
        return trusted_issuer_get(name=name)
    except TrustedIssuer.DoesNotExist:
        raise Http404(f"no trusted issuer named {name!r}") from None


class TokenExchangeApi(APIView):
    """RFC 8693 token endpoint. No HTTP authentication: the subject token is the credential
    (an ``Authorization`` header is ignored, so a stale one cannot get in the way)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser, JSONParser]

    @extend_schema(
        operation_id="token_exchange",
        request={
            "application/x-www-form-urlencoded": serializers.TokenExchangeInputSerializer,
            "application/json": serializers.TokenExchangeInputSerializer,
        },
        responses={200: serializers.TokenExchangeOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        parameters = _parameters(request)
        try:
            _attempt_count(request, parameters)
        except RateLimited as limited:
            return _slow_down(limited)
        try:
            exchanged = token_exchange(parameters=parameters)
        except TokenExchangeRefused as refused:
            body = {"error": refused.error, "error_description": refused.description}
            return _no_store(Response(body, status=status.HTTP_400_BAD_REQUEST))
        body: dict[str, Any] = {
            "access_token": exchanged.minted.token,
            "issued_token_type": ISSUED_TOKEN_TYPE,
            "token_type": "Bearer",
            "expires_in": exchanged.expires_in,
        }
        return _no_store(Response(body, status=status.HTTP_200_OK))


def _parameters(request: Request) -> dict[str, Any]:
    """The request's parameters; a repeated form field stays a list (and is refused)."""
    try:
        data = request.data
    except ParseError:
        return {}  # refused by the service as a request without grant_type
    if hasattr(data, "lists"):
        return {name: values[0] if len(values) == 1 else values for name, values in data.lists()}
    return dict(data) if isinstance(data, dict) else {}


def _attempt_count(request: Request, parameters: dict[str, Any]) -> None:
    subject_token = parameters.get("subject_token")
    credential_attempt_check(
        endpoint="token_exchange",
        client=client_address(request.META),
        credential=credential_identifier(subject_token) if isinstance(subject_token, str) else None,
    )


def _slow_down(limited: RateLimited) -> Response:
    # RFC 6749 has no rate-limit error; "slow_down" is OAuth's word for it (RFC 8628 §3.5),
    # so an OAuth client reads the usual {"error", "error_description"} shape, with the
    # HTTP 429 and Retry-After of RFC 6585.
    body = {
        "error": "slow_down",
        "error_description": f"too many token requests; retry after {limited.retry_after} s",
    }
    response = _no_store(Response(body, status=status.HTTP_429_TOO_MANY_REQUESTS))
    response["Retry-After"] = str(limited.retry_after)
    return response


def _no_store(response: Response) -> Response:
    # RFC 6749 §5.1: token responses must not be cached.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response

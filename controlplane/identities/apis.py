"""Identities API: gateway tokens, service accounts and their API keys."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.api.inputs import validated_input
from controlplane.api.pagination import PagePagination, paginated_response
from controlplane.identities import serializers
from controlplane.identities.models import ApiKey, User
from controlplane.identities.permissions import IsAdmin, is_admin
from controlplane.identities.selectors import (
    api_key_get,
    api_keys_of,
    identity_get,
    service_account_get,
    service_accounts_list,
)
from controlplane.identities.services import (
    api_key_create,
    api_key_revoke,
    service_account_create,
    service_account_deactivate,
    service_account_reactivate,
)
from controlplane.identities.throttling import CredentialRateLimitedView
from controlplane.identities.tokens import gateway_token_mint


class TokenMintApi(CredentialRateLimitedView):
    permission_classes = [IsAuthenticated]
    rate_limited_endpoint = "tokens"

    @extend_schema(
        operation_id="tokens_mint",
        request=serializers.TokenMintInputSerializer,
        responses={201: serializers.TokenOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated_input(serializers.TokenMintInputSerializer, request.data)
        identity = _identity_for(request.user, data.get("identity"))
        minted = gateway_token_mint(
            actor=request.user, identity=identity, ttl_seconds=data.get("ttl_seconds")
        )
        body = {"token": minted.token, "token_type": "Bearer", "expires_at": minted.expires_at}
        return Response(
            serializers.TokenOutputSerializer(body).data, status=status.HTTP_201_CREATED
        )


def _identity_for(user: User, username: str | None) -> User:
    """The caller itself, or (administrators only) the identity named ``username``."""
    if not username or username == user.get_username():
        return user
    if not is_admin(user):
        raise PermissionDenied("only administrators may mint tokens for another identity")
    try:
        return identity_get(username=username)
    except User.DoesNotExist:
        raise ValidationError({"identity": [f"no identity named {username!r}"]}) from None


class ServiceAccountListCreateApi(APIView):
    permission_classes = [IsAdmin]
    pagination_class = PagePagination

    @extend_schema(
        operation_id="service_accounts_list",
        responses=serializers.ServiceAccountOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=service_accounts_list(),
            serializer_class=serializers.ServiceAccountOutputSerializer,
        )

    @extend_schema(
        operation_id="service_accounts_create",
        request=serializers.ServiceAccountInputSerializer,
        responses={201: serializers.ServiceAccountCreatedSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated_input(serializers.ServiceAccountInputSerializer, request.data)
        account, issued = service_account_create(actor=request.user, name=data["name"])
        body = {
            **serializers.ServiceAccountOutputSerializer(account).data,
            "api_key": issued.plaintext,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class ServiceAccountApiKeyCreateApi(APIView):
    permission_classes = [IsAdmin]
    pagination_class = PagePagination

    @extend_schema(
        operation_id="service_accounts_api_keys_list",
        responses=serializers.ApiKeyOutputSerializer(many=True),
    )
    def get(self, request: Request, name: str) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=api_keys_of(user=_service_account(name)),
            serializer_class=serializers.ApiKeyOutputSerializer,
        )

    @extend_schema(
        operation_id="service_accounts_api_keys_create",
        request=None,
        responses={201: serializers.ApiKeyCreatedSerializer},
    )
    def post(self, request: Request, name: str) -> Response:
        issued = api_key_create(actor=request.user, user=_service_account(name))
        body = serializers.ApiKeyCreatedSerializer(issued).data
        return Response(body, status=status.HTTP_201_CREATED)


class ServiceAccountDeactivateApi(APIView):
    """Disable a service account: keys refused, no new tokens, its grants ended."""

    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="service_accounts_deactivate",
        request=serializers.DeactivateInputSerializer,
        responses=serializers.ServiceAccountOutputSerializer,
    )
    def post(self, request: Request, name: str) -> Response:
        data = validated_input(serializers.DeactivateInputSerializer, request.data)
        account = service_account_deactivate(
            actor=request.user, account=_service_account(name), reason=data["reason"]
        )
        return Response(serializers.ServiceAccountOutputSerializer(account).data)


class ServiceAccountReactivateApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="service_accounts_reactivate",
        request=None,
        responses=serializers.ServiceAccountOutputSerializer,
    )
    def post(self, request: Request, name: str) -> Response:
        account = service_account_reactivate(actor=request.user, account=_service_account(name))
        return Response(serializers.ServiceAccountOutputSerializer(account).data)


def _service_account(name: str) -> User:
    try:
        return service_account_get(name=name)
    except User.DoesNotExist:
        raise Http404(f"no service account named {name!r}") from None


class ApiKeyRevokeApi(APIView):
    """Revoke an API key by its prefix (the part after ``gh_``); it is refused at once."""

    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="api_keys_revoke", request=None, responses=serializers.ApiKeyOutputSerializer
    )
    def post(self, request: Request, prefix: str) -> Response:
        try:
            api_key = api_key_get(prefix=prefix)
        except ApiKey.DoesNotExist:
            raise Http404(f"no API key with prefix {prefix!r}") from None
        api_key = api_key_revoke(actor=request.user, api_key=api_key)
        return Response(serializers.ApiKeyOutputSerializer(api_key).data)


class AuthConfigApi(APIView):
    """What a command-line client needs before it has any credential: the OpenID provider
    and the public client to sign in with (device flow), and where the agent listens.
    Public by design: none of it is secret, and the client secret is never included."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(operation_id="auth_config", responses=serializers.AuthConfigOutputSerializer)
    def get(self, request: Request) -> Response:
        config = settings.GATEHOUSE_OIDC
        cli_client_id = settings.GATEHOUSE_OIDC_CLI_CLIENT_ID if config is not None else ""
        body = {
            "issuer": config.issuer if config is not None else None,
            "cli_client_id": cli_client_id or None,
            "scopes": config.scopes if config is not None else None,
            "agent_postgres_address": _agent_address(),
        }
        return Response(serializers.AuthConfigOutputSerializer(body).data)


def _agent_address() -> str | None:
    address = getattr(settings, "GATEHOUSE_AGENT_PUBLIC_ADDRESS", None)
    if address is None:
        return None
    host = f"[{address.host}]" if ":" in address.host else address.host
    return f"{host}:{address.port}"


class WhoAmIApi(APIView):
    """Who the presented credential is (the command line shows it and filters by it)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="me", responses=serializers.WhoAmIOutputSerializer)
    def get(self, request: Request) -> Response:
        user = request.user
        body = {
            "username": user.get_username(),
            "kind": user.kind,
            "groups": sorted(user.groups.values_list("name", flat=True)),
        }
        return Response(serializers.WhoAmIOutputSerializer(body).data)

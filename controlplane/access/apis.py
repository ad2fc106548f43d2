"""Grants API: administrators grant and revoke; everyone lists their own grants.
Access-requests API: anyone asks; approvers approve or deny; requesters withdraw."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.access.models import AccessRequest, Grant
from controlplane.access.selectors import (
    access_request_get,
    access_requests_visible_to,
    grant_get,
    grants_visible_to,
)
from controlplane.access.serializers import (
    AccessRequestFilterSerializer,
    AccessRequestInputSerializer,
    AccessRequestOutputSerializer,
    DecisionInputSerializer,
    GrantFilterSerializer,
    GrantInputSerializer,
    GrantOutputSerializer,
)
from controlplane.access.services import (
    access_request_approve,
    access_request_create,
    access_request_deny,
    access_request_withdraw,
    grant_create,
    grant_revoke,
)
from controlplane.api.inputs import validated_input
from controlplane.api.pagination import PagePagination, paginated_response
from controlplane.identities.permissions import IsAdmin, IsReadOnly


class GrantListCreateApi(APIView):
    permission_classes = [IsAdmin | (IsAuthenticated & IsReadOnly)]
    pagination_class = PagePagination

    @extend_schema(
        operation_id="grants_list",
        parameters=[GrantFilterSerializer],
        responses=GrantOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = validated_input(GrantFilterSerializer, request.query_params)
        return paginated_response(
            view=self,
            request=request,
            queryset=grants_visible_to(user=request.user, filters=filters),
            serializer_class=GrantOutputSerializer,
        )

    @extend_schema(
        operation_id="grants_create",
        request=GrantInputSerializer,
        responses={201: GrantOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated_input(GrantInputSerializer, request.data)
        seconds = data.get("duration_seconds")
        grant = grant_create(
            actor=request.user,
            identity=data["identity"],
            resource=data["resource"],
            duration=timedelta(seconds=seconds) if seconds else None,
            expires_at=data.get("expires_at"),
            reason=data["reason"],
            access_level=data["access_level"],
            scope=data["scope"],
        )
        return Response(GrantOutputSerializer(grant).data, status=status.HTTP_201_CREATED)


class GrantRevokeApi(APIView):
    """Administrators revoke any grant; an approver of the request behind a grant may
    withdraw it (grant_revoke checks which, and refuses anyone else)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="grants_revoke", request=None, responses=GrantOutputSerializer)
    def post(self, request: Request, grant_id: UUID) -> Response:
        try:
            grant = grant_get(grant_id=grant_id)
        except Grant.DoesNotExist:
            raise Http404("no such grant") from None
        grant = grant_revoke(actor=request.user, grant=grant)
        return Response(GrantOutputSerializer(grant).data)


_DECISION_SCHEMA: dict[str, Any] = {
    "request": DecisionInputSerializer,
    "responses": AccessRequestOutputSerializer,
}


class AccessRequestListCreateApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = PagePagination

    @extend_schema(
        operation_id="access_requests_list",
        parameters=[AccessRequestFilterSerializer],
        responses=AccessRequestOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = validated_input(AccessRequestFilterSerializer, request.query_params)
        return paginated_response(
            view=self,
            request=request,
            queryset=access_requests_visible_to(user=request.user, filters=filters),
            serializer_class=AccessRequestOutputSerializer,
        )

    @extend_schema(
        operation_id="access_requests_create",
        request=AccessRequestInputSerializer,
        responses={201: AccessRequestOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated_input(AccessRequestInputSerializer, request.data)
        access_request = access_request_create(
            actor=request.user,
            resource=data["resource"],
            duration=timedelta(seconds=data["duration_seconds"]),
            access_level=data["access_level"],
            reason=data["reason"],
        )
        body = AccessRequestOutputSerializer(_request_or_404(access_request.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)


class AccessRequestApproveApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="access_requests_approve", **_DECISION_SCHEMA)
    def post(self, request: Request, request_id: UUID) -> Response:
        return _decide(request, request_id, access_request_approve)


class AccessRequestDenyApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="access_requests_deny", **_DECISION_SCHEMA)
    def post(self, request: Request, request_id: UUID) -> Response:
        return _decide(request, request_id, access_request_deny)


class AccessRequestWithdrawApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="access_requests_withdraw", **_DECISION_SCHEMA)
    def post(self, request: Request, request_id: UUID) -> Response:
        return _decide(request, request_id, access_request_withdraw)


def _decide(request: Request, request_id: UUID, service: Callable[..., AccessRequest]) -> Response:
    """Parse the comment, call the approve/deny/withdraw service (which checks the
    caller's role), answer with the request as it now stands."""
    data = validated_input(DecisionInputSerializer, request.data)
    service(actor=request.user, request=_request_or_404(request_id), comment=data["comment"])
    return Response(AccessRequestOutputSerializer(_request_or_404(request_id)).data)


def _request_or_404(request_id: object) -> AccessRequest:
    try:
        return access_request_get(request_id=request_id)
    except AccessRequest.DoesNotExist:
        raise Http404("no such access request") from None

"""Grants API: administrators grant and revoke; everyone lists their own grants."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.access.models import Grant
from controlplane.access.selectors import grant_get, grants_visible_to
from controlplane.access.serializers import (
    GrantFilterSerializer,
    GrantInputSerializer,
    GrantOutputSerializer,
)
from controlplane.access.services import grant_create, grant_revoke
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
        )
        return Response(GrantOutputSerializer(grant).data, status=status.HTTP_201_CREATED)


class GrantRevokeApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(operation_id="grants_revoke", request=None, responses=GrantOutputSerializer)
    def post(self, request: Request, grant_id: UUID) -> Response:
        try:
            grant = grant_get(grant_id=grant_id)
        except Grant.DoesNotExist:
            raise Http404("no such grant") from None
        grant = grant_revoke(actor=request.user, grant=grant)
        return Response(GrantOutputSerializer(grant).data)

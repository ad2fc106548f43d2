"""Audit API: read-only, for auditors and administrators."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.api.inputs import validated_input
from controlplane.api.pagination import NewestFirstCursorPagination, paginated_response
from controlplane.audit.selectors import audit_events_list
from controlplane.audit.serializers import AuditEventSerializer, AuditFilterSerializer
from controlplane.identities.permissions import IsAdmin, IsAuditor


class AuditEventListApi(APIView):
    permission_classes = [IsAdmin | IsAuditor]
    pagination_class = NewestFirstCursorPagination

    @extend_schema(
        operation_id="audit_events_list",
        parameters=[AuditFilterSerializer],
        responses=AuditEventSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = validated_input(AuditFilterSerializer, request.query_params)
        return paginated_response(
            view=self,
            request=request,
            queryset=audit_events_list(filters=filters),
            serializer_class=AuditEventSerializer,
        )

"""Export API for auditors: ``POST /api/v1/audit/exports`` downloads a verifiable bundle of
a period as ``.tar.gz``; ``GET`` lists the exports made so far (from the log itself).

Kept in the export package (and routed by ``controlplane/audit/export/urls.py``) so the
audit app's own API module stays the log's read and proof endpoints."""

from __future__ import annotations

from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.api.inputs import validated_input
from controlplane.api.pagination import PagePagination, paginated_response
from controlplane.audit.export.archive import (
    API_EXPORT_MAX_ENTRIES,
    audit_export_archive,
    audit_exports_list,
)
from controlplane.audit.export.period import period_parse
from controlplane.audit.export.serializers import ExportRecordSerializer, ExportRequestSerializer
from controlplane.identities.permissions import IsAdmin, IsAuditor


class AuditExportApi(APIView):
    permission_classes = [IsAdmin | IsAuditor]
    pagination_class = PagePagination

    @extend_schema(
        operation_id="audit_export_create",
        request=ExportRequestSerializer,
        responses={
            (200, "application/gzip"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The bundle as .tar.gz; verify with python -m ledger.verify. "
                f"At most {API_EXPORT_MAX_ENTRIES} entries (larger: manage.py audit_export).",
            )
        },
    )
    def post(self, request: Request) -> FileResponse:
        given = validated_input(ExportRequestSerializer, request.data)
        period = period_parse(
            since=given.get("since"), until=given.get("until"), now=timezone.now()
        )
        name, archive = audit_export_archive(
            actor=request.user,
            period=period,
            consistency_from=given.get("consistency_from", []),
        )
        return FileResponse(
            archive, as_attachment=True, filename=name, content_type="application/gzip"
        )

    @extend_schema(operation_id="audit_exports_list", responses=ExportRecordSerializer(many=True))
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=audit_exports_list(),
            serializer_class=ExportRecordSerializer,
        )

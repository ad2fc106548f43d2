"""``POST /api/v1/resources/{name}/exec``: thin; resource_exec does the work."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.api.inputs import validated_input
from controlplane.execution.serializers import ExecInputSerializer
from controlplane.execution.services import ExecCallInput, resource_exec
from controlplane.identities.authentication import GatewayTokenCredential
from controlplane.identities.models import User
from controlplane.resources.models import Resource
from controlplane.resources.selectors import resource_get
from dataplane.contract.exec_call import HttpCall, correlation_id_valid

CORRELATION_HEADER = "X-Correlation-Id"


class ResourceExecApi(APIView):
    """Run one SQL statement (postgres) or HTTP request (http, llm) on a resource through
    its agent, as the caller, with the caller's grant, masking and guardrails."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="resources_exec",
        request=ExecInputSerializer,
        parameters=[OpenApiParameter(CORRELATION_HEADER, str, OpenApiParameter.HEADER)],
        responses={200: dict, 202: dict, 403: dict, 409: dict, 422: dict, 503: dict, 504: dict},
    )
    def post(self, request: Request, name: str) -> Response:
        data = validated_input(ExecInputSerializer, request.data)
        correlation_id = _correlation_id(request)
        outcome = resource_exec(
            actor=request.user,
            resource=_resource_or_404(name),
            call=_call(data),
            correlation_id=correlation_id,
            on_behalf_of=_on_behalf_of(request),
            reason=data["reason"],
            duration=timedelta(seconds=data["duration"]) if data.get("duration") else None,
        )
        body = {**outcome.body, "correlation_id": correlation_id}
        return Response(body, status=outcome.status, headers={CORRELATION_HEADER: correlation_id})


def _call(data: dict[str, Any]) -> ExecCallInput:
    http = data.get("http")
    return ExecCallInput(
        sql=data.get("sql"),
        http=HttpCall(
            method=http["method"],
            path=http["path"],
            headers=dict(http["headers"]),
            body_b64=http.get("body_b64", ""),
        )
        if http is not None
        else None,
        max_rows=data["max_rows"],
        timeout_s=data["timeout_s"],
    )


def _correlation_id(request: Request) -> str:
    """The caller's X-Correlation-Id (up to 128 printable ASCII characters), or a new one."""
    value = request.headers.get(CORRELATION_HEADER)
    if not value:
        return str(uuid.uuid4())
    if not correlation_id_valid(value):
        raise ValidationError({CORRELATION_HEADER: ["up to 128 printable ASCII characters"]})
    return value


def _on_behalf_of(request: Request) -> User | None:
    credential = request.auth
    return credential.on_behalf_of if isinstance(credential, GatewayTokenCredential) else None


def _resource_or_404(name: str) -> Resource:
    try:
        return resource_get(name=name)
    except Resource.DoesNotExist:
        raise Http404("no such resource") from None

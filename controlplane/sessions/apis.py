"""The sessions API: the index, filtered as the console filters it (everyone signed in;
each sees the sessions ``selectors.sessions_visible_to`` allows), and terminating a live
session (administrators and the resource's approvers; the service decides)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.api.inputs import validated_input
from controlplane.api.pagination import PagePagination, paginated_response
from controlplane.sessions.filters import SessionFilterForm
from controlplane.sessions.selectors import session_record_get, sessions_list
from controlplane.sessions.serializers import (
    SessionRecordSerializer,
    SessionTerminateInputSerializer,
)
from controlplane.sessions.services import session_terminate

FILTER_PARAMETERS = [
    OpenApiParameter("identity", str, description="a name (substring) or subject"),
    OpenApiParameter("resource", str),
    OpenApiParameter("protocol", str),
    OpenApiParameter("since", str, description="started at or after (ISO 8601)"),
    OpenApiParameter("until", str, description="started before (ISO 8601)"),
    OpenApiParameter("denied", bool, description="had a denial"),
    OpenApiParameter("masked", bool, description="had masked values"),
    OpenApiParameter("live", bool, description="live only"),
]


class SessionListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = PagePagination

    @extend_schema(
        operation_id="sessions_list",
        parameters=FILTER_PARAMETERS,
        responses=SessionRecordSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        form = SessionFilterForm(request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors.get_json_data())
        return paginated_response(
            view=self,
            request=request,
            queryset=sessions_list(request.user, form.filters()),
            serializer_class=SessionRecordSerializer,
        )


class SessionTerminateApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="sessions_terminate",
        request=SessionTerminateInputSerializer,
        responses={202: SessionRecordSerializer},
    )
    def post(self, request: Request, session_id: str) -> Response:
        data = validated_input(SessionTerminateInputSerializer, request.data)
        record = session_record_get(viewer=request.user, session_id=session_id)
        if record is None:
            raise NotFound("no such session")
        record = session_terminate(actor=request.user, record=record, reason=data["reason"])
        return Response(SessionRecordSerializer(record).data, status=status.HTTP_202_ACCEPTED)

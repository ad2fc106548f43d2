"""Tool rule API (administrators write; administrators and auditors read) and the tool-call
hold API (approvers and administrators read and decide; the services check the approver
role of each hold's resource), like the guardrail and statement hold APIs."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.api.inputs import validated_input
from controlplane.api.pagination import PagePagination, paginated_response
from controlplane.mcp_server.holds import tool_call_hold_approve, tool_call_hold_deny
from controlplane.mcp_server.models import ToolCallHold
from controlplane.mcp_server.selectors import (
    tool_call_holds_visible_to,
)
from controlplane.mcp_server.serializers import ToolCallHoldSerializer, ToolRuleSerializer
from controlplane.mcp_server.services import TOOL_RULES
from controlplane.policies.serializers import HoldDecisionInputSerializer
from controlplane.scoped_rules.apis import ScopedRuleDetailApi, ScopedRuleListCreateApi


class ToolRules:
    kind = TOOL_RULES
    serializer = ToolRuleSerializer
    operations = "mcp_tool_rules"


class ToolRuleListCreateApi(ToolRules, ScopedRuleListCreateApi):
    pass


class ToolRuleDetailApi(ToolRules, ScopedRuleDetailApi):
    pass


class ToolCallHoldListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = PagePagination

    @extend_schema(
        operation_id="tool_call_holds_list",
        parameters=[
            OpenApiParameter(
                "status",
                str,
                enum=[*ToolCallHold.Status.values, "all"],
                description="default: pending",
            )
        ],
        responses=ToolCallHoldSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        wanted = request.query_params.get("status", ToolCallHold.Status.PENDING)
        if wanted not in {*ToolCallHold.Status.values, "all"}:
            raise ValidationError({"status": [f"choose from {ToolCallHold.Status.values} or all"]})
        holds = tool_call_holds_visible_to(user=request.user).order_by("-requested_at", "id")
        if wanted != "all":
            holds = holds.filter(status=wanted)
        return paginated_response(
            view=self, request=request, queryset=holds, serializer_class=ToolCallHoldSerializer
        )


class ToolCallHoldApproveApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="tool_call_holds_approve",
        request=HoldDecisionInputSerializer,
        responses=ToolCallHoldSerializer,
    )
    def post(self, request: Request, hold_id: UUID) -> Response:
        return _decide(request, hold_id, tool_call_hold_approve)


class ToolCallHoldDenyApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="tool_call_holds_deny",
        request=HoldDecisionInputSerializer,
        responses=ToolCallHoldSerializer,
    )
    def post(self, request: Request, hold_id: UUID) -> Response:
        return _decide(request, hold_id, tool_call_hold_deny)


def _decide(request: Request, hold_id: UUID, service: Callable[..., ToolCallHold]) -> Response:
    """Parse the comment, call the approve/deny service (which checks the caller's role)
    on a hold the caller may see; anyone else gets 404, as if it did not exist."""
    data = validated_input(HoldDecisionInputSerializer, request.data)
    hold = service(actor=request.user, hold=_hold_or_404(request, hold_id), comment=data["comment"])
    return Response(ToolCallHoldSerializer(_hold_or_404(request, hold.pk)).data)


def _hold_or_404(request: Request, hold_id: UUID) -> ToolCallHold:
    try:
        return tool_call_holds_visible_to(user=request.user).get(pk=hold_id)
    except ToolCallHold.DoesNotExist:
        raise Http404("no such held tool call") from None

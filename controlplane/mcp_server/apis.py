"""Tool rule API (administrators write; administrators and auditors read) and the tool-call
hold API (approvers and administrators read and decide; the services check the approver
role of each hold's resource), like the guardrail and statement hold APIs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.api.inputs import validated_input
from controlplane.api.pagination import PagePagination, paginated_response
from controlplane.identities.permissions import IsAdmin, IsAuditor, IsReadOnly
from controlplane.mcp_server.holds import tool_call_hold_approve, tool_call_hold_deny
from controlplane.mcp_server.models import ToolCallHold, ToolRule
from controlplane.mcp_server.selectors import (
    tool_call_holds_visible_to,
    tool_rule_get,
    tool_rules_list,
)
from controlplane.mcp_server.serializers import ToolCallHoldSerializer, ToolRuleSerializer
from controlplane.mcp_server.services import (
    ToolRuleSpec,
    tool_rule_create,
    tool_rule_delete,
    tool_rule_spec_of,
    tool_rule_update,
)
from controlplane.policies.serializers import HoldDecisionInputSerializer

# Auditors see which tools each identity may call, but change nothing.
READ_OR_ADMIN = IsAdmin | (IsAuditor & IsReadOnly)


class ToolRuleListCreateApi(APIView):
    permission_classes = [READ_OR_ADMIN]
    pagination_class = PagePagination

    @extend_schema(operation_id="mcp_tool_rules_list", responses=ToolRuleSerializer(many=True))
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=tool_rules_list(),
            serializer_class=ToolRuleSerializer,
        )

    @extend_schema(
        operation_id="mcp_tool_rules_create",
        request=ToolRuleSerializer,
        responses={201: ToolRuleSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated_input(ToolRuleSerializer, request.data)
        name = data.pop("name")
        tool_rule_create(actor=request.user, name=name, spec=ToolRuleSpec(**data))
        return Response(_shown(name), status=status.HTTP_201_CREATED)


class ToolRuleDetailApi(APIView):
    permission_classes = [READ_OR_ADMIN]

    @extend_schema(operation_id="mcp_tool_rules_retrieve", responses=ToolRuleSerializer)
    def get(self, request: Request, name: str) -> Response:
        return Response(_shown(name))

    @extend_schema(
        operation_id="mcp_tool_rules_update",
        request=ToolRuleSerializer,
        responses=ToolRuleSerializer,
    )
    def put(self, request: Request, name: str) -> Response:
        rule = _rule_or_404(name)
        data = _renamed_refused(validated_input(ToolRuleSerializer, request.data), name)
        tool_rule_update(actor=request.user, rule=rule, spec=ToolRuleSpec(**data))
        return Response(_shown(name))

    @extend_schema(
        operation_id="mcp_tool_rules_partial_update",
        request=ToolRuleSerializer(partial=True),
        responses=ToolRuleSerializer,
    )
    def patch(self, request: Request, name: str) -> Response:
        rule = _rule_or_404(name)
        data = validated_input(ToolRuleSerializer, request.data, partial=True)
        changes = _renamed_refused(data, name)
        spec = ToolRuleSpec(**{**vars(tool_rule_spec_of(rule)), **changes})
        tool_rule_update(actor=request.user, rule=rule, spec=spec)
        return Response(_shown(name))

    @extend_schema(operation_id="mcp_tool_rules_destroy", responses={204: None})
    def delete(self, request: Request, name: str) -> Response:
        tool_rule_delete(actor=request.user, rule=_rule_or_404(name))
        return Response(status=status.HTTP_204_NO_CONTENT)


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


def _renamed_refused(data: dict[str, Any], name: str) -> dict[str, Any]:
    """The input without its name, which must be the rule's own (audit events know a rule
    by name; a rename is a delete and a create)."""
    given = data.pop("name", name)
    if given != name:
        raise ValidationError({"name": ["a tool rule's name cannot change"]})
    return data


def _shown(name: str) -> dict[str, Any]:
    return dict(ToolRuleSerializer(_rule_or_404(name)).data)


def _rule_or_404(name: str) -> ToolRule:
    try:
        return tool_rule_get(name=name)
    except ToolRule.DoesNotExist:
        raise Http404(f"no tool rule named {name!r}") from None

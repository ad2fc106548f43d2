"""Guardrail policy API (administrators write; administrators and auditors read) and the
statement hold API (approvers and administrators read and decide; the services check the
approver role of each hold's resource)."""

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
from controlplane.guardrails.holds import statement_hold_approve, statement_hold_deny
from controlplane.guardrails.models import StatementHold
from controlplane.guardrails.selectors import (
    statement_holds_visible_to,
)
from controlplane.guardrails.serializers import GuardrailPolicySerializer, StatementHoldSerializer
from controlplane.guardrails.services import GUARDRAIL_POLICIES
from controlplane.policies.serializers import HoldDecisionInputSerializer
from controlplane.scoped_rules.apis import ScopedRuleDetailApi, ScopedRuleListCreateApi


class GuardrailPolicies:
    kind = GUARDRAIL_POLICIES
    serializer = GuardrailPolicySerializer
    operations = "guardrail_policies"


class GuardrailPolicyListCreateApi(GuardrailPolicies, ScopedRuleListCreateApi):
    pass


class GuardrailPolicyDetailApi(GuardrailPolicies, ScopedRuleDetailApi):
    pass


class StatementHoldListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = PagePagination

    @extend_schema(
        operation_id="statement_holds_list",
        parameters=[
            OpenApiParameter(
                "status",
                str,
                enum=[*StatementHold.Status.values, "all"],
                description="default: pending",
            )
        ],
        responses=StatementHoldSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        wanted = request.query_params.get("status", StatementHold.Status.PENDING)
        if wanted not in {*StatementHold.Status.values, "all"}:
            raise ValidationError({"status": [f"choose from {StatementHold.Status.values} or all"]})
        holds = statement_holds_visible_to(user=request.user).order_by("-requested_at", "id")
        if wanted != "all":
            holds = holds.filter(status=wanted)
        return paginated_response(
            view=self, request=request, queryset=holds, serializer_class=StatementHoldSerializer
        )


class StatementHoldApproveApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="statement_holds_approve",
        request=HoldDecisionInputSerializer,
        responses=StatementHoldSerializer,
    )
    def post(self, request: Request, hold_id: UUID) -> Response:
        return _decide(request, hold_id, statement_hold_approve)


class StatementHoldDenyApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="statement_holds_deny",
        request=HoldDecisionInputSerializer,
        responses=StatementHoldSerializer,
    )
    def post(self, request: Request, hold_id: UUID) -> Response:
        return _decide(request, hold_id, statement_hold_deny)


def _decide(request: Request, hold_id: UUID, service: Callable[..., StatementHold]) -> Response:
    """Parse the comment, call the approve/deny service (which checks the caller's role)
    on a hold the caller may see; anyone else gets 404, as if it did not exist."""
    data = validated_input(HoldDecisionInputSerializer, request.data)
    hold = service(actor=request.user, hold=_hold_or_404(request, hold_id), comment=data["comment"])
    return Response(StatementHoldSerializer(_hold_or_404(request, hold.pk)).data)


def _hold_or_404(request: Request, hold_id: UUID) -> StatementHold:
    try:
        return statement_holds_visible_to(user=request.user).get(pk=hold_id)
    except StatementHold.DoesNotExist:
        raise Http404("no such held statement") from None

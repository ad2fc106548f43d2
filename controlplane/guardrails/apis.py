"""Guardrail policy API (administrators write; administrators and auditors read) and the
statement hold API (approvers and administrators read and decide; the services check the
approver role of each hold's resource)."""

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
from controlplane.guardrails.holds import statement_hold_approve, statement_hold_deny
from controlplane.guardrails.models import GuardrailPolicy, StatementHold
from controlplane.guardrails.selectors import (
    guardrail_policies_list,
    guardrail_policy_get,
    statement_holds_visible_to,
)
from controlplane.guardrails.serializers import GuardrailPolicySerializer, StatementHoldSerializer
from controlplane.guardrails.services import (
    GuardrailPolicySpec,
    guardrail_policy_create,
    guardrail_policy_delete,
    guardrail_policy_spec_of,
    guardrail_policy_update,
)
from controlplane.identities.permissions import IsAdmin, IsAuditor, IsReadOnly
from controlplane.policies.serializers import HoldDecisionInputSerializer

# Auditors see which statements each identity may run, but change nothing.
READ_OR_ADMIN = IsAdmin | (IsAuditor & IsReadOnly)


class GuardrailPolicyListCreateApi(APIView):
    permission_classes = [READ_OR_ADMIN]
    pagination_class = PagePagination

    @extend_schema(
        operation_id="guardrail_policies_list", responses=GuardrailPolicySerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=guardrail_policies_list(),
            serializer_class=GuardrailPolicySerializer,
        )

    @extend_schema(
        operation_id="guardrail_policies_create",
        request=GuardrailPolicySerializer,
        responses={201: GuardrailPolicySerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated_input(GuardrailPolicySerializer, request.data)
        name = data.pop("name")
        guardrail_policy_create(actor=request.user, name=name, spec=GuardrailPolicySpec(**data))
        return Response(_shown(name), status=status.HTTP_201_CREATED)


class GuardrailPolicyDetailApi(APIView):
    permission_classes = [READ_OR_ADMIN]

    @extend_schema(operation_id="guardrail_policies_retrieve", responses=GuardrailPolicySerializer)
    def get(self, request: Request, name: str) -> Response:
        return Response(_shown(name))

    @extend_schema(
        operation_id="guardrail_policies_update",
        request=GuardrailPolicySerializer,
        responses=GuardrailPolicySerializer,
    )
    def put(self, request: Request, name: str) -> Response:
        policy = _policy_or_404(name)
        data = _renamed_refused(validated_input(GuardrailPolicySerializer, request.data), name)
        guardrail_policy_update(actor=request.user, policy=policy, spec=GuardrailPolicySpec(**data))
        return Response(_shown(name))

    @extend_schema(
        operation_id="guardrail_policies_partial_update",
        request=GuardrailPolicySerializer(partial=True),
        responses=GuardrailPolicySerializer,
    )
    def patch(self, request: Request, name: str) -> Response:
        policy = _policy_or_404(name)
        data = validated_input(GuardrailPolicySerializer, request.data, partial=True)
        changes = _renamed_refused(data, name)
        spec = GuardrailPolicySpec(**{**vars(guardrail_policy_spec_of(policy)), **changes})
        guardrail_policy_update(actor=request.user, policy=policy, spec=spec)
        return Response(_shown(name))

    @extend_schema(operation_id="guardrail_policies_destroy", responses={204: None})
    def delete(self, request: Request, name: str) -> Response:
        guardrail_policy_delete(actor=request.user, policy=_policy_or_404(name))
        return Response(status=status.HTTP_204_NO_CONTENT)


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


def _renamed_refused(data: dict[str, Any], name: str) -> dict[str, Any]:
    """The input without its name, which must be the policy's own (agents and audit
    events know a policy by name; a rename is a delete and a create)."""
    given = data.pop("name", name)
    if given != name:
        raise ValidationError({"name": ["a guardrail policy's name cannot change"]})
    return data


def _shown(name: str) -> dict[str, Any]:
    return dict(GuardrailPolicySerializer(_policy_or_404(name)).data)


def _policy_or_404(name: str) -> GuardrailPolicy:
    try:
        return guardrail_policy_get(name=name)
    except GuardrailPolicy.DoesNotExist:
        raise Http404(f"no guardrail policy named {name!r}") from None

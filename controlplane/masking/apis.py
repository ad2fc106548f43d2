"""Masking policy API: administrators write; administrators and auditors read."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.api.inputs import validated_input
from controlplane.api.pagination import PagePagination, paginated_response
from controlplane.identities.permissions import IsAdmin, IsAuditor, IsReadOnly
from controlplane.masking.models import MaskingPolicy
from controlplane.masking.selectors import masking_policies_list, masking_policy_get
from controlplane.masking.serializers import MaskingPolicySerializer
from controlplane.masking.services import (
    MaskingPolicySpec,
    masking_policy_create,
    masking_policy_delete,
    masking_policy_spec_of,
    masking_policy_update,
)

# Auditors see which data each identity gets masked, but change nothing.
READ_OR_ADMIN = IsAdmin | (IsAuditor & IsReadOnly)


class MaskingPolicyListCreateApi(APIView):
    permission_classes = [READ_OR_ADMIN]
    pagination_class = PagePagination

    @extend_schema(
        operation_id="masking_policies_list", responses=MaskingPolicySerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=masking_policies_list(),
            serializer_class=MaskingPolicySerializer,
        )

    @extend_schema(
        operation_id="masking_policies_create",
        request=MaskingPolicySerializer,
        responses={201: MaskingPolicySerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated_input(MaskingPolicySerializer, request.data)
        name = data.pop("name")
        masking_policy_create(actor=request.user, name=name, spec=MaskingPolicySpec(**data))
        return Response(_shown(name), status=status.HTTP_201_CREATED)


class MaskingPolicyDetailApi(APIView):
    permission_classes = [READ_OR_ADMIN]

    @extend_schema(operation_id="masking_policies_retrieve", responses=MaskingPolicySerializer)
    def get(self, request: Request, name: str) -> Response:
        return Response(_shown(name))

    @extend_schema(
        operation_id="masking_policies_update",
        request=MaskingPolicySerializer,
        responses=MaskingPolicySerializer,
    )
    def put(self, request: Request, name: str) -> Response:
        policy = _policy_or_404(name)
        data = _renamed_refused(validated_input(MaskingPolicySerializer, request.data), name)
        masking_policy_update(actor=request.user, policy=policy, spec=MaskingPolicySpec(**data))
        return Response(_shown(name))

    @extend_schema(
        operation_id="masking_policies_partial_update",
        request=MaskingPolicySerializer(partial=True),
        responses=MaskingPolicySerializer,
    )
    def patch(self, request: Request, name: str) -> Response:
        policy = _policy_or_404(name)
        data = validated_input(MaskingPolicySerializer, request.data, partial=True)
        changes = _renamed_refused(data, name)
        spec = MaskingPolicySpec(**{**vars(masking_policy_spec_of(policy)), **changes})
        masking_policy_update(actor=request.user, policy=policy, spec=spec)
        return Response(_shown(name))

    @extend_schema(operation_id="masking_policies_destroy", responses={204: None})
    def delete(self, request: Request, name: str) -> Response:
        masking_policy_delete(actor=request.user, policy=_policy_or_404(name))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _renamed_refused(data: dict[str, Any], name: str) -> dict[str, Any]:
    """The input without its name, which must be the policy's own (agents and audit
    events know a policy by name; a rename is a delete and a create)."""
    given = data.pop("name", name)
    if given != name:
        raise ValidationError({"name": ["a masking policy's name cannot change"]})
    return data


def _shown(name: str) -> dict[str, Any]:
    return dict(MaskingPolicySerializer(_policy_or_404(name)).data)


def _policy_or_404(name: str) -> MaskingPolicy:
    try:
        return masking_policy_get(name=name)
    except MaskingPolicy.DoesNotExist:
        raise Http404(f"no masking policy named {name!r}") from None

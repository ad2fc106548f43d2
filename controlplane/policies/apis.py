"""Policy API: administrators read and replace the policy of a resource."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.api.inputs import validated_input
from controlplane.identities.permissions import IsAdmin
from controlplane.policies.selectors import policy_for
from controlplane.policies.serializers import PolicySerializer
from controlplane.policies.services import AutoApprovalRuleSpec, PolicySpec, policy_set
from controlplane.resources.models import Resource
from controlplane.resources.selectors import resource_get


class ResourcePolicyApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(operation_id="resources_policy_retrieve", responses=PolicySerializer)
    def get(self, request: Request, name: str) -> Response:
        policy = policy_for(resource=_resource_or_404(name))
        if policy is None:
            raise Http404(f"{name} has no policy")
        return Response(PolicySerializer(policy).data)

    @extend_schema(
        operation_id="resources_policy_update",
        request=PolicySerializer,
        responses={200: PolicySerializer, 201: PolicySerializer},
    )
    def put(self, request: Request, name: str) -> Response:
        resource = _resource_or_404(name)
        data = validated_input(PolicySerializer, request.data)
        policy, created = policy_set(actor=request.user, resource=resource, spec=policy_spec(data))
        policy = policy_for(resource=resource)
        return Response(
            PolicySerializer(policy).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def policy_spec(data: dict[str, Any]) -> PolicySpec:
    """A PolicySpec from validated PolicySerializer data."""
    return PolicySpec(
        max_duration=timedelta(seconds=data["max_duration_seconds"]),
        requester_groups=data["requester_groups"],
        requester_service_accounts=data["requester_service_accounts"],
        approver_groups=data["approver_groups"],
        min_approvals=data["min_approvals"],
        access_levels=data["access_levels"],
        default_access_level=data["default_access_level"],
        auto_approvals=[
            AutoApprovalRuleSpec(
                max_duration=timedelta(seconds=rule["max_duration_seconds"]),
                group=rule["group"],
                service_account=rule["service_account"],
                access_level=rule["access_level"],
                only_during_incident=rule["only_during_incident"],
                scope=rule["scope"],
            )
            for rule in data["auto_approvals"]
        ],
    )


def _resource_or_404(name: str) -> Resource:
    try:
        return resource_get(name=name)
    except Resource.DoesNotExist:
        raise Http404(f"no resource named {name!r}") from None

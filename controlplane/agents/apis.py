"""Agents API: the registry of data-plane agents."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.agents import serializers
from controlplane.agents.selectors import agents_list
from controlplane.agents.services import agent_register
from controlplane.api.inputs import validated_input
from controlplane.api.pagination import PagePagination, paginated_response
from controlplane.identities.permissions import IsAdmin


class AgentListCreateApi(APIView):
    permission_classes = [IsAdmin]
    pagination_class = PagePagination

    @extend_schema(
        operation_id="agents_list", responses=serializers.AgentOutputSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=agents_list(),
            serializer_class=serializers.AgentOutputSerializer,
        )

    @extend_schema(
        operation_id="agents_create",
        request=serializers.AgentInputSerializer,
        responses={201: serializers.AgentCreatedSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated_input(serializers.AgentInputSerializer, request.data)
        issued = agent_register(actor=request.user, name=data["name"])
        body = {**serializers.AgentOutputSerializer(issued.agent).data, "token": issued.token}
        return Response(body, status=status.HTTP_201_CREATED)

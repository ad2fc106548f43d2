"""Agents API: the registry of data-plane agents."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.agents import serializers
from controlplane.agents.models import Agent
from controlplane.agents.selectors import agent_get, agents_list
from controlplane.agents.services import agent_register, agent_token_revoke, agent_token_rotate
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


class AgentTokenRotateApi(APIView):
    """Issue the agent a new token (shown once); the old one is refused at once."""

    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="agents_token_rotate",
        request=None,
        responses={201: serializers.AgentCreatedSerializer},
    )
    def post(self, request: Request, name: str) -> Response:
        issued = agent_token_rotate(actor=request.user, agent=_agent(name))
        body = {**serializers.AgentOutputSerializer(issued.agent).data, "token": issued.token}
        return Response(body, status=status.HTTP_201_CREATED)


class AgentTokenRevokeApi(APIView):
    """Revoke the agent's token: refused at once, a connected agent is disconnected."""

    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="agents_token_revoke",
        request=None,
        responses=serializers.AgentOutputSerializer,
    )
    def post(self, request: Request, name: str) -> Response:
        agent = agent_token_revoke(actor=request.user, agent=_agent(name))
        return Response(serializers.AgentOutputSerializer(agent).data)


def _agent(name: str) -> Agent:
    try:
        return agent_get(name=name)
    except Agent.DoesNotExist:
        raise Http404(f"no agent named {name!r}") from None

"""Resources API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.api.inputs import validated_input
from controlplane.api.pagination import PagePagination, paginated_response
from controlplane.identities.permissions import IsAdmin
from controlplane.resources.models import Resource
from controlplane.resources.selectors import resource_get, resources_list
from controlplane.resources.serializers import ResourceSerializer
from controlplane.resources.services import resource_create, resource_update


class ResourceListCreateApi(APIView):
    permission_classes = [IsAdmin]
    pagination_class = PagePagination

    @extend_schema(operation_id="resources_list", responses=ResourceSerializer(many=True))
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=resources_list(),
            serializer_class=ResourceSerializer,
        )

    @extend_schema(
        operation_id="resources_create",
        request=ResourceSerializer,
        responses={201: ResourceSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated_input(ResourceSerializer, request.data)
        with _errors_named_as_in_the_api():
            resource = resource_create(actor=request.user, **data)
        return Response(ResourceSerializer(resource).data, status=status.HTTP_201_CREATED)


class ResourceDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(operation_id="resources_retrieve", responses=ResourceSerializer)
    def get(self, request: Request, name: str) -> Response:
        return Response(ResourceSerializer(_resource_or_404(name)).data)

    @extend_schema(
        operation_id="resources_partial_update",
        request=ResourceSerializer(partial=True),
        responses=ResourceSerializer,
    )
    def patch(self, request: Request, name: str) -> Response:
        data = validated_input(ResourceSerializer, request.data, partial=True)
        resource = _resource_or_404(name)
        with _errors_named_as_in_the_api():
            resource = resource_update(actor=request.user, resource=resource, data=data)
        return Response(ResourceSerializer(resource).data)


def _resource_or_404(name: str) -> Resource:
    try:
        return resource_get(name=name)
    except Resource.DoesNotExist:
        raise Http404(f"no resource named {name!r}") from None


@contextmanager
def _errors_named_as_in_the_api() -> Iterator[None]:
    """The model calls the settings ``http_settings``; the API calls them ``http``, and a
    400 should name the field the client sent."""
    try:
        yield
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict") and "http_settings" in exc.error_dict:
            exc.error_dict["http"] = exc.error_dict.pop("http_settings")
        raise

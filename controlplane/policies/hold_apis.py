"""The API every kind of held work has (held statements, held tool calls): approvers and
administrators list what they may see and decide it; the services check the approver role
of each hold's resource. A kind's views subclass these and name its serializer, its
selector of visible holds, the decision service and the OpenAPI operation prefix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from uuid import UUID

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.inputs import validated_input
from controlplane.api.pagination import PagePagination, paginated_response
from controlplane.api.schemas import KindApi
from controlplane.policies.models import HoldStatus
from controlplane.policies.serializers import HoldDecisionInputSerializer, HoldSerializer

ANY_STATUS = "all"


class HoldApi(KindApi):
    """What a kind's hold views share (``<operations>_list``, ...)."""

    permission_classes = [IsAuthenticated]
    serializer: ClassVar[type[HoldSerializer]]
    # The holds of any status a user may read (``policies.selectors.holds_visible_to``).
    visible_to: ClassVar[Callable[..., QuerySet[Any]]]
    operations: ClassVar[str]  # "statement_holds"
    noun: ClassVar[str]  # "held statement"

    def hold_or_404(self, request: Request, hold_id: object) -> Any:
        """A hold the caller may see; anyone else gets 404, as if it did not exist."""
        try:
            return type(self).visible_to(user=request.user).get(pk=hold_id)
        except self.serializer.Meta.model.DoesNotExist:
            raise Http404(f"no such {self.noun}") from None


class HoldListApi(HoldApi):
    pagination_class = PagePagination

    @classmethod
    def schemas(cls) -> dict[str, Any]:
        status = OpenApiParameter(
            "status", str, enum=[*HoldStatus.values, ANY_STATUS], description="default: pending"
        )
        return {
            "get": extend_schema(
                operation_id=f"{cls.operations}_list",
                parameters=[status],
                responses=cls.serializer(many=True),
            )
        }

    def get(self, request: Request) -> Response:
        wanted = request.query_params.get("status", HoldStatus.PENDING)
        if wanted not in {*HoldStatus.values, ANY_STATUS}:
            raise ValidationError({"status": [f"choose from {HoldStatus.values} or all"]})
        holds = type(self).visible_to(user=request.user).order_by("-requested_at", "id")
        if wanted != ANY_STATUS:
            holds = holds.filter(status=wanted)
        return paginated_response(
            view=self, request=request, queryset=holds, serializer_class=self.serializer
        )


class HoldDecisionApi(HoldApi):
    """Approve or deny (``decision``) with an optional comment, through ``decide``."""

    decision: ClassVar[str]  # "approve" or "deny": the operation's suffix
    decide: ClassVar[Callable[..., Any]]  # the kind's approve or deny service

    @classmethod
    def schemas(cls) -> dict[str, Any]:
        operation = f"{cls.operations}_{cls.decision}"
        return {
            "post": extend_schema(
                operation_id=operation,
                request=HoldDecisionInputSerializer,
                responses=cls.serializer,
            )
        }

    def post(self, request: Request, hold_id: UUID) -> Response:
        """Parse the comment and call the service, which checks the caller's role."""
        data = validated_input(HoldDecisionInputSerializer, request.data)
        hold = self.hold_or_404(request, hold_id)
        type(self).decide(actor=request.user, hold=hold, comment=data["comment"])
        return Response(self.serializer(self.hold_or_404(request, hold.pk)).data)

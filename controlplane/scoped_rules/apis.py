"""The CRUD API every kind of scoped rule has: administrators write; administrators and
auditors read (auditors see who each rule reaches, but change nothing). A kind's views
subclass these and name the kind, its serializer and its OpenAPI operation prefix."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from controlplane.api.inputs import validated_input
from controlplane.api.pagination import PagePagination, paginated_response
from controlplane.api.schemas import KindApi
from controlplane.identities.permissions import IsAdmin, IsAuditor, IsReadOnly
from controlplane.scoped_rules.resolution import scoped_rules_list
from controlplane.scoped_rules.serializers import ScopedRuleSerializer
from controlplane.scoped_rules.services import (
    ScopedRuleKind,
    scoped_rule_create,
    scoped_rule_delete,
    scoped_rule_spec_of,
    scoped_rule_update,
)

READ_OR_ADMIN = IsAdmin | (IsAuditor & IsReadOnly)


class ScopedRuleApi(KindApi):
    """What a kind's list and detail views share (``<operations>_list``, ...)."""

    permission_classes = [READ_OR_ADMIN]
    kind: ClassVar[ScopedRuleKind]
    serializer: ClassVar[type[ScopedRuleSerializer]]
    operations: ClassVar[str]

    def shown(self, name: str) -> dict[str, Any]:
        return dict(self.serializer(self.rule_or_404(name)).data)

    def rule_or_404(self, name: str) -> Any:
        try:
            return scoped_rules_list(self.kind.model).get(name=name)
        except self.kind.model.DoesNotExist:
            raise Http404(f"no {self.kind.noun} named {name!r}") from None


class ScopedRuleListCreateApi(ScopedRuleApi):
    pagination_class = PagePagination

    @classmethod
    def schemas(cls) -> dict[str, Any]:
        rule, prefix = cls.serializer, cls.operations
        return {
            "get": extend_schema(operation_id=f"{prefix}_list", responses=rule(many=True)),
            "post": extend_schema(
                operation_id=f"{prefix}_create", request=rule, responses={201: rule}
            ),
        }

    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=scoped_rules_list(self.kind.model),
            serializer_class=self.serializer,
        )

    def post(self, request: Request) -> Response:
        data = validated_input(self.serializer, request.data)
        name = data.pop("name")
        spec = self.kind.spec(**data)
        scoped_rule_create(kind=self.kind, actor=request.user, name=name, spec=spec)
        return Response(self.shown(name), status=status.HTTP_201_CREATED)


class ScopedRuleDetailApi(ScopedRuleApi):
    @classmethod
    def schemas(cls) -> dict[str, Any]:
        rule, prefix = cls.serializer, cls.operations
        return {
            "get": extend_schema(operation_id=f"{prefix}_retrieve", responses=rule),
            "put": extend_schema(operation_id=f"{prefix}_update", request=rule, responses=rule),
            "patch": extend_schema(
                operation_id=f"{prefix}_partial_update",
                request=rule(partial=True),
                responses=rule,
            ),
            "delete": extend_schema(operation_id=f"{prefix}_destroy", responses={204: None}),
        }

    def get(self, request: Request, name: str) -> Response:
        return Response(self.shown(name))

    def put(self, request: Request, name: str) -> Response:
        rule = self.rule_or_404(name)
        data = self._renamed_refused(validated_input(self.serializer, request.data), name)
        self._update(request, rule, self.kind.spec(**data))
        return Response(self.shown(name))

    def patch(self, request: Request, name: str) -> Response:
        rule = self.rule_or_404(name)
        data = validated_input(self.serializer, request.data, partial=True)
        changes = self._renamed_refused(data, name)
        stored = vars(scoped_rule_spec_of(kind=self.kind, rule=rule))
        self._update(request, rule, self.kind.spec(**{**stored, **changes}))
        return Response(self.shown(name))

    def delete(self, request: Request, name: str) -> Response:
        scoped_rule_delete(kind=self.kind, actor=request.user, rule=self.rule_or_404(name))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _update(self, request: Request, rule: Any, spec: Any) -> None:
        scoped_rule_update(kind=self.kind, actor=request.user, rule=rule, spec=spec)

    def _renamed_refused(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        """The input without its name, which must be the rule's own (agents and audit
        events know a rule by name; a rename is a delete and a create)."""
        given = data.pop("name", name)
        if given != name:
            raise ValidationError({"name": [f"a {self.kind.noun}'s name cannot change"]})
        return data

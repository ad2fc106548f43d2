"""Audit API: read-only, for auditors and administrators: events, signed checkpoints,
inclusion and consistency proofs (base64 hashes, RFC 9162 order), and the log's keys."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.api.inputs import validated_input
from controlplane.api.pagination import NewestFirstCursorPagination, paginated_response
from controlplane.audit.log import (
    ProofUnavailable,
    audit_gaps_list,
    checkpoint_at,
    checkpoint_latest,
    checkpoint_note,
    consistency_proof_build,
    inclusion_proof_build,
    leaf_at,
    log_keys_list,
)
from controlplane.audit.selectors import audit_events_list
from controlplane.audit.serializers import (
    AgentSeqGapSerializer,
    AuditEventSerializer,
    AuditFilterSerializer,
    CheckpointQuerySerializer,
    ConsistencyProofQuerySerializer,
    ConsistencyProofSerializer,
    GapQuerySerializer,
    InclusionProofQuerySerializer,
    InclusionProofSerializer,
    LogKeysSerializer,
)
from controlplane.identities.permissions import IsAdmin, IsAuditor
from ledger import merkle

# C2SP signed notes are served as UTF-8 text (the em dash in signature lines is not ASCII).
NOTE_CONTENT_TYPE = "text/plain; charset=utf-8"


class AuditEventListApi(APIView):
    permission_classes = [IsAdmin | IsAuditor]
    pagination_class = NewestFirstCursorPagination

    @extend_schema(
        operation_id="audit_events_list",
        parameters=[AuditFilterSerializer],
        responses=AuditEventSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = validated_input(AuditFilterSerializer, request.query_params)
        return paginated_response(
            view=self,
            request=request,
            queryset=audit_events_list(filters=filters),
            serializer_class=AuditEventSerializer,
        )


class AuditCheckpointApi(APIView):
    """The latest signed checkpoint (or the one at ``size``) as a C2SP signed note, with the
    witnesses' cosignatures appended."""

    permission_classes = [IsAdmin | IsAuditor]

    @extend_schema(
        operation_id="audit_checkpoint",
        parameters=[CheckpointQuerySerializer],
        responses={(200, "text/plain"): OpenApiTypes.STR},
    )
    def get(self, request: Request) -> HttpResponse:
        size = validated_input(CheckpointQuerySerializer, request.query_params).get("size")
        checkpoint = checkpoint_latest() if size is None else checkpoint_at(size=size)
        if checkpoint is None:
            raise NotFound("no checkpoint has been signed" + (f" at size {size}" if size else ""))
        return HttpResponse(checkpoint_note(checkpoint), content_type=NOTE_CONTENT_TYPE)


class AuditInclusionProofApi(APIView):
    permission_classes = [IsAdmin | IsAuditor]

    @extend_schema(
        operation_id="audit_proof_inclusion",
        parameters=[InclusionProofQuerySerializer],
        responses=InclusionProofSerializer,
    )
    def get(self, request: Request) -> Response:
        query = validated_input(InclusionProofQuerySerializer, request.query_params)
        size = query.get("size") or _latest_size()
        hashes = _proof_or_400(inclusion_proof_build, seq=query["seq"], size=size)
        leaf_text = leaf_at(seq=query["seq"])  # exists: the proof checked seq < size <= tree
        leaf = leaf_text.encode("utf-8")
        return Response(
            {
                "seq": query["seq"],
                "size": size,
                "leaf": leaf_text,
                "leaf_hash": _b64(merkle.leaf_hash(leaf)),
                "hashes": [_b64(node) for node in hashes],
            }
        )


class AuditConsistencyProofApi(APIView):
    permission_classes = [IsAdmin | IsAuditor]

    @extend_schema(
        operation_id="audit_proof_consistency",
        parameters=[ConsistencyProofQuerySerializer],
        responses=ConsistencyProofSerializer,
    )
    def get(self, request: Request) -> Response:
        query = validated_input(ConsistencyProofQuerySerializer, request.query_params)
        new = query["new"] if query.get("new") is not None else _latest_size()
        hashes = _proof_or_400(consistency_proof_build, old=query["old"], new=new)
        return Response({"old": query["old"], "new": new, "hashes": [_b64(h) for h in hashes]})


class AuditKeysApi(APIView):
    """Every public key that signs or signed checkpoints, and the witnesses' keys."""

    permission_classes = [IsAdmin | IsAuditor]

    @extend_schema(operation_id="audit_keys", responses=LogKeysSerializer)
    def get(self, request: Request) -> Response:
        keys = [dataclasses.asdict(key) for key in log_keys_list()]
        return Response(
            LogKeysSerializer({"origin": settings.GATEHOUSE_LOG.origin, "keys": keys}).data
        )


class AuditGapsApi(APIView):
    """Agent seqs the control plane never received, as recorded when it noticed them."""

    permission_classes = [IsAdmin | IsAuditor]

    @extend_schema(
        operation_id="audit_gaps",
        parameters=[GapQuerySerializer],
        responses=AgentSeqGapSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = validated_input(GapQuerySerializer, request.query_params)
        gaps = audit_gaps_list(agent_name=query.get("agent"))
        return Response(AgentSeqGapSerializer(gaps, many=True).data)


def _latest_size() -> int:
    checkpoint = checkpoint_latest()
    if checkpoint is None:
        raise NotFound("no checkpoint has been signed yet")
    return checkpoint.size


def _proof_or_400(build: Callable[..., list[bytes]], **sizes: int) -> list[bytes]:
    try:
        return build(**sizes)
    except ProofUnavailable as exc:
        raise ValidationError({"detail": [str(exc)]}) from None


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")

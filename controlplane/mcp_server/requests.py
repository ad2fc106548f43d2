"""The ``request_access`` tool's work: ask for access to a resource, then wait (bounded) for
the decision, so an agent can ask and carry on in one call when a policy approves at once
or an approver is quick."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from channels.db import database_sync_to_async as db
from django.core.exceptions import PermissionDenied, ValidationError

from controlplane.access.models import AccessRequest, Grant
from controlplane.access.selectors import grants_active_for
from controlplane.access.services import access_request_create
from controlplane.cli import validation_message
from controlplane.mcp_server.calls import ToolCall, ToolRefused, ToolResult

REQUEST_POLL_SECONDS = 1.0
MAX_WAIT_SECONDS = 300
# What the waiting caller is told for each state of its request.
ANSWERS = {
    AccessRequest.Status.APPROVED: "granted",
    AccessRequest.Status.DENIED: "denied",
    AccessRequest.Status.EXPIRED: "expired",
    AccessRequest.Status.WITHDRAWN: "withdrawn",
    AccessRequest.Status.PENDING: "pending",
}


async def access_request_and_wait(
    call: ToolCall, *, reason: str, duration: timedelta, wait_seconds: int
) -> ToolResult:
    """A grant the caller already holds answers at once; otherwise create the access
    request and poll it every second for up to ``wait_seconds`` (at most 300)."""
    resource, identity = call.resource, call.caller.identity
    assert resource is not None  # the tool resolved it
    held = await db(_grant_held)(identity=identity, resource=resource)
    if held is not None:
        return ToolResult(payload={"status": "granted", "request_id": None, **_grant(held)})
    request = await db(_request_create)(
        actor=identity, resource=resource, duration=duration, reason=reason
    )
    request = await _decided(request, min(max(wait_seconds, 0), MAX_WAIT_SECONDS))
    answer = ANSWERS[AccessRequest.Status(request.status)]
    payload: dict[str, Any] = {"status": answer, "request_id": str(request.pk)}
    grant = await db(_grant_of)(request)
    if grant is not None:
        payload.update(_grant(grant))
    if answer == "pending":
        payload["hint"] = "an approver has not decided yet: call request_access again later"
    return ToolResult(payload=payload, audit={"access_request": str(request.pk), "answer": answer})


def _request_create(**kwargs: Any) -> AccessRequest:
    try:
        return access_request_create(**kwargs)
    except PermissionDenied as exc:
        raise ToolRefused("not_allowed", str(exc) or "you may not request this resource") from None
    except ValidationError as exc:
        raise ToolRefused("invalid_request", validation_message(exc)) from None


async def _decided(request: AccessRequest, wait_seconds: int) -> AccessRequest:
    deadline = time.monotonic() + wait_seconds
    while request.status == AccessRequest.Status.PENDING and time.monotonic() < deadline:
        await asyncio.sleep(REQUEST_POLL_SECONDS)
        request = await db(AccessRequest.objects.get)(pk=request.pk)
    return request


def _grant_held(*, identity: Any, resource: Any) -> Grant | None:
    return grants_active_for(identity=identity, resource=resource).order_by("-expires_at").first()


def _grant_of(request: AccessRequest) -> Grant | None:
    return Grant.objects.filter(request=request).first()


def _grant(grant: Grant) -> dict[str, Any]:
    return {
        "grant": {
            "id": str(grant.pk),
            "expires_at": grant.expires_at.isoformat(),
            "access_level": grant.access_level,
            "scope": grant.scope,
        }
    }

"""Webhook messages about access requests: Slack-compatible ``text`` and ``blocks``, and a
``gatehouse`` object with ids. Built inside the deciding service's transaction and sent
after it commits. Messages carry names, ids and the requester's reason; never secrets."""

from __future__ import annotations

from typing import Any

from controlplane.access.models import AccessRequest
from controlplane.identities.models import User

MESSAGE_FORMAT = 1


def access_request_message(
    *,
    request: AccessRequest,
    event: str,
    actor: User | None,
    comment: str = "",
    grant_id: str | None = None,
) -> dict[str, Any]:
    """The webhook message announcing ``event`` on ``request``."""
    text = _text(request=request, event=event, actor=actor, comment=comment)
    context = f"request `{request.pk}` · status *{request.status}*"
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
        "gatehouse": {
            "format": MESSAGE_FORMAT,
            "event": f"access_request.{event}",
            "request_id": str(request.pk),
            "status": request.status,
            "resource": request.resource.name,
            "requester": request.requester.get_username(),
            "requester_id": str(request.requester_id),
            "access_level": request.access_level,
            "duration_seconds": request.duration_seconds,
            "actor": actor.get_username() if actor else "system",
            "comment": comment,
            "grant_id": grant_id,
        },
    }


def _text(*, request: AccessRequest, event: str, actor: User | None, comment: str) -> str:
    who = _escape(request.requester.get_username())
    what = f"*{_escape(request.resource.name)}*"
    if request.access_level:
        what += f" ({_escape(request.access_level)})"
    minutes = max(1, request.duration_seconds // 60)
    by = _escape(actor.get_username()) if actor else "an auto-approval rule"
    lines = {
        "created": f"{who} requests {what} for {minutes} min: {_escape(request.reason)}",
        "approval_added": f"{who}'s request for {what} was approved by {by}",
        "approved": f"{who} was granted {what} for {minutes} min (approved by {by})",
        "denied": f"{who}'s request for {what} was denied by {by}",
        "withdrawn": f"{who} withdrew the request for {what}",
        "expired": f"{who}'s request for {what} expired undecided",
    }
    line = lines[event]
    return f"{line} — “{_escape(comment)}”" if comment else line


def _escape(text: str) -> str:
    """Slack's mrkdwn escapes: a reason cannot ping @channel or forge a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

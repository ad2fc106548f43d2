"""Webhook messages about tool-call holds, in the access requests' format (Slack-compatible
``text`` and ``blocks`` plus a ``gatehouse`` object). A message names the identity, the
tool, the resource and the rule, never the arguments: they may carry personal data, and
approvers read them in the console, where only they can."""

from __future__ import annotations

from typing import Any

from controlplane.access.notifications import MESSAGE_FORMAT
from controlplane.identities.models import User
from controlplane.mcp_server.models import ToolCallHold


def tool_call_hold_message(*, hold: ToolCallHold, event: str, actor: User | None) -> dict[str, Any]:
    """The webhook message announcing ``event`` (held, approved, denied, expired)."""
    text = _text(hold=hold, event=event, actor=actor)
    context = f"tool-call hold `{hold.pk}` · status *{hold.status}*"
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
        "gatehouse": {
            "format": MESSAGE_FORMAT,
            "event": f"tool_call_hold.{event}",
            "hold_id": str(hold.pk),
            "status": hold.status,
            "tool": hold.tool,
            "resource": hold.resource.name if hold.resource is not None else "",
            "identity": hold.identity.get_username(),
            "identity_id": str(hold.identity_id),
            "rule": hold.rule,
            "expires_at": hold.expires_at.isoformat(),
            "actor": actor.get_username() if actor else "system",
        },
    }


def _text(*, hold: ToolCallHold, event: str, actor: User | None) -> str:
    who = _escape(hold.identity.get_username())
    tool = f"`{_escape(hold.tool)}`"
    where = f" on *{_escape(hold.resource.name)}*" if hold.resource is not None else ""
    by = _escape(actor.get_username()) if actor else "nobody"
    lines = {
        "held": f"{who}'s {tool} call{where} waits for approval (tool rule {_escape(hold.rule)})",
        "approved": f"{who}'s held {tool} call{where} was approved by {by}",
        "denied": f"{who}'s held {tool} call{where} was denied by {by}",
        "expired": f"{who}'s held {tool} call{where} expired undecided",
    }
    return lines[event]


def _escape(text: str) -> str:
    """Slack's mrkdwn escapes: a name cannot ping @channel or forge a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""Webhook messages about statement holds, in the access requests' format (Slack-compatible
``text`` and ``blocks`` plus a ``gatehouse`` object). A message names the identity, the
resource and the rule, never the statement: its text may carry personal data, and approvers
read it in the console, where only they can."""

from __future__ import annotations

from typing import Any

from controlplane.access.notifications import MESSAGE_FORMAT
from controlplane.guardrails.models import StatementHold
from controlplane.identities.models import User


def statement_hold_message(
    *, hold: StatementHold, event: str, actor: User | None
) -> dict[str, Any]:
    """The webhook message announcing ``event`` (held, approved, denied, expired)."""
    text = _text(hold=hold, event=event, actor=actor)
    context = f"hold `{hold.pk}` · status *{hold.status}*"
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
        "gatehouse": {
            "format": MESSAGE_FORMAT,
            "event": f"statement_hold.{event}",
            "hold_id": str(hold.pk),
            "status": hold.status,
            "resource": hold.resource.name,
            "identity": hold.identity.get_username(),
            "identity_id": str(hold.identity_id),
            "rule": hold.rule,
            "expires_at": hold.expires_at.isoformat(),
            "actor": actor.get_username() if actor else "system",
        },
    }


def _text(*, hold: StatementHold, event: str, actor: User | None) -> str:
    who = _escape(hold.identity.get_username())
    where = f"*{_escape(hold.resource.name)}*"
    by = _escape(actor.get_username()) if actor else "nobody"
    rule = _escape(hold.rule)
    lines = {
        "held": f"{who}'s statement on {where} waits for approval (guardrail {rule})",
        "approved": f"{who}'s held statement on {where} was approved by {by}",
        "denied": f"{who}'s held statement on {where} was denied by {by}",
        "expired": f"{who}'s held statement on {where} expired undecided",
    }
    return lines[event]


def _escape(text: str) -> str:
    """Slack's mrkdwn escapes: a name cannot ping @channel or forge a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""Periodic Celery tasks: each calls services and returns what they did."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connection

from controlplane.access.services import access_requests_expire, grants_expire
from controlplane.audit.checkpoints import checkpoint_sign
from controlplane.audit.models import Checkpoint
from controlplane.audit.witnesses import witnesses_submit
from controlplane.guardrails.holds import statement_holds_expire
from controlplane.jobs.app import app
from controlplane.mcp_server.holds import tool_call_holds_expire

logger = logging.getLogger(__name__)


@app.task(name="controlplane.jobs.tasks.housekeeping")
def housekeeping() -> dict[str, int]:
    """Expire stale access requests and record the end of expired grants (idempotent)."""
    return {"requests_expired": access_requests_expire(), "grants_ended": grants_expire()}


@app.task(name="controlplane.jobs.tasks.statement_holds_expire")
def statement_holds_expire_task() -> int:
    """Expire held statements nobody decided in time and tell their agents (beat: every
    5 s; idempotent). The agent's own timer also ends the wait; this keeps the console and
    the audit log true. Returns how many it expired."""
    return statement_holds_expire()


@app.task(name="controlplane.jobs.tasks.tool_call_holds_expire")
def tool_call_holds_expire_task() -> int:
    """Expire held MCP tool calls nobody decided in time (beat: every 5 s; idempotent). The
    waiting call expires its own hold at its deadline; this catches calls whose process
    went away. Returns how many it expired."""
    return tool_call_holds_expire()


@app.task(name="controlplane.jobs.tasks.log_checkpoint")
def log_checkpoint() -> int | None:
    """Sign a checkpoint of the audit log if one is due (beat: every second; idempotent and
    safe on several workers). Returns the signed tree size, or None."""
    checkpoint = checkpoint_sign()
    return checkpoint.size if checkpoint else None


@app.task(name="controlplane.jobs.tasks.witnesses_submit")
def witnesses_submit_task(checkpoint_id: int) -> int:
    """Send one checkpoint to the configured witnesses; returns how many cosigned."""
    return witnesses_submit(checkpoint=Checkpoint.objects.get(pk=checkpoint_id))


def witnesses_submit_enqueue(*, checkpoint_id: int) -> None:
    """Hand a fresh checkpoint to the witnesses without waiting for them: a worker with a
    broker, else a short-lived thread (a slow or dead witness never holds up signing)."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        witnesses_submit_task.delay(checkpoint_id)
        return
    threading.Thread(
        target=_witnesses_submit_thread, args=(checkpoint_id,), name="witnesses", daemon=True
    ).start()


def _witnesses_submit_thread(checkpoint_id: int) -> None:
    try:
        witnesses_submit_task.apply(args=(checkpoint_id,))
    finally:
        connection.close()  # this thread's own connection, opened by the task


def log_checkpoint_enqueue() -> None:
    """Ask for a checkpoint now (the log just passed another GATEHOUSE_LOG_CHECKPOINT_ENTRIES
    entries), not at the next beat. On embedded defaults the signer loop beside the server
    polls often enough by itself."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    try:
        log_checkpoint.delay()
    except Exception:  # a broker outage must not fail ingestion; beat signs within a second
        logger.exception("checkpoint request not queued")

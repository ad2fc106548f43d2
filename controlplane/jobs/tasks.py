"""Periodic Celery tasks: each calls services and returns what they did."""

from __future__ import annotations

from controlplane.access.services import access_requests_expire, grants_expire
from controlplane.jobs.app import app


@app.task(name="controlplane.jobs.tasks.housekeeping")
def housekeeping() -> dict[str, int]:
    """Expire stale access requests and record the end of expired grants (idempotent)."""
    return {"requests_expired": access_requests_expire(), "grants_ended": grants_expire()}

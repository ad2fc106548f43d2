"""Rebuild the session index from the agents' audit events (after a restore, or to check
that the index agrees with the log)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from controlplane.sessions.projection import session_records_rebuild


class Command(BaseCommand):
    help = "Rebuild the session index (SessionRecord) from the audit log's agent events."

    def handle(self, *args: Any, **options: Any) -> None:
        count = session_records_rebuild()
        self.stdout.write(f"session index rebuilt: {count} session(s)")

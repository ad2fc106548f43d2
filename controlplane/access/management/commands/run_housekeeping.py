"""``manage.py run_housekeeping [--interval SECONDS] [--once]``"""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from controlplane.jobs.tasks import (
    housekeeping,
    statement_holds_expire_task,
    tool_call_holds_expire_task,
)


class Command(BaseCommand):
    help = (
        "Expire undecided access requests, held statements and held tool calls, and record "
        "ended grants, every --interval seconds (Celery beat's tasks, for setups without "
        "beat; safe to run beside it)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=30.0, metavar="SECONDS")
        parser.add_argument("--once", action="store_true", help="one pass, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            done = housekeeping_pass()
            if any(done.values()):
                self.stderr.write(", ".join(f"{what}: {count}" for what, count in done.items()))
            if options["once"]:
                return
            time.sleep(options["interval"])


def housekeeping_pass() -> dict[str, int]:
    """One run of each of beat's housekeeping tasks (called in this process, not queued):
    what each did, by name."""
    return {
        **housekeeping(),
        "statement_holds_expired": statement_holds_expire_task(),
        "tool_call_holds_expired": tool_call_holds_expire_task(),
    }

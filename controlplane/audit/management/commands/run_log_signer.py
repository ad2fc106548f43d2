"""``manage.py run_log_signer [--interval SECONDS] [--once]``"""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from controlplane.audit.checkpoints import SIGNER_POLL_SECONDS, checkpoint_sign


class Command(BaseCommand):
    help = (
        "Sign a checkpoint of the audit log whenever one is due (what Celery beat does in "
        "production; safe to run beside it and on several replicas)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=SIGNER_POLL_SECONDS, metavar="SECONDS"
        )
        parser.add_argument("--once", action="store_true", help="one pass, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            close_old_connections()  # a database restart costs one round, not the loop
            checkpoint = checkpoint_sign()
            if checkpoint is not None and options["verbosity"] > 1:
                self.stderr.write(f"signed checkpoint {checkpoint.size}")
            if options["once"]:
                return
            time.sleep(options["interval"])

"""``manage.py run_housekeeping [--interval SECONDS] [--once]``"""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from controlplane.access.services import access_requests_expire, grants_expire


class Command(BaseCommand):
    help = (
        "Expire undecided access requests and record ended grants, every --interval "
        "seconds (what Celery beat does in production; safe to run beside it)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=30.0, metavar="SECONDS")
        parser.add_argument("--once", action="store_true", help="one pass, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            requests, grants = access_requests_expire(), grants_expire()
            if requests or grants:
                self.stderr.write(f"expired {requests} request(s), ended {grants} grant(s)")
            if options["once"]:
                return
            time.sleep(options["interval"])

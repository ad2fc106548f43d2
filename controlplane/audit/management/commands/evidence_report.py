"""``manage.py evidence_report [--since WHEN] [--until WHEN] --out report.html
[--standing-days N] [--no-verify]``

The ISO 27001 evidence report for a period as one self-contained HTML page. It exports the
period and runs the offline verifier over it (``--no-verify`` skips that and says how to
run it). Print to PDF from a browser; no PDF library ships with Gatehouse.
"""

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone

from controlplane.audit.export.evidence import STANDING_DAYS_DEFAULT, evidence_report
from controlplane.audit.export.period import period_parse
from controlplane.cli import ServiceCommand


class Command(ServiceCommand):
    help = "Write the ISO 27001 evidence report (HTML) for a period of the audit log."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", metavar="WHEN", help="ISO 8601 or relative (7d); inclusive.")
        parser.add_argument("--until", metavar="WHEN", help="ISO 8601 or relative; default now.")
        parser.add_argument("--out", required=True, metavar="FILE")
        parser.add_argument(
            "--standing-days",
            type=int,
            default=STANDING_DAYS_DEFAULT,
            metavar="N",
            help="Grants longer than N days count as standing access.",
        )
        parser.add_argument(
            "--no-verify", action="store_true", help="Skip the export and verifier."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        period = period_parse(since=options["since"], until=options["until"], now=timezone.now())
        html = evidence_report(
            actor=None,
            period=period,
            standing_days=options["standing_days"],
            verify=not options["no_verify"],
        )
        Path(options["out"]).write_text(html, encoding="utf-8")
        self.stderr.write(f"wrote the evidence report for {period.label()} to {options['out']}")

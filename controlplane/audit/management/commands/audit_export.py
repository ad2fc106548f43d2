"""``manage.py audit_export [--since WHEN] [--until WHEN] [--consistency-from SIZE ...] --out DIR``

WHEN is ISO 8601 (``2026-11-01``, ``2026-11-01T09:00:00Z``) or relative to now (``7d``,
``12h``, ``30m``, ``now``). Verify the result offline with ``python -m ledger.verify DIR``.
"""

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from controlplane.audit.export.bundle import ExportError, audit_export
from controlplane.audit.export.period import period_parse
from controlplane.cli import ServiceCommand


class Command(ServiceCommand):
    help = "Export a period of the audit log as a bundle an auditor verifies offline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since", metavar="WHEN", help="Start (inclusive); default: the beginning."
        )
        parser.add_argument("--until", metavar="WHEN", help="End (exclusive); default: now.")
        parser.add_argument("--out", required=True, metavar="DIR", help="A new or empty directory.")
        parser.add_argument(
            "--consistency-from",
            type=int,
            action="append",
            default=[],
            metavar="SIZE",
            help="Also prove consistency from the checkpoint of this tree size (one an auditor "
            "kept); earlier exports' final checkpoints are always included. Repeatable.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        period = period_parse(since=options["since"], until=options["until"], now=timezone.now())
        try:
            exported = audit_export(
                actor=None,
                since=period.since,
                until=period.until,
                out_dir=Path(options["out"]),
                consistency_from=options["consistency_from"],
            )
        except (ExportError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        seqs = exported.seqs
        self.stderr.write(
            f"exported {seqs.count} entries (seq {seqs.first}..{seqs.last}, "
            f"tree size {exported.tree_size}) to {exported.out_dir}; "
            f"verify with: python -m ledger.verify {exported.out_dir}"
        )
        self.stdout.write(exported.manifest_sha256)

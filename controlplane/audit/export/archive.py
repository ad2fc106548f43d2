"""Exports over the API: the bundle as one ``.tar.gz`` download, made synchronously.

Choice: synchronous with a size limit rather than a Celery job. An auditor's usual period
(a quarter of a small deployment's log) exports in seconds; bigger ranges are refused with
a pointer to ``manage.py audit_export``, which streams any size to disk. The archive is
built in a private temporary directory and handed back as an open, already unlinked file,
so nothing is left on the control plane's disk once the download ends.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from controlplane.audit.export.bundle import ExportAction, Exported, audit_export, seq_range
from controlplane.audit.export.period import Period, rfc3339
from controlplane.audit.models import AuditEvent

# Entries per API export: beyond this, use manage.py audit_export.
API_EXPORT_MAX_ENTRIES = 100_000


def audit_export_archive(
    *, actor: Any, period: Period, consistency_from: Sequence[int] = ()
) -> tuple[str, IO[bytes]]:
    """Export ``period`` as a ``.tar.gz`` holding one bundle directory; returns the
    download's file name and the open archive (its file already unlinked)."""
    wanted = seq_range(since=period.since, until=period.until, tree_size=None)
    if wanted.count > API_EXPORT_MAX_ENTRIES:
        raise ValidationError(
            f"the period holds {wanted.count} entries; the API exports at most "
            f"{API_EXPORT_MAX_ENTRIES}: use manage.py audit_export for larger periods"
        )
    name = f"gatehouse-audit-{_stamp(period)}"
    with tempfile.TemporaryDirectory(prefix="gatehouse-export-") as scratch:
        exported = audit_export(
            actor=actor,
            since=period.since,
            until=period.until,
            out_dir=Path(scratch) / name,
            consistency_from=consistency_from,
        )
        return f"{name}.tar.gz", _archive(exported, Path(scratch) / f"{name}.tar.gz")


def _archive(exported: Exported, target: Path) -> IO[bytes]:
    with tarfile.open(target, "w:gz") as archive:
        archive.add(exported.out_dir, arcname=exported.out_dir.name)
    handle = target.open("rb")
    os.unlink(target)  # the open handle keeps the data until the response closes it
    return handle


def _stamp(period: Period) -> str:
    return f"{rfc3339(period.since)[:19]}--{rfc3339(period.until)[:19]}".replace(":", "")


def audit_exports_list() -> QuerySet[AuditEvent]:
    """Exports made so far, newest first: the log's own ``audit.exported`` records."""
    return AuditEvent.objects.filter(action=ExportAction.EXPORTED).order_by("-seq")

"""The audit explorer (/audit/): the log searched and filtered, newest first by seq, each
entry's masked payload one click away; the latest checkpoint with its signature and the
witnesses' cosignatures checked again on the server; "Verify a range" (the offline
verifier's checks, run over the stored rows); and the export bundle and the evidence report
as downloads. Administrators and auditors only; auditors are read-only here too: the
downloads are their one kind of POST (an export is recorded in the log, as the API's is)."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from controlplane.audit.export.archive import audit_export_archive
from controlplane.audit.export.evidence import evidence_report
from controlplane.audit.export.period import Period, rfc3339
from controlplane.audit.integrity import (
    RANGE_MAX_ENTRIES,
    RangeRefused,
    checkpoint_status,
    log_range_verify,
)
from controlplane.audit.log import checkpoint_latest
from controlplane.audit.selectors import TEXT_SEARCH_WINDOW, AuditPage, audit_events_search
from controlplane.web.audit_forms import AuditFilterForm, EvidenceForm, PeriodForm, RangeVerifyForm
from controlplane.web.pages import is_htmx, page
from controlplane.web.roles import console_roles

logger = logging.getLogger(__name__)

# The range the verify form offers first: the newest entries the latest checkpoint covers.
DEFAULT_VERIFY_SPAN = 1000


@require_GET
@login_required
def audit(request: HttpRequest) -> HttpResponse:
    """The explorer; an htmx request (the filter bar, "Older") gets the results alone."""
    _require_auditor(request)
    filters = AuditFilterForm(request.GET or None)
    results = _results(filters)
    if is_htmx(request):
        return page(request, "web/audit/results.html", results, status=_status(filters))
    return page(request, "web/audit/index.html", {**results, **_panels()}, status=_status(filters))


@require_GET
@login_required
def audit_verify(request: HttpRequest) -> HttpResponse:
    """Verify seq first..last against the latest checkpoint; the verdict, as a fragment for
    htmx or on the whole page."""
    _require_auditor(request)
    form = RangeVerifyForm(request.GET, prefix="range")
    verdict, refusal = None, ""
    if form.is_valid():
        try:
            verdict = log_range_verify(
                first=form.cleaned_data["first"], last=form.cleaned_data["last"]
            )
        except RangeRefused as error:
            refusal = str(error)
    status = 200 if verdict is not None else 400
    context = {"verify_form": form, "verdict": verdict, "refusal": refusal}
    if is_htmx(request):
        return page(request, "web/audit/verdict.html", context, status=status)
    full = {**_results(AuditFilterForm()), **_panels(), **context}
    return page(request, "web/audit/index.html", full, status=status)


@require_POST
@login_required
def audit_export(request: HttpRequest) -> HttpResponse:
    """The export bundle of a period as .tar.gz (the export API's, recorded in the log)."""
    _require_auditor(request)
    form = PeriodForm(request.POST, prefix="export")
    period = form.period(now=timezone.now())
    if period is None:
        return _refused(request, export_form=form)
    try:
        name, archive = audit_export_archive(actor=request.user, period=period)
    except ValidationError as error:
        form.add_error(None, error)
        return _refused(request, export_form=form)
    logger.info("%s exported the audit log for %s", request.user, period.label())
    return FileResponse(archive, as_attachment=True, filename=name, content_type="application/gzip")


@require_POST
@login_required
def audit_evidence(request: HttpRequest) -> HttpResponse:
    """The ISO 27001 evidence report of a period, as a self-contained HTML download."""
    _require_auditor(request)
    form = EvidenceForm(request.POST, prefix="evidence")
    period = form.period(now=timezone.now())
    if period is None:
        return _refused(request, evidence_form=form)
    html = evidence_report(
        actor=request.user,
        period=period,
        standing_days=form.cleaned_data["standing_days"],
        verify=form.cleaned_data["verify"],
    )
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_report_name(period)}"'
    return response


def _require_auditor(request: HttpRequest) -> None:
    roles = console_roles(request.user)
    if not (roles.admin or roles.auditor):
        raise PermissionDenied("the audit log is for administrators and auditors")


def _results(filters: AuditFilterForm) -> dict[str, Any]:
    """The filter bar and, when it is valid, one page of events (no filters: the newest)."""
    if not filters.is_bound:
        filters = AuditFilterForm({})
    result = audit_events_search(search=filters.search()) if filters.is_valid() else None
    return {
        "filters": filters,
        "result": result,
        "events": [] if result is None else [_row(event) for event in result.events],
        "older_query": _older_query(filters, result),
        "newest_query": urlencode(_filter_values(filters)),
        "text_window": TEXT_SEARCH_WINDOW,
    }


def _row(event: Any) -> dict[str, Any]:
    return {"event": event, "payload_json": json.dumps(event.payload, indent=2, ensure_ascii=False)}


def _older_query(filters: AuditFilterForm, result: AuditPage | None) -> str:
    """The query string of the next (older) page: the same filters, a new cursor."""
    if result is None or result.older is None:
        return ""
    return urlencode({**_filter_values(filters), "before": result.older})


def _filter_values(filters: AuditFilterForm) -> dict[str, str]:
    """The filters as typed, without the page cursor."""
    return {key: value for key, value in filters.data.items() if key != "before" and value}


def _status(filters: AuditFilterForm) -> int:
    return 400 if filters.is_bound and filters.errors else 200


def _panels() -> dict[str, Any]:
    """The checkpoint panel and the verify, export and evidence forms."""
    latest = checkpoint_latest()
    size = latest.size if latest else 0
    initial = {"first": max(0, size - DEFAULT_VERIFY_SPAN), "last": max(0, size - 1)}
    return {
        "checkpoint": checkpoint_status(latest) if latest else None,
        "verify_form": RangeVerifyForm(initial=initial, prefix="range"),
        "export_form": PeriodForm(prefix="export"),
        "evidence_form": EvidenceForm(prefix="evidence"),
        "range_max": RANGE_MAX_ENTRIES,
    }


def _refused(request: HttpRequest, **forms: Any) -> HttpResponse:
    """A download that could not be made: the page again, the form showing why."""
    context = {**_results(AuditFilterForm()), **_panels(), **forms}
    return page(request, "web/audit/index.html", context, status=400)


def _report_name(period: Period) -> str:
    stamp = f"{rfc3339(period.since)[:19]}--{rfc3339(period.until)[:19]}".replace(":", "")
    return f"gatehouse-evidence-{stamp}.html"

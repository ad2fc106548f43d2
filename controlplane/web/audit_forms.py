"""Form inputs of the audit explorer: the filter bar, the range to verify, and the periods
of the export bundle and the evidence report. They parse and bound what people type; the
audit selectors and services decide."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from controlplane.audit.export.evidence import STANDING_DAYS_DEFAULT
from controlplane.audit.export.period import Period, period_parse
from controlplane.audit.integrity import RANGE_MAX_ENTRIES
from controlplane.audit.selectors import AuditSearch

TEXT_MAX = 200
LOCAL_TIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ConsoleForm(forms.Form):
    """Labels as the rest of the console writes them: no trailing colon."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class AuditFilterForm(ConsoleForm):
    """The explorer's filter bar (GET). Times are UTC, as the log writes them."""

    action = forms.CharField(label="Action", required=False, max_length=100)
    identity = forms.CharField(label="Identity", required=False, max_length=150)
    resource = forms.CharField(label="Resource", required=False, max_length=100)
    session = forms.CharField(label="Session", required=False, max_length=100)
    since = forms.DateTimeField(label="From (UTC)", required=False, widget=LOCAL_TIME)
    until = forms.DateTimeField(label="Until (UTC)", required=False, widget=LOCAL_TIME)
    seq_from = forms.IntegerField(label="Seq from", required=False, min_value=0)
    seq_to = forms.IntegerField(label="Seq to", required=False, min_value=0)
    text = forms.CharField(label="Payload contains", required=False, max_length=TEXT_MAX)
    before = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until <= since:
            self.add_error("until", "must be after From")
        low, high = data.get("seq_from"), data.get("seq_to")
        if low is not None and high is not None and high < low:
            self.add_error("seq_to", "must not be below Seq from")
        return data

    def search(self) -> AuditSearch:
        """The valid form as the selector's query."""
        data = self.cleaned_data
        texts = {name: data.get(name) or "" for name in ("action", "identity", "resource")}
        return AuditSearch(
            **{name: value.strip() for name, value in texts.items()},
            session=(data.get("session") or "").strip(),
            since=data.get("since"),
            until=data.get("until"),
            seq_from=data.get("seq_from"),
            seq_to=data.get("seq_to"),
            text=(data.get("text") or "").strip(),
            before=data.get("before"),
        )


class RangeVerifyForm(ConsoleForm):
    """First and last seq (inclusive) of a range to verify, at most RANGE_MAX_ENTRIES."""

    first = forms.IntegerField(label="First seq", min_value=0)
    last = forms.IntegerField(label="Last seq", min_value=0)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        first, last = data.get("first"), data.get("last")
        if first is None or last is None:
            return data
        if last < first:
            self.add_error("last", "must not be below First seq")
        elif last - first + 1 > RANGE_MAX_ENTRIES:
            self.add_error("last", f"at most {RANGE_MAX_ENTRIES} entries per run")
        return data


class PeriodForm(ConsoleForm):
    """The period of an export, as the export API takes it: ISO 8601 or relative (7d)."""

    since = forms.CharField(
        label="Since", required=False, max_length=40, help_text="ISO 8601 or 7d, 12h; "
        "empty: the log's beginning."
    )  # fmt: skip
    until = forms.CharField(
        label="Until", required=False, max_length=40, help_text="ISO 8601 or relative; empty: now."
    )

    def period(self, *, now: datetime) -> Period | None:
        """The period, or None with the form's errors set."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        try:
            return period_parse(since=data["since"] or None, until=data["until"] or None, now=now)
        except ValidationError as error:
            self.add_error(None, error)
            return None


class EvidenceForm(PeriodForm):
    """The evidence report's period, what counts as standing access, and whether to run the
    offline verifier over a fresh export of the period."""

    standing_days = forms.IntegerField(
        label="Standing access after (days)",
        min_value=1,
        max_value=3650,
        initial=STANDING_DAYS_DEFAULT,
    )
    verify = forms.BooleanField(
        label="Export the period and run the offline verifier", required=False, initial=True
    )

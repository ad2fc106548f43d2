"""The sessions list's filters as people and scripts give them (GET parameters, the same for
the console and the API): parsed and bounded here, applied by ``selectors.sessions_list``."""

from __future__ import annotations

from typing import Any

from django import forms

from controlplane.resources.protocols import protocol_choices
from controlplane.sessions.selectors import SessionFilters

LOCAL_TIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class SessionFilterForm(forms.Form):
    """Identity, resource, protocol, start time range, and what happened in the session."""

    identity = forms.CharField(
        label="Identity",
        required=False,
        max_length=150,
        help_text="Who, or the person an agent acted for (name or subject).",
    )
    resource = forms.CharField(label="Resource", required=False, max_length=100)
    protocol = forms.ChoiceField(
        label="Protocol", required=False, choices=lambda: [("", "Any"), *protocol_choices()]
    )
    since = forms.DateTimeField(label="Started from (UTC)", required=False, widget=LOCAL_TIME)
    until = forms.DateTimeField(label="Started before (UTC)", required=False, widget=LOCAL_TIME)
    denied = forms.BooleanField(label="Had a denial", required=False)
    masked = forms.BooleanField(label="Had masking", required=False)
    live = forms.BooleanField(label="Live only", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until <= since:
            self.add_error("until", "must be after Started from")
        return data

    def filters(self) -> SessionFilters:
        """The valid form as the selector's filters."""
        data = self.cleaned_data
        return SessionFilters(
            identity=(data.get("identity") or "").strip(),
            resource=(data.get("resource") or "").strip(),
            protocol=data.get("protocol") or "",
            started_from=data.get("since"),
            started_to=data.get("until"),
            had_denial=bool(data.get("denied")),
            had_masking=bool(data.get("masked")),
            live_only=bool(data.get("live")),
        )

"""Form inputs of the console: they parse and bound what people type; the services decide."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator

from controlplane.policies.models import Policy

MINUTE = 60


class AccessRequestForm(forms.Form):
    """Ask for one resource: a level the policy allows, whole minutes up to its maximum,
    and a reason. The choices and the bound come from the policy, so the browser already
    refuses what the service would."""

    access_level = forms.ChoiceField(label="Access level")
    duration_minutes = forms.IntegerField(label="Duration (minutes)", min_value=1)
    reason = forms.CharField(
        label="Reason", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, policy: Policy, **kwargs: Any) -> None:
        super().__init__(*args, auto_id=f"id_{policy.resource.name}_%s", **kwargs)
        self.policy = policy
        levels = policy.access_levels or [""]
        self.fields["access_level"].choices = [(level, level or "default") for level in levels]
        self.fields["access_level"].initial = policy.default_access_level or levels[0]
        # A policy without levels grants the static login: the only choice is "".
        self.fields["access_level"].required = bool(policy.access_levels)
        longest = max(1, policy.max_duration_seconds // MINUTE)
        self.fields["duration_minutes"].validators.append(
            MaxValueValidator(longest, message=f"at most {longest} minutes under this policy")
        )
        self.fields["duration_minutes"].widget.attrs.update({"min": 1, "max": longest})
        self.fields["duration_minutes"].initial = min(15, longest)

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.cleaned_data["duration_minutes"])


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")])
    comment = forms.CharField(label="Comment", required=False, max_length=2000)


class TokenForm(forms.Form):
    resource = forms.CharField(max_length=63)


class GrantFilterForm(forms.Form):
    """The grants page's filter bar (GET): which grants (active, past or both) on which
    resource ("" = any)."""

    STATES = [("", "All"), ("active", "Active"), ("past", "Past")]

    state = forms.ChoiceField(label="Show", choices=STATES, required=False)
    resource = forms.ChoiceField(label="Resource", required=False)

    def __init__(self, *args: Any, resource_names: list[str], **kwargs: Any) -> None:
        super().__init__(*args, auto_id="filter_%s", **kwargs)
        self.fields["resource"].choices = [("", "Any resource")] + [(n, n) for n in resource_names]

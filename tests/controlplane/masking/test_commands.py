"""set_masking_policy creates or replaces a masking policy from the shell, or deletes it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from controlplane.audit.models import AuditEvent
from controlplane.masking.models import MaskingPolicy
from controlplane.resources.models import Resource


def run(*args: str) -> str:
    err = StringIO()
    call_command("set_masking_policy", *args, stdout=StringIO(), stderr=err)
    return err.getvalue()


def test_every_option_lands_in_the_policy(appdb: Resource) -> None:
    said = run(
        "people-partial", "--resource", "appdb", "--applies-to", "people",
        "--group", "staff", "--group", "contractors", "--default", "hash",
        "--strategy", "CREDIT_CARD=partial", "--strategy", "US_SSN=partial",
        "--column", "ssn=US_SSN", "--json-key", "*.card=CREDIT_CARD",
        "--deny", "Project Falcon", "--entity", "US_SSN", "--entity", "CREDIT_CARD",
        "--on-failure", "error", "--priority", "50", "--description", "people",
    )  # fmt: skip
    assert "created" in said
    stored = MaskingPolicy.objects.get(name="people-partial")
    assert (stored.resource, stored.applies_to, stored.priority) == (appdb, "people", 50)
    assert sorted(g.name for g in stored.groups.all()) == ["contractors", "staff"]
    assert stored.strategies == {"CREDIT_CARD": "partial", "US_SSN": "partial"}
    assert (stored.column_rules, stored.json_key_rules) == (
        {"ssn": "US_SSN"},
        {"*.card": "CREDIT_CARD"},
    )
    assert (stored.default_strategy, stored.on_failure, stored.enabled) == ("hash", "error", True)
    assert (stored.deny_list, stored.entities) == (["Project Falcon"], ["US_SSN", "CREDIT_CARD"])
    event = AuditEvent.objects.get(action="masking_policy.created")
    assert event.actor_name == "system" and event.payload["after"]["priority"] == 50


def test_a_second_run_replaces_the_whole_policy(db: None) -> None:
    run("p", "--priority", "5", "--deny", "x")
    assert "replaced" in run("p", "--disable")
    stored = MaskingPolicy.objects.get(name="p")
    assert (stored.priority, stored.deny_list, stored.enabled) == (0, [], False)
    assert AuditEvent.objects.filter(action="masking_policy.updated").count() == 1


def test_delete(db: None) -> None:
    run("p")
    assert "deleted" in run("p", "--delete")
    assert not MaskingPolicy.objects.exists()
    assert AuditEvent.objects.filter(action="masking_policy.deleted").count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["p", "--resource", "nowhere"], "no resource named 'nowhere'"),
        (["p", "--strategy", "CREDIT_CARD"], "want KEY=VALUE"),
        (["p", "--strategy", "SOCIAL=redact"], "unknown entity 'SOCIAL'"),
        (["p", "--column", "ssn=SOCIAL"], "unknown entity 'SOCIAL'"),
        (["p", "--delete"], "no masking policy named 'p'"),
    ],
)
def test_mistakes_are_one_line_errors(db: None, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not MaskingPolicy.objects.exists()

"""Tool rules: the highest-priority enabled rule matching the call's tool, resource and
identity decides it; ties go to the more specific rule, then the stricter effect; a call no
rule matches is allowed. Every change is audited with the rule before and after."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.mcp_server.models import ToolRule
from controlplane.mcp_server.selectors import tool_rule_for_call
from controlplane.mcp_server.services import (
    ToolRuleSpec,
    tool_rule_delete,
    tool_rule_set,
    tool_rule_update,
)
from controlplane.resources.models import Resource
from tests.controlplane.mcp_server.conftest import rule

pytestmark = pytest.mark.django_db


def _decides(identity: User, tool: str, resource: Resource | None = None) -> str | None:
    found = tool_rule_for_call(identity=identity, tool=tool, resource=resource)
    return found.name if found else None


def test_a_call_no_rule_matches_is_allowed_by_default(agent_smith: User, appdb: Resource) -> None:
    rule("people-no-sql", tool="query_database", applies_to="people", effect="deny")
    assert _decides(agent_smith, "query_database", appdb) is None


def test_a_rule_for_one_tool_leaves_the_others_alone(agent_smith: User, appdb: Resource) -> None:
    rule("no-http", tool="call_http", effect="deny")
    assert _decides(agent_smith, "call_http", appdb) == "no-http"
    assert _decides(agent_smith, "query_database", appdb) is None


def test_a_rule_on_one_resource_does_not_reach_another(
    agent_smith: User, appdb: Resource, billingdb: Resource
) -> None:
    rule("hold-billing", resource=billingdb, effect="hold")
    assert _decides(agent_smith, "query_database", billingdb) == "hold-billing"
    assert _decides(agent_smith, "query_database", appdb) is None
    assert _decides(agent_smith, "list_resources", None) is None


def test_a_rule_on_every_resource_also_decides_tools_that_name_none(agent_smith: User) -> None:
    rule("no-listing", tool="list_resources", effect="deny")
    assert _decides(agent_smith, "list_resources") == "no-listing"


def test_a_rule_for_a_group_reaches_its_members_only(
    agent_smith: User, alice: User, appdb: Resource
) -> None:
    alice.groups.add(Group.objects.create(name="interns"))
    rule("interns-held", groups=["interns"], effect="hold")
    assert _decides(alice, "query_database", appdb) == "interns-held"
    assert _decides(agent_smith, "query_database", appdb) is None


def test_the_higher_priority_wins(agent_smith: User, appdb: Resource) -> None:
    rule("deny-all", effect="deny", priority=0)
    rule("agents-allowed", applies_to="service_accounts", effect="allow", priority=10)
    assert _decides(agent_smith, "query_database", appdb) == "agents-allowed"


def test_at_equal_priority_the_more_specific_rule_wins(agent_smith: User, appdb: Resource) -> None:
    rule("a-any-tool", effect="deny")
    rule("b-this-tool", tool="query_database", effect="allow")
    rule("c-this-resource-any-tool", resource=appdb, effect="hold")
    assert _decides(agent_smith, "query_database", appdb) == "c-this-resource-any-tool"
    assert _decides(agent_smith, "query_database", None) == "b-this-tool"
    assert _decides(agent_smith, "call_http", None) == "a-any-tool"


def test_at_equal_priority_and_specificity_the_stricter_effect_wins(
    agent_smith: User, appdb: Resource
) -> None:
    rule("a-allow", effect="allow")
    rule("b-hold", effect="hold")
    assert _decides(agent_smith, "query_database", appdb) == "b-hold"
    rule("c-deny", effect="deny")
    assert _decides(agent_smith, "query_database", appdb) == "c-deny"


def test_a_disabled_rule_decides_nothing(agent_smith: User, appdb: Resource) -> None:
    rule("off", effect="deny", enabled=False)
    assert _decides(agent_smith, "query_database", appdb) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tool", "query_databse"),
        ("effect", "maybe"),
        ("applies_to", "robots"),
        ("hold_timeout_s", 0),
        ("groups", [" "]),
    ],
)
def test_a_rule_that_could_never_work_is_refused(bob: User, field: str, value: object) -> None:
    with pytest.raises(ValidationError) as refused:
        rule("bad", actor=bob, **{field: value})
    assert field in refused.value.message_dict
    assert not ToolRule.objects.exists()


def test_a_rules_name_is_taken_once(bob: User) -> None:
    rule("only-once", actor=bob)
    with pytest.raises(ValidationError):
        rule("only-once", actor=bob)


def test_every_change_is_audited_with_the_rule_before_and_after(bob: User, appdb: Resource) -> None:
    created = rule("held-sql", actor=bob, tool="query_database", effect="hold", resource=appdb)
    tool_rule_update(
        actor=bob, rule=created, spec=ToolRuleSpec(tool="query_database", effect="deny")
    )
    tool_rule_delete(actor=bob, rule=ToolRule.objects.get(name="held-sql"))

    events = list(AuditEvent.objects.filter(action__startswith="mcp_tool_rule.").order_by("seq"))
    assert [e.action for e in events] == [
        "mcp_tool_rule.created",
        "mcp_tool_rule.updated",
        "mcp_tool_rule.deleted",
    ]
    assert events[0].payload["after"]["resource"] == "appdb"
    assert events[1].payload["before"]["effect"] == "hold"
    assert events[1].payload["after"] == {**events[1].payload["after"], "effect": "deny"}
    assert events[2].payload["after"] is None
    assert {e.actor_name for e in events} == {"bob"}


def test_set_creates_then_replaces_the_whole_rule(bob: User) -> None:
    _, created = tool_rule_set(
        actor=bob, name="r", spec=ToolRuleSpec(effect="deny", groups=["interns"], priority=5)
    )
    stored, replaced = tool_rule_set(actor=bob, name="r", spec=ToolRuleSpec(effect="hold"))
    assert (created, replaced) == (True, False)
    assert (stored.effect, stored.priority, list(stored.groups.all())) == ("hold", 0, [])

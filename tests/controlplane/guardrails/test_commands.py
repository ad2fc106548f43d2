"""set_guardrail_policy creates or replaces a guardrail policy from the shell (from a
document file or from a few convenient flags), or deletes it."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from controlplane.audit.models import AuditEvent
from controlplane.guardrails.models import GuardrailPolicy
from controlplane.resources.models import Resource
from dataplane.guardrails.document import policy_from_document
from dataplane.guardrails.engine import Guardrails
from tests.controlplane.guardrails.conftest import HOLD_WRITES

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    err = StringIO()
    call_command("set_guardrail_policy", *args, stdout=StringIO(), stderr=err)
    return err.getvalue()


def test_a_policy_from_a_file(tmp_path: Path, appdb: Resource) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(HOLD_WRITES))
    said = run(
        "ai-holds", "--file", str(path), "--resource", "appdb",
        "--applies-to", "service_accounts", "--group", "bots", "--priority", "7",
        "--hold-timeout", "60", "--description", "AI agents wait for a person",
    )  # fmt: skip
    assert "created" in said
    stored = GuardrailPolicy.objects.get()
    assert (stored.policy, stored.resource, stored.applies_to, stored.priority) == (
        HOLD_WRITES,
        appdb,
        "service_accounts",
        7,
    )
    assert (stored.hold_timeout_s, [g.name for g in stored.groups.all()]) == (60, ["bots"])
    assert "replaced" in run("ai-holds", "--file", str(path))
    assert GuardrailPolicy.objects.get().resource is None  # replaced whole


def test_flags_build_a_document_the_engine_reads() -> None:
    run(
        "guarded", "--deny-classes", "drop,truncate", "--where-required", "--deny-functions",
        "--hold", "alter_system", "--hold-writes", "--max-rows", "1000", "--unparseable", "hold",
    )  # fmt: skip
    engine = Guardrails(policy_from_document(GuardrailPolicy.objects.get().policy))
    verdicts = {
        sql: (engine.judge(sql).decision.value, engine.judge(sql).rule)
        for sql in (
            "DROP TABLE t",
            "DELETE FROM t",
            "SELECT pg_read_file('/etc/passwd')",
            "UPDATE t SET x = 1 WHERE id = 2",
            "SELECT 1",
            "SELEC oops",
        )
    }
    assert verdicts == {
        "DROP TABLE t": ("deny", "deny-classes"),
        "DELETE FROM t": ("deny", "where-required"),
        "SELECT pg_read_file('/etc/passwd')": ("deny", "denied-functions"),
        "UPDATE t SET x = 1 WHERE id = 2": ("hold", "hold-writes"),
        "SELECT 1": ("allow", None),
        "SELEC oops": ("hold", "unparseable"),
    }
    assert engine.judge("SELECT 1").max_rows == 1000


def test_read_only_from_a_flag() -> None:
    run("ro", "--read-only")
    engine = Guardrails(policy_from_document(GuardrailPolicy.objects.get().policy))
    assert engine.judge("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d").rule == "read-only"


def test_delete() -> None:
    run("p", "--read-only")
    assert "deleted" in run("p", "--delete")
    assert not GuardrailPolicy.objects.exists()
    assert AuditEvent.objects.filter(action="guardrail_policy.deleted").count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["p"], "--file POLICY.json or at least one rule flag"),
        (["p", "--deny-classes", "nonsense"], "unknown statement classes"),
        (["p", "--read-only", "--resource", "nowhere"], "no resource named"),
        (["nope", "--delete"], "no guardrail policy named"),
    ],
)
def test_mistakes_are_one_line_errors(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not GuardrailPolicy.objects.exists()


def test_a_file_and_rule_flags_do_not_mix(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(HOLD_WRITES))
    with pytest.raises(CommandError, match="leave out the rule flags"):
        run("p", "--file", str(path), "--read-only")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CommandError, match=r"bad\.json"):
        run("p", "--file", str(tmp_path / "bad.json"))

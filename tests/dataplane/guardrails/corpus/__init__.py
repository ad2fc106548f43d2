"""The guardrail corpora as data: dangerous statements (each refused under a named policy) and
benign ones (each allowed untouched), for the unit tests here and, later, for replay through
psql and psycopg against a real PostgreSQL behind the agent.

A corpus file is SQL. Each case starts with a header line
`-- case: <id> | policy: <policy name> | expect: <deny|hold|allow>` and runs to the next header;
its text, which may hold several statements, is sent exactly as written (trailing blank lines
removed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dataplane.guardrails import (
    Decision,
    DeniedFunctions,
    DenyStatements,
    GuardrailPolicy,
    ReadOnly,
    RelationAccess,
    RelationPattern,
    WhereRequired,
)

CORPUS_DIR = Path(__file__).parent
_HEADER = re.compile(
    r"^-- case: (?P<id>[\w.-]+) \| policy: (?P<policy>[\w-]+)"
    r" \| expect: (?P<expect>deny|hold|allow)$"
)


@dataclass(frozen=True)
class CorpusCase:
    id: str
    policy: str
    expect: str
    sql: str


def load(name: str) -> list[CorpusCase]:
    """The cases of corpus file `<name>.sql`, in file order."""
    cases: list[CorpusCase] = []
    header: re.Match[str] | None = None
    lines: list[str] = []
    for line in (CORPUS_DIR / f"{name}.sql").read_text(encoding="utf-8").splitlines():
        match = _HEADER.match(line)
        if match:
            _close(cases, header, lines)
            header, lines = match, []
        elif header is not None:
            lines.append(line)
    _close(cases, header, lines)
    return cases


def _close(cases: list[CorpusCase], header: re.Match[str] | None, lines: list[str]) -> None:
    if header is not None:
        sql = "\n".join(lines).strip("\n")
        cases.append(CorpusCase(header["id"], header["policy"], header["expect"], sql))


def _standard_rules() -> tuple[
    DenyStatements, DenyStatements, WhereRequired, DeniedFunctions, RelationAccess
]:
    return (
        DenyStatements(
            "no-schema-changes",
            frozenset(
                {
                    "ddl",
                    "drop",
                    "truncate",
                    "alter_system",
                    "grant_revoke",
                    "role_management",
                    "copy_program",
                    "copy_server_file",
                    "load",
                }
            ),
        ),
        DenyStatements(
            "no-identity-change",
            frozenset({"set_parameter"}),
            parameters=frozenset({"role", "session_authorization", "log_statement"}),
        ),
        WhereRequired("where-required"),
        DeniedFunctions("no-server-functions"),
        RelationAccess(
            "no-secrets",
            deny=tuple(
                RelationPattern.parse(p) for p in ("secrets", "vault.*", "pg_authid", "pg_shadow")
            ),
            search_path=("public",),
        ),
    )


# The policies the corpora name. "standard" is an application's production policy;
# "read-only" adds ReadOnly for analysts and AI agents; "hold-writes" holds writes for approval.
POLICIES: dict[str, GuardrailPolicy] = {
    "standard": GuardrailPolicy(rules=_standard_rules()),
    "read-only": GuardrailPolicy(rules=(*_standard_rules(), ReadOnly("read-only"))),
    "hold-writes": GuardrailPolicy(
        rules=(*_standard_rules(), ReadOnly("writes-need-approval", verdict=Decision.HOLD))
    ),
}

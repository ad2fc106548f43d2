"""Database triggers that make the audit tables append-only for anyone writing SQL.

PostgreSQL: a row trigger refuses UPDATE and DELETE, a statement trigger refuses TRUNCATE,
and both are ``ENABLE ALWAYS`` so ``SET session_replication_role = replica`` (which skips
ordinary triggers) does not switch them off. Only the table owner can drop them: run the
control plane as a role that owns nothing (docs/audit.md). SQLite: BEFORE UPDATE/DELETE
triggers ``RAISE(ABORT, ...)``; SQLite has no TRUNCATE (its truncate optimisation runs
only for tables without triggers, so ``DELETE FROM`` still fires them).

Migration 0006 installs this SQL; changing it needs a new migration that replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence

APPEND_ONLY_TABLES = (
    "audit_auditevent",
    "audit_merklenode",
    "audit_checkpoint",
    "audit_cosignature",
)
REFUSAL = "the audit log is append-only"

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION gatehouse_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{REFUSAL}: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def create_sql(vendor: str) -> list[str]:
    """Statements installing the triggers on every audit table (``vendor``: Django's)."""
    if vendor == "postgresql":
        return [_PG_FUNCTION, *(sql for table in APPEND_ONLY_TABLES for sql in _pg_create(table))]
    if vendor == "sqlite":
        return [sql for table in APPEND_ONLY_TABLES for sql in _sqlite_create(table)]
    raise NotImplementedError(f"no append-only triggers for {vendor}")


def drop_sql(vendor: str) -> list[str]:
    """Statements removing them (reversing the migration; the test suite's flush)."""
    if vendor == "postgresql":
        return [
            *(sql for table in APPEND_ONLY_TABLES for sql in _pg_drop(table)),
            "DROP FUNCTION IF EXISTS gatehouse_audit_append_only()",
        ]
    return [
        f'DROP TRIGGER IF EXISTS "{table}_no_{operation}"'
        for table in APPEND_ONLY_TABLES
        for operation in ("update", "delete")
    ]


def flush_sql(vendor: str, statements: Sequence[str]) -> list[str]:
    """``statements`` (Django's flush of every table) wrapped so the audit tables empty too.

    Only the test suite does this, between tests; a role that owns the tables could do the
    same, which is why production runs as one that does not.
    """
    return [*drop_sql(vendor), *statements, *create_sql(vendor)]


def _pg_create(table: str) -> list[str]:
    function = "EXECUTE FUNCTION gatehouse_audit_append_only()"
    return [
        f'CREATE TRIGGER "{table}_no_change" BEFORE UPDATE OR DELETE ON "{table}" '
        f"FOR EACH ROW {function}",
        f'CREATE TRIGGER "{table}_no_truncate" BEFORE TRUNCATE ON "{table}" '
        f"FOR EACH STATEMENT {function}",
        f'ALTER TABLE "{table}" ENABLE ALWAYS TRIGGER "{table}_no_change"',
        f'ALTER TABLE "{table}" ENABLE ALWAYS TRIGGER "{table}_no_truncate"',
    ]


def _pg_drop(table: str) -> list[str]:
    return [
        f'DROP TRIGGER IF EXISTS "{table}_no_change" ON "{table}"',
        f'DROP TRIGGER IF EXISTS "{table}_no_truncate" ON "{table}"',
    ]


def _sqlite_create(table: str) -> list[str]:
    return [
        f'CREATE TRIGGER "{table}_no_{operation}" BEFORE {operation.upper()} ON "{table}" '
        f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}: {operation.upper()} on {table} refused'); END"
        for operation in ("update", "delete")
    ]

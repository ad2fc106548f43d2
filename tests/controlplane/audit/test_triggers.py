"""SQLite: the database itself refuses to change or delete audit rows, whoever asks.

PostgreSQL, with TRUNCATE and session_replication_role: tests/integration/test_audit_postgres.py.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from controlplane.agents.services import IssuedAgent
from controlplane.audit.checkpoints import checkpoint_sign
from controlplane.audit.triggers import APPEND_ONLY_TABLES
from tests.controlplane.audit.test_log import ingest

CHANGES = {
    "audit_auditevent": "UPDATE audit_auditevent SET action = 'forged'",
    "audit_merklenode": "UPDATE audit_merklenode SET hash = X'00'",
    "audit_checkpoint": "UPDATE audit_checkpoint SET note = 'forged'",
    "audit_cosignature": "UPDATE audit_cosignature SET line = 'forged'",
}


@pytest.fixture
def populated(edge: IssuedAgent) -> None:
    ingest(edge, range(1, 4))
    checkpoint_sign()
    with connection.cursor() as cursor:
        # A cosignature row, so its table has something to refuse too.
        cursor.execute(
            "INSERT INTO audit_cosignature (checkpoint_id, witness, key_id, line, cosigned_at,"
            " received_at) SELECT id, 'w', '00000000', 'x', signed_at, signed_at"
            " FROM audit_checkpoint"
        )


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_sql_updates_are_refused(populated: None, table: str) -> None:
    refused = pytest.raises(DatabaseError, match="append-only")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(CHANGES[table])


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_sql_deletes_are_refused(populated: None, table: str) -> None:
    refused = pytest.raises(DatabaseError, match="append-only")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")


def test_inserting_is_still_allowed(populated: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM audit_cosignature")
        assert cursor.fetchone()[0] == 1

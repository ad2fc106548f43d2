"""The single sequencer: the one way entries enter the audit log.

Inside the inserting transaction it takes the log's lock (PostgreSQL: a transaction-level
advisory lock on a fixed key, so every replica queues on it; SQLite: the database's single
writer, taken up front by ``BEGIN IMMEDIATE``), reads the tree's right edge, gives each entry
the next ``seq`` and its canonical leaf, and inserts the events together with the Merkle nodes
they complete. The lock is released by the commit or rollback, so a rolled-back service never
leaves a hole in ``seq``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from controlplane.audit.models import AuditEvent, MerkleNode
from controlplane.transactions import require_transaction
from ledger.leaf import leaf_bytes, leaf_document
from ledger.merkle import Frontier, leaf_hash, root_nodes

# pg_advisory_xact_lock key: "gatehous" as a big-endian int64; any fixed number would do.
SEQUENCER_LOCK_KEY = 0x6761746568F57573
# Rows per INSERT statement: well under SQLite's 32,766 bound variables per statement.
ROWS_PER_INSERT = 500


@dataclass(frozen=True, slots=True)
class Person:
    """An actor or the human they acted for, as leaves name them."""

    sub: str
    kind: str
    name: str

    def as_leaf(self) -> dict[str, str]:
        # str(): a model's TextChoices member is a str subclass, which leaves do not take.
        return {"sub": str(self.sub), "kind": str(self.kind), "name": str(self.name)}


@dataclass(slots=True)  # not frozen: frozen __init__ costs per event on the hot path
class Entry:
    """One event on its way into the log, before it has a place (``seq``) in it."""

    source: str
    occurred_at: datetime
    received_at: datetime
    action: str
    actor: Person
    on_behalf_of: Person | None = None
    resource: str = ""
    protocol: str = ""
    session: str = ""
    payload: Mapping[str, Any] | None = None
    agent_id: Any = None
    agent_name: str | None = None
    agent_seq: int | None = None


def log_lock() -> None:
    """Hold the sequencer lock until the current transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEQUENCER_LOCK_KEY])


def log_size() -> int:
    """How many entries the log holds (committed, or written by this transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(seq) FROM {_table(AuditEvent)}")
        highest = cursor.fetchone()[0]
    return 0 if highest is None else int(highest) + 1


def nodes_fetch(coordinates: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored Merkle nodes at ``coordinates``, in one indexed query."""
    if not coordinates:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(*_nodes_query(coordinates))
        return {(level, index): bytes(value) for level, index, value in cursor.fetchall()}


def _nodes_query(coordinates: Sequence[tuple[int, int]]) -> tuple[str, list[Any]]:
    quote = connection.ops.quote_name
    select = f"SELECT n.level, n.{quote('index')}, n.hash FROM {_table(MerkleNode)} n"
    if connection.vendor == "postgresql":
        # Two arrays joined against the (level, index) key: one short plan, whatever the count.
        return (
            f"{select} JOIN unnest(%s::smallint[], %s::bigint[]) AS wanted(level, idx)"
            f" ON n.level = wanted.level AND n.{quote('index')} = wanted.idx",
            [[level for level, _ in coordinates], [index for _, index in coordinates]],
        )
    wanted = " OR ".join([f"(n.level = %s AND n.{quote('index')} = %s)"] * len(coordinates))
    return f"{select} WHERE {wanted}", [number for pair in coordinates for number in pair]


def frontier_load(size: int) -> Frontier:
    """The tree's right edge at ``size``, from the stored nodes."""
    return Frontier.from_nodes(size, nodes_fetch(root_nodes(size)))


def audit_append(entries: Sequence[Entry]) -> range:
    """Give ``entries`` the next seqs and canonical leaves and insert them with the Merkle
    nodes they complete, in the caller's transaction. Returns the seqs they got.

    Every audit write (control-plane events and agent batches) goes through here, which is
    what keeps ``seq`` gapless and the tree in step with the events.
    """
    require_transaction("audit_append")
    log_lock()
    frontier = frontier_load(log_size())
    first = frontier.size
    node_rows: list[tuple[int, int, bytes]] = []
    adapt_datetime = connection.ops.adapt_datetimefield_value  # looked up once, not per row
    # Rows stream to the database while the next leaves are built: PostgreSQL stores one
    # while Python canonicalises the other, on the machine's other core.
    with _rows_writer(AuditEvent, _EVENT_COLUMNS) as write:
        for entry in entries:
            payload = plain_json(entry.payload or {})
            leaf = leaf_text(entry, seq=frontier.size, payload=payload)
            write(_event_row(entry, frontier.size, leaf, payload, adapt_datetime))
            node_rows += frontier.append(leaf_hash(leaf.encode("utf-8")))
    _nodes_insert(node_rows)
    return range(first, frontier.size)


def leaf_text(entry: Entry, *, seq: int, payload: Any = None) -> str:
    """The entry's leaf (``ledger.leaf`` format) as the canonical JSON text that is hashed;
    ``payload`` is the entry's payload already through `plain_json`, when the caller has it."""
    document = leaf_document(
        seq=seq,
        time=entry.occurred_at,
        source=entry.source,
        agent=entry.agent_name,
        agent_seq=entry.agent_seq,
        actor=entry.actor.as_leaf(),
        on_behalf_of=entry.on_behalf_of.as_leaf() if entry.on_behalf_of else None,
        resource=entry.resource,
        protocol=entry.protocol,
        session=entry.session,
        action=entry.action,
        payload=plain_json(entry.payload or {}) if payload is None else payload,
    )
    return leaf_bytes(document).decode("utf-8")


def plain_json(payload: Mapping[str, Any]) -> Any:
    """``payload`` as the JSON types a leaf holds (dates, UUIDs and decimals become text,
    as the payload column stores them).

    Numbers canonical JSON cannot hold (integers beyond I-JSON's ±(2**53 - 1), NaN and the
    infinities) become their decimal text, in the leaf and the payload column alike: an
    agent's batch must never be refused for a number, or the agent would resend it forever.
    """
    if all(_is_leaf_scalar(value) for value in payload.values()):
        return dict(payload)  # the common case (agent statements): nothing to convert
    return _leaf_numbers(json.loads(json.dumps(payload, cls=DjangoJSONEncoder)))


_SAFE_INTEGER = 2**53 - 1
_PLAIN_SCALARS = frozenset({str, bool, type(None)})


def _is_leaf_scalar(value: object) -> bool:
    if type(value) is int:
        return -_SAFE_INTEGER <= value <= _SAFE_INTEGER
    if type(value) is float:
        return math.isfinite(value)
    return type(value) in _PLAIN_SCALARS


def _leaf_numbers(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _leaf_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_leaf_numbers(item) for item in value]
    if type(value) in (int, float) and not _is_leaf_scalar(value):
        return str(value)
    return value


_EVENT_COLUMNS = (
    "seq", "leaf", "source", "agent_id", "agent_seq", "occurred_at", "received_at", "action",
    "actor_sub", "actor_kind", "actor_name", "on_behalf_of_sub", "on_behalf_of_kind",
    "on_behalf_of_name", "resource", "protocol", "session", "payload",
)  # fmt: skip


def _event_row(
    entry: Entry,
    seq: int,
    leaf: str,
    payload: Any,
    adapt_datetime: Callable[[datetime], Any],
) -> tuple[Any, ...]:
    principal = entry.on_behalf_of or Person("", "", "")
    return (
        seq,
        leaf,
        entry.source,
        entry.agent_id,
        entry.agent_seq,
        adapt_datetime(entry.occurred_at),
        adapt_datetime(entry.received_at),
        entry.action,
        entry.actor.sub,
        entry.actor.kind,
        entry.actor.name,
        principal.sub,
        principal.kind,
        principal.name,
        entry.resource,
        entry.protocol,
        entry.session,
        _db_payload(payload),
    )


def _insert(model: type[Any], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Multi-row INSERTs (SQLite): far fewer statements than one per row."""
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, ROWS_PER_INSERT):
            cursor.execute(
                _insert_sql(_table(model), tuple(columns), len(chunk)),
                [value for row in chunk for value in row],
            )


def _nodes_insert(rows: Sequence[tuple[int, int, bytes]]) -> None:
    """Two nodes per entry on average: on PostgreSQL written as one block of COPY text
    (numbers and hex need no escaping), far cheaper than a row-by-row COPY."""
    if connection.vendor != "postgresql":
        _insert(MerkleNode, _NODE_COLUMNS, rows)
        return
    if not rows:
        return
    text = "".join([f"{level}\t{index}\t\\\\x{value.hex()}\n" for level, index, value in rows])
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(_copy_sql(_table(MerkleNode), _NODE_COLUMNS)) as copy,
    ):
        copy.write(text.encode("ascii"))


_NODE_COLUMNS = ("level", "index", "hash")


@contextmanager
def _rows_writer(
    model: type[Any], columns: Sequence[str]
) -> Iterator[Callable[[Sequence[Any]], None]]:
    """A function taking one row at a time: a COPY stream on PostgreSQL; on SQLite the rows
    are collected and inserted when the block ends."""
    if connection.vendor == "postgresql":
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(_copy_sql(_table(model), columns)) as copy,
        ):
            yield copy.write_row
        return
    rows: list[Sequence[Any]] = []
    yield rows.append
    _insert(model, columns, rows)


def _copy_sql(table: str, columns: Sequence[str]) -> str:
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    return f"COPY {table} ({names}) FROM STDIN"


@lru_cache(maxsize=64)
def _insert_sql(table: str, columns: tuple[str, ...], count: int) -> str:
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    names = ", ".join(quote(column) for column in columns)
    return f"INSERT INTO {table} ({names}) VALUES " + ", ".join([row] * count)


def _chunks(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _table(model: type[Any]) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def _db_payload(payload: Mapping[str, Any]) -> str:
    # As the JSONField would serialise it; one encoder for all (json.dumps(cls=...) builds one
    # per call), and its C implementation does the work.
    return _PAYLOAD_ENCODER.encode(payload)


_PAYLOAD_ENCODER = DjangoJSONEncoder()

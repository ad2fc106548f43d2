"""Keeping the session index in step with the audit log.

``session_records_project`` runs inside the transaction that stores an agent's event batch
(``audit.services.audit_events_ingest``), under the sequencer's lock, and sees only the
events that batch newly stored: a re-sent event is never counted twice. It is the
ingestion hot path, so the batch is folded per session in Python first, and then the index
is written with at most three statements whatever the batch's size: one SELECT of the rows
the batch touches, one multi-row INSERT of the new ones, one UPDATE run for the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from controlplane.audit.sequencer import Entry, Person, log_lock
from controlplane.sessions.models import SessionRecord

# What an event adds to its session's counts.
STATEMENT_ACTIONS = frozenset({"statement", "http.request", "llm.call"})
DENIAL_ACTIONS = frozenset({"guardrail.denied", "connection.refused"})
HELD_ACTION = "guardrail.held"
START_ACTION = "session.start"
END_ACTION = "session.end"
REFUSED_ACTION = "connection.refused"
MASKING_SUMMARY_ACTION = "masking.applied"

END_REASON_LIMIT = SessionRecord._meta.get_field("end_reason").max_length or 500


@dataclass(slots=True)
class SessionFold:
    """One batch's events of one session, folded (what the batch adds to its row)."""

    session_id: str
    first: Entry  # the batch's first event of the session: identity and place
    started_at: datetime
    start: Entry | None = None  # its session.start, when the batch holds it
    ended_at: datetime | None = None
    end_reason: str = ""
    statements: int = 0
    denials: int = 0
    held: int = 0
    masked_values: int = 0
    masking_summary: int = 0  # masking.applied's total for the session (0: none seen)
    last_seq: int = 0

    def add(self, entry: Entry) -> None:
        action, payload = entry.action, entry.payload or {}
        self.started_at = min(self.started_at, entry.occurred_at)
        self.last_seq = max(self.last_seq, entry.agent_seq or 0)
        if action in STATEMENT_ACTIONS:
            self.statements += 1
            self.masked_values += _masked_count(payload.get("masked"))
            self.masked_values += _masked_count(payload.get("prompt_masked"))
            self.denials += 1 if payload.get("refused_by") else 0
        elif action in DENIAL_ACTIONS:
            self.denials += 1
            if action == REFUSED_ACTION:  # a refused connection never starts: it is over
                self._end(entry.occurred_at, f"refused: {payload.get('reason', '')}")
        elif action == HELD_ACTION:
            self.held += 1
        elif action == START_ACTION:
            self.start = entry
        elif action == END_ACTION:
            self._end(entry.occurred_at, str(payload.get("reason", "")))
        elif action == MASKING_SUMMARY_ACTION:
            self.masking_summary = max(self.masking_summary, _masked_count(payload.get("entities")))

    def _end(self, at: datetime, reason: str) -> None:
        self.ended_at = at
        self.end_reason = reason[:END_REASON_LIMIT]


def session_records_project(
    *, agent_id: Any, entries: Iterable[Entry], model: type[SessionRecord] = SessionRecord
) -> None:
    """Fold ``entries`` (events of one agent, each stored for the first time) into the
    session index. Runs in the caller's transaction, which holds the sequencer's lock.
    (``model``: the migration that indexes existing logs passes its historical model.)"""
    folds = sessions_fold(entries)
    if not folds:
        return
    existing = {
        record.session_id: record
        for record in model.objects.filter(agent_id=agent_id, session_id__in=list(folds))
    }
    new = [_record_new(model, agent_id, fold) for key, fold in folds.items() if key not in existing]
    for key, record in existing.items():
        _record_merge(record, folds[key])
    if new:
        model.objects.bulk_create(new)
    if existing:
        _records_update(model, list(existing.values()))


def session_records_rebuild(
    *, record_model: type[SessionRecord] = SessionRecord, event_model: Any = None
) -> int:
    """Rebuild the whole index from the agents' audit events; returns how many sessions it
    holds. Runs in one transaction under the sequencer's lock, so no batch lands halfway."""
    events = event_model or _audit_event_model()
    with transaction.atomic():
        log_lock()
        record_model.objects.all().delete()
        rows = (
            events.objects.filter(source="agent")
            .exclude(session="")
            .order_by("agent_id", "agent_seq")
            .values_list(*_EVENT_FIELDS)
        )
        for agent_id, chunk in _agent_chunks(rows.iterator(REBUILD_CHUNK)):
            session_records_project(agent_id=agent_id, entries=chunk, model=record_model)
        return record_model.objects.count()


REBUILD_CHUNK = 2000
_EVENT_FIELDS = (
    "agent_id", "agent_seq", "occurred_at", "action", "actor_sub", "actor_kind", "actor_name",
    "on_behalf_of_sub", "on_behalf_of_kind", "on_behalf_of_name", "resource", "protocol",
    "session", "payload",
)  # fmt: skip


def _agent_chunks(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, list[Entry]]]:
    """Stored events as entries, in chunks of one agent's events at most REBUILD_CHUNK long."""
    agent_id, chunk = None, []
    for row in rows:
        if chunk and (row[0] != agent_id or len(chunk) >= REBUILD_CHUNK):
            yield agent_id, chunk
            chunk = []
        agent_id = row[0]
        chunk.append(_stored_entry(row))
    if chunk:
        yield agent_id, chunk


def _stored_entry(row: tuple[Any, ...]) -> Entry:
    (_, seq, occurred_at, action, sub, kind, name, p_sub, p_kind, p_name) = row[:10]
    resource, protocol, session, payload = row[10:]
    return Entry(
        source="agent",
        occurred_at=occurred_at,
        received_at=occurred_at,
        action=action,
        actor=Person(sub, kind, name),
        on_behalf_of=Person(p_sub, p_kind, p_name) if (p_sub or p_name) else None,
        resource=resource,
        protocol=protocol,
        session=session,
        payload=payload if isinstance(payload, dict) else {},
        agent_seq=seq,
    )


def _audit_event_model() -> Any:
    from controlplane.audit.models import AuditEvent

    return AuditEvent


def sessions_fold(entries: Iterable[Entry]) -> dict[str, SessionFold]:
    """The batch folded per session id (events outside a session are left out)."""
    folds: dict[str, SessionFold] = {}
    for entry in entries:
        if not entry.session:
            continue
        fold = folds.get(entry.session)
        if fold is None:
            fold = folds[entry.session] = SessionFold(
                session_id=entry.session, first=entry, started_at=entry.occurred_at
            )
        fold.add(entry)
    return folds


def _records_update(model: type[SessionRecord], records: list[SessionRecord]) -> None:
    """One parametrised UPDATE run for every row (psycopg pipelines it, SQLite loops in C):
    Django's ``bulk_update`` builds a CASE expression per field and row, which cost tens of
    milliseconds per batch in Python where the database needs one or two."""
    quote = connection.ops.quote_name
    columns = [model._meta.get_field(name).column for name in _MERGED_FIELDS]
    assignments = ", ".join(f"{quote(column)} = %s" for column in columns)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"
    fields = [model._meta.get_field(name) for name in _MERGED_FIELDS]
    rows = [
        [field.get_db_prep_save(getattr(record, field.attname), connection) for field in fields]
        + [record.pk]
        for record in records
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _record_new(model: type[SessionRecord], agent_id: Any, fold: SessionFold) -> SessionRecord:
    record = model(agent_id=agent_id, session_id=fold.session_id)
    record.started_at = fold.started_at
    _identity_take(record, fold.start or fold.first)
    _record_merge(record, fold)
    return record


_MERGED_FIELDS = [
    "actor_sub", "actor_name", "actor_kind", "on_behalf_of_sub", "on_behalf_of_name",
    "resource", "protocol", "client_address", "grant_id", "started_at", "ended_at",
    "end_reason", "statements", "denials", "held", "masked_values", "last_seq",
]  # fmt: skip


def _record_merge(record: SessionRecord, fold: SessionFold) -> None:
    """Add ``fold`` to ``record`` (a new row, or one earlier batches made)."""
    record.started_at = min(record.started_at, fold.started_at)
    if fold.start is not None:  # the start event knows the session best
        _identity_take(record, fold.start)
        payload = fold.start.payload or {}
        record.client_address = str(payload.get("client_address", ""))[:100]
        record.grant_id = str(payload.get("grant", ""))[:64]
    elif not record.actor_sub and fold.first.actor.sub:
        _identity_take(record, fold.first)
    if fold.ended_at is not None:
        record.ended_at, record.end_reason = fold.ended_at, fold.end_reason
    record.statements += fold.statements
    record.denials += fold.denials
    record.held += fold.held
    record.masked_values = max(record.masked_values + fold.masked_values, fold.masking_summary)
    record.last_seq = max(record.last_seq, fold.last_seq)


def _identity_take(record: SessionRecord, entry: Entry) -> None:
    principal = entry.on_behalf_of
    record.actor_sub, record.actor_kind = entry.actor.sub, entry.actor.kind
    record.actor_name = entry.actor.name
    record.on_behalf_of_sub = principal.sub if principal else ""
    record.on_behalf_of_name = principal.name if principal else ""
    record.resource, record.protocol = entry.resource, entry.protocol
    if not record.client_address:
        record.client_address = str((entry.payload or {}).get("client_address", ""))[:100]


def _masked_count(counts: object) -> int:
    """The values masked, from an ``{entity: count}`` object (anything else counts 0)."""
    if not isinstance(counts, Mapping):
        return 0
    return sum(value for value in counts.values() if type(value) is int and value > 0)

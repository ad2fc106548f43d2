"""ResultMasker on the recorded conversations of psql, psycopg and asyncpg (transcripts/).

The recordings hold no personal data, so with the real engine behind it the ResultMasker
must send every server message exactly as it came, and never lose track of a row's shape
(which would end a statement with an error): prepared statements, binary results,
pipelines with errors, cursors and COPY in both directions as real clients drive them.
"""

from __future__ import annotations

import pytest

from dataplane.protocols.postgres.wire import messages as m
from dataplane.protocols.postgres.wire.framing import MessageFramer
from dataplane.protocols.postgres.wire.result_masking import MASKING_FAILED_SQLSTATE, ResultMasker
from dataplane.protocols.postgres.wire.statements import StatementFinished, StatementTracker
from tests.dataplane.protocols.postgres.replay import Replay, load, scenarios
from tests.dataplane.protocols.postgres.test_pg_result_masking import EngineMasker


class MaskingTee:
    """Stands where the Replay puts its tracker: feeds both the tracker and a ResultMasker,
    and records what each server message became."""

    def __init__(self, results: ResultMasker) -> None:
        self.tracker = StatementTracker()
        self.results = results
        self.received: list[bytes] = []
        self.sent: list[bytes] = []

    def client_message(self, message_type: int, body: bytes) -> None:
        self.tracker.client_message(message_type, body)
        self.results.client_message(message_type, body)

    def server_message(self, message_type: int, body: bytes) -> list[StatementFinished]:
        self.received.append(m.framed(message_type, body))
        self.sent.append(self.results.server_message(message_type, body))
        return self.tracker.server_message(message_type, body)


def masked_replay(scenario: str, masker: EngineMasker) -> MaskingTee:
    replay = Replay()
    tee = MaskingTee(ResultMasker(masker))
    replay.tracker = tee  # type: ignore[assignment]
    replay.client, replay.server = MessageFramer(), MessageFramer()  # whole bodies
    replay.play(load(scenario))
    return tee


@pytest.mark.parametrize("scenario", scenarios())
def test_a_real_conversation_without_personal_data_passes_byte_for_byte(scenario):
    masker = EngineMasker()
    tee = masked_replay(scenario, masker)
    assert tee.results.take_failures() == []
    assert tee.sent == tee.received
    assert len(tee.received) > 5


def test_asyncpg_binary_results_are_decoded_and_scanned():
    masker = EngineMasker()
    masked_replay("asyncpg_session", masker)
    assert any(method == "must_null" for method, _, _ in masker.calls)


@pytest.mark.parametrize("scenario", scenarios())
def test_a_masker_that_always_fails_ends_each_statement_before_its_rows(scenario):
    """Every value that needs masking fails: after the gateway's error no row, COPY data
    or command tag of that statement reaches the client, and ReadyForQuery still does."""
    masker = EngineMasker(fail_on="")
    tee = masked_replay(scenario, masker)
    sent = MessageFramer().feed(b"".join(tee.sent))
    ended = False
    for message_type, body in sent:
        if message_type == m.ERROR_RESPONSE:
            ended = ended or m.parse_error_fields(body)["C"] == MASKING_FAILED_SQLSTATE
        elif message_type == m.READY_FOR_QUERY:
            ended = False
        else:
            assert not (ended and message_type in (m.DATA_ROW, m.COPY_DATA, m.COMMAND_COMPLETE))
    failures = tee.results.take_failures()
    assert bool(failures) == bool(masker.calls)
    assert set(failures) <= {"masking took longer than its budget"}

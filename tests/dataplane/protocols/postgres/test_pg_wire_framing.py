"""MessageFramer and StartupFramer: message boundaries of the two phases of a connection."""

from __future__ import annotations

import tracemalloc

import pytest

from dataplane.protocols.postgres.wire.errors import ProtocolViolation
from dataplane.protocols.postgres.wire.framing import MessageFramer, StartupFramer
from tests.dataplane.protocols.postgres import pgbytes as pg

D, Q, COPY_DATA = ord("D"), ord("Q"), ord("d")


# -- typed phase ----------------------------------------------------------------------------------
def test_the_length_counts_itself_but_not_the_type_byte():
    assert MessageFramer().feed(b"Q\x00\x00\x00\x06hi") == [(Q, b"hi")]


def test_several_messages_in_one_chunk_come_out_in_order():
    chunk = pg.query("SELECT 1") + pg.sync() + pg.terminate()
    assert MessageFramer().feed(chunk) == [(Q, b"SELECT 1\x00"), (ord("S"), b""), (ord("X"), b"")]


def test_a_message_split_across_chunks_comes_out_once_complete():
    framer = MessageFramer()
    message = pg.query("SELECT 42")
    assert framer.feed(message[:3]) == []
    assert framer.buffered == 3
    assert framer.feed(message[3:9]) == []
    assert framer.feed(message[9:] + message[:1]) == [(Q, b"SELECT 42\x00")]
    assert framer.buffered == 1


def test_buffered_is_zero_exactly_at_message_boundaries():
    framer = MessageFramer(wanted=frozenset())
    message = pg.data_row(b"x" * 100)
    for size in range(1, len(message)):
        framer.feed(message[size - 1 : size])
        assert framer.buffered == size
    framer.feed(message[-1:])
    assert framer.buffered == 0


def test_a_length_below_4_is_a_protocol_violation():
    with pytest.raises(ProtocolViolation, match="too short"):
        MessageFramer().feed(b"Q\x00\x00\x00\x03")


def test_a_length_over_the_limit_is_refused_before_the_body_arrives():
    framer = MessageFramer(max_message_size=1000)
    assert framer.feed(pg.query("x" * 994)) == [(Q, b"x" * 994 + b"\x00")]
    with pytest.raises(ProtocolViolation, match="limit of 1000"):
        framer.feed(b"Q\x00\x00\x03\xea")  # 1002


def test_thousands_of_data_rows_in_one_chunk_come_out_as_types_without_bodies():
    rows = pg.data_row(b"1", b"abc") * 5000
    chunk = rows + pg.command_complete("SELECT 5000") + pg.ready_for_query()
    framed = MessageFramer(wanted=frozenset({ord("C"), ord("Z")})).feed(chunk)
    assert framed[:5000] == [(D, b"")] * 5000
    assert framed[5000:] == [(ord("C"), b"SELECT 5000\x00"), (ord("Z"), b"I")]


def test_unwanted_bodies_are_skipped_without_being_buffered():
    body = b"x" * (32 * 1024 * 1024)
    stream = pg.copy_data(body) + pg.copy_done()
    framer = MessageFramer(wanted=frozenset({ord("c")}))
    chunks = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]
    tracemalloc.start()
    framed = [message for chunk in chunks for message in framer.feed(chunk)]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert framed == [(COPY_DATA, b""), (ord("c"), b"")]
    assert peak < 1024 * 1024, "a skipped body is neither copied nor buffered"


def test_wanted_bodies_are_returned_whole_however_they_were_chunked():
    body = bytes(range(256)) * 1000
    stream = pg.copy_data(body)
    framer = MessageFramer(wanted=frozenset({COPY_DATA}))
    framed = [m for i in range(0, len(stream), 4096) for m in framer.feed(stream[i : i + 4096])]
    assert framed == [(COPY_DATA, body)]


# -- startup phase --------------------------------------------------------------------------------
SSL_REQUEST = pg.startup_packet(80877103)
STARTUP = pg.startup_packet(196608, pg.startup_parameters(user="alice", database="appdb"))


def test_startup_packets_come_out_without_their_length():
    assert StartupFramer().feed(SSL_REQUEST) == [SSL_REQUEST[4:]]


def test_a_startup_packet_split_across_chunks_comes_out_once_complete():
    framer = StartupFramer()
    assert framer.feed(STARTUP[:2]) == []
    assert framer.feed(STARTUP[2:10]) == []
    assert framer.feed(STARTUP[10:]) == [STARTUP[4:]]


def test_framing_goes_on_after_an_ssl_request_and_stops_after_the_startup_message():
    framer = StartupFramer()
    typed = pg.query("SELECT 1")
    assert framer.feed(SSL_REQUEST + STARTUP + typed) == [SSL_REQUEST[4:], STARTUP[4:]]
    assert framer.finished
    assert framer.buffered == len(typed)
    assert framer.feed(b"more") == []
    assert framer.take_remaining() == typed + b"more"
    assert framer.buffered == 0


def test_framing_stops_after_a_cancel_request():
    framer = StartupFramer()
    cancel = pg.startup_packet(80877102, pg.i32(1234) + pg.i32(5678))
    assert framer.feed(cancel + cancel) == [cancel[4:]]
    assert framer.finished


@pytest.mark.parametrize("length", [0, 4, 7, 10_001, 2**31 - 1])
def test_startup_packet_lengths_below_8_or_over_10000_are_protocol_violations(length):
    with pytest.raises(ProtocolViolation, match="invalid length of startup packet"):
        StartupFramer().feed(length.to_bytes(4, "big") + b"\x00" * 8)


def test_the_largest_startup_packet_is_accepted():
    packet = pg.startup_packet(196608, b"u" * (10_000 - 8))
    assert StartupFramer().feed(packet) == [packet[4:]]

"""Record byte transcripts of real PostgreSQL clients, for the wire-layer tests (not a test).

The tests under this folder replay these transcripts through MessageFramer and
StatementTracker without any socket, so they pin the tracker to what psql, psycopg and
asyncpg really send, and to what PostgreSQL really answers.

How it works: a throwaway TCP relay listens on 127.0.0.1 (random port) in front of a local
PostgreSQL, forwards bytes unchanged both ways and records every chunk it reads, in order,
with its direction. A chunk is recorded before it is forwarded, so the order of the
recording is causal: a server answer always comes after the client bytes it answers. Each
scenario below is one client connection and becomes one file in ./transcripts/.

Re-capture (PostgreSQL with trust auth for user postgres on 127.0.0.1:5432, psql on PATH):

    .venv/bin/python tests/dataplane/protocols/postgres/capture_transcripts.py [--port 5432]

then re-check the expected events in test_pg_wire_transcripts.py: backend keys, versions and
timings change with every capture, the statements and their outcomes must not. Scenarios only
use temporary tables, so nothing is left behind in the database.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime
import json
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import asyncpg
import psycopg

TRANSCRIPTS = Path(__file__).parent / "transcripts"
TRANSCRIPT_FORMAT = 1


class RecordingRelay:
    """Relays one client connection at a time to PostgreSQL and records its chunks."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.chunks: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.finished = threading.Event()
        threading.Thread(target=self._accept_forever, daemon=True).start()

    def take_recording(self) -> list[tuple[str, bytes]]:
        """The chunks of the last connection, once both sides have closed."""
        if not self.finished.wait(timeout=10):
            raise RuntimeError("the recorded connection did not close")
        self.finished.clear()
        with self.lock:
            chunks, self.chunks = self.chunks, []
        return chunks

    def _accept_forever(self) -> None:
        while True:
            client, _ = self.listener.accept()
            server = socket.create_connection(self.upstream)
            pumps = [
                threading.Thread(target=self._pump, args=(client, server, "c")),
                threading.Thread(target=self._pump, args=(server, client, "s")),
            ]
            for pump in pumps:
                pump.start()
            for pump in pumps:
                pump.join()
            client.close()
            server.close()
            self.finished.set()

    def _pump(self, source: socket.socket, sink: socket.socket, direction: str) -> None:
        while data := _receive(source):
            with self.lock:
                self.chunks.append((direction, data))
            sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _receive(source: socket.socket) -> bytes:
    try:
        return source.recv(65536)
    except OSError:
        return b""


# -- scenarios: each one client connection ---------------------------------------------------
def psql_simple(port: int) -> None:
    """psql -c: several statements in one Query, then an error, then a query after it."""
    _psql(
        port,
        "SELECT 1 AS one; SELECT generate_series(1, 3) AS n",
        "CREATE TEMP TABLE t (a int); INSERT INTO t VALUES (1), (2); "
        "UPDATE t SET a = a + 1; DELETE FROM t WHERE a = 3",
        "SELECT 1/0",
        "SELECT 'after the error'",
    )


def psql_copy(port: int) -> None:
    """psql: COPY FROM STDIN (data from psql's stdin) and COPY TO STDOUT."""
    _psql(
        port,
        "CREATE TEMP TABLE c (a int, b text)",
        "COPY c FROM STDIN",
        "COPY c TO STDOUT",
        stdin="1\tone\n2\ttwo\n3\tthree\n\\.\n",
    )


def psycopg_prepared(port: int) -> None:
    """psycopg prepare=True: a named prepared statement, parsed once, executed three times."""
    with psycopg.connect(_dsn(port), autocommit=True) as conn:
        for i in range(3):
            conn.execute("SELECT %s::int * 2 AS doubled", (i,), prepare=True).fetchall()
        conn.execute("SELECT %s::text || %s::text", ("a", "b")).fetchall()


def psycopg_binary(port: int) -> None:
    """psycopg binary results, and an extended-protocol syntax error (fails at Parse)."""
    with psycopg.connect(_dsn(port), autocommit=True) as conn:
        row = (7, "seven", b"\x00\x07")
        conn.execute("SELECT %s::int, %s::text, %s::bytea", row, binary=True).fetchall()
        with contextlib.suppress(psycopg.errors.SyntaxError):
            conn.execute("SELEC %s", (1,))
        conn.execute("SELECT generate_series(1, 4)", binary=True).fetchall()


def psycopg_pipeline_error(port: int) -> None:
    """psycopg pipeline: three INSERTs before one Sync; the second fails, the third is skipped."""
    with psycopg.connect(_dsn(port), autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE p (a int)")
        try:
            with conn.pipeline():
                conn.execute("INSERT INTO p VALUES (%s)", (1,))
                conn.execute("INSERT INTO p VALUES (1 / %s)", (0,))
                conn.execute("INSERT INTO p VALUES (%s)", (3,))
        except psycopg.errors.DivisionByZero:
            pass
        conn.execute("SELECT count(*) FROM p").fetchall()


def psycopg_copy(port: int) -> None:
    """psycopg COPY FROM STDIN, COPY TO STDOUT, and a COPY the client aborts (CopyFail)."""
    with psycopg.connect(_dsn(port), autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE k (id int, note text)")
        with conn.cursor() as cur:
            with cur.copy("COPY k FROM STDIN") as copy:
                for i in range(5):
                    copy.write_row((i, f"note {i}"))
            with cur.copy("COPY k TO STDOUT") as copy:
                list(copy.rows())
            try:
                with cur.copy("COPY k FROM STDIN") as copy:
                    copy.write_row((99, "never"))
                    raise _ClientAbort  # psycopg sends CopyFail, then re-raises this
            except _ClientAbort:
                pass


class _ClientAbort(Exception):
    pass


def asyncpg_session(port: int) -> None:
    """asyncpg: statement cache, prepare(), executemany, a cursor (PortalSuspended), a simple
    multi-statement execute and a syntax error."""

    async def scenario() -> None:
        conn = await asyncpg.connect(
            host="127.0.0.1", port=port, user="postgres", database="postgres", ssl=False
        )
        try:
            for i in range(2):
                await conn.fetchval("SELECT $1::int + 1", i)
            statement = await conn.prepare("SELECT $1::text || '!'")
            await statement.fetchval("hi")
            await conn.execute("CREATE TEMP TABLE a (x int); INSERT INTO a VALUES (0)")
            await conn.executemany("INSERT INTO a VALUES ($1)", [(i,) for i in range(1, 4)])
            async with conn.transaction():
                async for _ in conn.cursor("SELECT x FROM a ORDER BY x", prefetch=3):
                    pass
            with contextlib.suppress(asyncpg.PostgresSyntaxError):
                await conn.fetch("SELEC 1")
        finally:
            await conn.close()

    asyncio.run(scenario())


SCENARIOS: list[Callable[[int], None]] = [
    psql_simple,
    psql_copy,
    psycopg_prepared,
    psycopg_binary,
    psycopg_pipeline_error,
    psycopg_copy,
    asyncpg_session,
]


def _dsn(port: int) -> str:
    options = "user=postgres dbname=postgres sslmode=disable gssencmode=disable"
    return f"host=127.0.0.1 port={port} {options}"


def _psql(port: int, *commands: str, stdin: str = "") -> None:
    argv = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=0", _dsn(port)]
    for command in commands:
        argv += ["-c", command]
    subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30, check=False)


def _versions(port: int) -> dict[str, str]:
    psql = subprocess.run(["psql", "--version"], capture_output=True, text=True, check=True)
    with psycopg.connect(_dsn(port)) as conn:
        server = conn.execute("SHOW server_version").fetchone()
    return {
        "server": f"PostgreSQL {server[0] if server else '?'}",
        "psql": psql.stdout.strip(),
        "psycopg": psycopg.__version__,
        "asyncpg": asyncpg.__version__,
    }


def capture(host: str, port: int) -> None:
    versions = _versions(port)
    relay = RecordingRelay((host, port))
    TRANSCRIPTS.mkdir(exist_ok=True)
    for scenario in SCENARIOS:
        scenario(relay.port)
        chunks = relay.take_recording()
        document = {
            "format": TRANSCRIPT_FORMAT,
            "scenario": scenario.__name__,
            "description": (scenario.__doc__ or "").strip(),
            "captured_at": datetime.date.today().isoformat(),
            "versions": versions,
            "chunks": [[direction, base64.b64encode(data).decode()] for direction, data in chunks],
        }
        path = TRANSCRIPTS / f"{scenario.__name__}.json"
        path.write_text(_render(document))
        print(f"{path}: {len(chunks)} chunks")


def _render(document: dict[str, object]) -> str:
    """Indented JSON, one chunk per line, so a diff shows which exchange changed."""
    chunks = document["chunks"]
    assert isinstance(chunks, list)
    head = json.dumps({**document, "chunks": []}, indent=1)[: -len("[]\n}")]
    lines = ",\n".join(f"  {json.dumps(chunk)}" for chunk in chunks)
    return f"{head}[\n{lines}\n ]\n}}\n"


if __name__ == "__main__":
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--host", default="127.0.0.1")
    arguments.add_argument("--port", type=int, default=5432)
    options = arguments.parse_args()
    capture(options.host, options.port)

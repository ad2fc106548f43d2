"""A real local HTTP server that answers from a script, for the command line's tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

Answer = tuple[int, Any]


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class ScriptedServer:
    """``routes[(method, path)]`` answers a request (a callable gets the Seen request and
    returns (status, json)); every request is kept in ``seen``."""

    url: str = ""
    routes: dict[tuple[str, str], Answer | Callable[[Seen], Answer]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def answer(self, request: Seen) -> Answer:
        self.seen.append(request)
        route = self.routes.get((request.method, request.path))
        if route is None:
            return 404, {"detail": "Not found."}
        return route(request) if callable(route) else route

    def requests_to(self, path: str) -> list[Seen]:
        return [request for request in self.seen if request.path == path]


def _handler(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            if self.headers.get("Content-Type", "").startswith("application/json") and raw:
                body: Any = json.loads(raw)
            else:
                body = {key: values[0] for key, values in parse_qs(raw).items()}
            seen = Seen(self.command, parts.path, parse_qs(parts.query), dict(self.headers), body)
            status, payload = server.answer(seen)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, name="scripted-http", daemon=True)
    thread.start()
    yield server
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)

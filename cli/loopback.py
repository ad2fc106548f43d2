"""The loopback redirect of a native app (RFC 8252 §7.3): a one-shot HTTP listener on
127.0.0.1, on a port the system picks, that receives the browser's redirect back from the
provider.

    with LoopbackRedirect(timeout_seconds=300) as redirect:
        url = flow.start(redirect.redirect_uri)   # http://127.0.0.1:<port>/callback
        ...open url in the browser...
        tokens = redirect.wait(flow.finish)       # finish(query) runs on the first callback

The first request to ``/callback`` is handed to ``on_callback`` and answered with a small
page saying how the sign-in went; then the listener closes. Other paths (a favicon) get a
404 and do not count. No answer before the deadline is a ``RedirectTimeout``.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl, urlsplit

from cli.durations import duration_format
from cli.tokens import SignInError

CALLBACK_PATH = "/callback"
DEFAULT_TIMEOUT_SECONDS = 300
# A connection that sends nothing (a browser's speculative preconnect) must not hold the
# one-shot listener until the sign-in times out.
REQUEST_READ_TIMEOUT_SECONDS = 10

T = TypeVar("T")


class RedirectTimeout(SignInError):
    """The browser never came back to the listener."""


class _CallbackServer(HTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CallbackRequest)
        self.on_callback: Callable[[dict[str, str]], object] = lambda _query: None
        self.answered = False
        self.result: object = None
        self.failure: Exception | None = None

    def callback(self, query: dict[str, str]) -> None:
        """Run ``on_callback`` once; keep its result or its exception for ``wait``."""
        self.answered = True
        try:
            self.result = self.on_callback(query)
        except Exception as exc:  # re-raised by wait(), in the command's own thread
            self.failure = exc

    def handle_error(self, request: object, client_address: object) -> None:
        """Silent: a browser dropping a connection is not worth a traceback on the terminal
        (what matters, the callback's outcome, reaches ``wait`` through ``failure``)."""


class _CallbackRequest(BaseHTTPRequestHandler):
    server: _CallbackServer
    timeout = REQUEST_READ_TIMEOUT_SECONDS

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH or self.server.answered:
            self._page(404, "Not found", "This is the gatehouse command line's sign-in listener.")
            return
        self.server.callback(dict(parse_qsl(parts.query)))
        failure = self.server.failure
        if failure is not None:
            reason = str(failure) if isinstance(failure, SignInError) else "an error"
            self._page(400, "Sign-in failed", f"{reason}. Return to the terminal.")
        else:
            self._page(200, "Signed in", "You can close this tab and return to the terminal.")

    def _page(self, status: int, title: str, text: str) -> None:
        body = (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} - '
            f"Gatehouse</title></head><body><main><h1>{title}</h1><p>{html.escape(text)}</p>"
            "</main></body></html>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request line holds the authorization code."""


class LoopbackRedirect:
    def __init__(
        self,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self._clock = clock
        self._server = _CallbackServer()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        # The IP literal, not "localhost", which could resolve elsewhere (RFC 8252 §8.3).
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    def wait(self, on_callback: Callable[[dict[str, str]], T]) -> T:
        """Serve until the first callback, answer it with ``on_callback(query)``'s outcome,
        close the listener and return that outcome (or raise its exception)."""
        self._server.on_callback = on_callback
        deadline = self._clock() + self.timeout_seconds
        try:
            while not self._server.answered:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise RedirectTimeout(self._timeout_message())
                self._server.timeout = remaining
                self._server.handle_request()
        finally:
            self.close()
        if self._server.failure is not None:
            raise self._server.failure
        return cast(T, self._server.result)

    def close(self) -> None:
        self._server.server_close()

    def __enter__(self) -> LoopbackRedirect:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _timeout_message(self) -> str:
        waited = duration_format(self.timeout_seconds)
        return f"the browser did not come back within {waited}: run `gatehouse login` again"

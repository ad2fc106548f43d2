"""HTTP for the witness: stdlib `ThreadingHTTPServer`, one route, `POST /add-checkpoint`."""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ledger.witness.protocol import Response, Witness

log = logging.getLogger("ledger.witness")

MAX_BODY = 64 << 10  # an old line, 63 proof lines and a checkpoint with signatures fit easily
ROUTE = "/add-checkpoint"


class WitnessServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], witness: Witness) -> None:
        super().__init__(address, WitnessRequest)
        self.witness = witness


class WitnessRequest(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as tlog-witness recommends
    timeout = 30  # seconds of client silence before the connection's thread gives up
    server: WitnessServer

    def do_POST(self) -> None:
        if self.path != ROUTE:
            self._send(Response(404, "no such endpoint\n"))
            return
        body = self._body()
        if body is None:
            return
        try:
            response = self.server.witness.add_checkpoint(body)
        except Exception:  # a witness answers 500 and keeps serving: it never crashes on input
            log.exception("internal error handling add-checkpoint")
            response = Response(500, "internal error\n")
        self._send(response)

    def do_GET(self) -> None:
        self._send(Response(405 if self.path == ROUTE else 404, "use POST /add-checkpoint\n"))

    def _body(self) -> bytes | None:
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) > MAX_BODY:
            self.close_connection = True
            self._send(Response(400, f"a Content-Length up to {MAX_BODY} bytes is required\n"))
            return None
        return self.rfile.read(int(length))

    def _send(self, response: Response) -> None:
        data = response.body.encode("utf-8")
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)

"""A raw PostgreSQL wire client for tests that must send what no real client would."""

from __future__ import annotations

import socket
import ssl
import struct

from dataplane.protocols.postgres.wire import messages


class RawClient:
    """Speaks just enough protocol v3 to reach an established session, then sends raw bytes."""

    def __init__(self, port: int, *, tls: bool = True) -> None:
        self.sock: socket.socket | ssl.SSLSocket = socket.create_connection(
            ("127.0.0.1", port), timeout=10
        )
        if tls:
            self.sock.sendall(messages.ssl_request())
            assert self.sock.recv(1) == b"S"
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self.sock = context.wrap_socket(self.sock)

    def login(self, *, resource: str, token: str) -> None:
        self.sock.sendall(messages.startup_message({"user": "raw", "database": resource}))
        kind, _ = self.read_message()
        assert kind == ord("R"), chr(kind)
        self.sock.sendall(messages.password_message(token.encode()))
        while True:
            kind, body = self.read_message()
            if kind == ord("E"):
                raise AssertionError(f"login refused: {messages.parse_error_fields(body)}")
            if kind == ord("Z"):
                return

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_message(self) -> tuple[int, bytes]:
        header = self._read_exactly(5)
        kind, length = header[0], struct.unpack("!I", header[1:])[0]
        return kind, self._read_exactly(length - 4)

    def read_error(self) -> dict[str, str]:
        """The next ErrorResponse's fields (skipping anything before it)."""
        while True:
            kind, body = self.read_message()
            if kind == ord("E"):
                return messages.parse_error_fields(body)

    def closed_by_peer(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except (ConnectionError, ssl.SSLError):
            return True

    def _read_exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed by peer")
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()

"""libpq connection strings (``key=value`` pairs, PostgreSQL docs §34.1.1)."""

from __future__ import annotations

import re

_PLAIN = re.compile(r"^[A-Za-z0-9_.:/@+-]+$")


def conninfo_value(value: str) -> str:
    """``value`` as libpq reads it: bare when plain, else single-quoted with ``\\`` escapes."""
    if _PLAIN.match(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def conninfo(**parts: str | int) -> str:
    return " ".join(f"{key}={conninfo_value(str(value))}" for key, value in parts.items())


def address_split(address: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``) → (host, port); raises ValueError."""
    host, sep, port = address.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{address!r} is not host:port")
    return host, int(port)

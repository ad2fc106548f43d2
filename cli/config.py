"""The command line's configuration and cached credentials, in one JSON file:
``$XDG_CONFIG_HOME/gatehouse/config.json`` (``~/.config/...`` without XDG), mode 0600 in a
0700 directory, since it holds the person's provider tokens.

    {"format": 1,
     "control_plane": "https://gatehouse.example.com",
     "login": {"kind": "oidc", "issuer": ..., "client_id": ..., "id_token": ...,
               "access_token": ..., "expires_at": 1767000000, "refresh_token": ...}
           | {"kind": "api_key", "api_key_file": "/abs/path"}}

An API key stays in the file the operator gave (its path is stored, not the key), so a
rotated key is picked up without logging in again. ``refresh_token`` is there only when the
provider granted ``offline_access``; logins stored before it existed simply lack it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; concurrent renewals may race there
    fcntl = None  # type: ignore[assignment]

FORMAT = 1
CONTROL_PLANE_VARIABLE = "GATEHOUSE_URL"


class ConfigError(Exception):
    """The configuration is missing something or can't be read; the message says what to do."""


class LoginExpired(ConfigError):
    """The stored sign-in has expired (or there is none)."""


def config_path(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "gatehouse" / "config.json"


@dataclass
class Config:
    control_plane: str = ""
    login: dict[str, Any] = field(default_factory=dict)

    def control_plane_url(self, override: str | None, environ: dict[str, str]) -> str:
        """``--control-plane``, else ``$GATEHOUSE_URL``, else the stored URL."""
        url = override or environ.get(CONTROL_PLANE_VARIABLE) or self.control_plane
        if not url:
            raise ConfigError(
                "no control plane: pass --control-plane URL or set GATEHOUSE_URL "
                "(gatehouse login remembers it)"
            )
        return url.rstrip("/")

    def authorization(self, *, now: float | None = None) -> str:
        """The Authorization header value for the stored login."""
        kind = self.login.get("kind")
        if kind == "api_key":
            return f"ApiKey {_api_key_read(Path(self.login['api_key_file']))}"
        if kind == "oidc":
            expires_at = float(self.login.get("expires_at", 0))
            if expires_at <= (time.time() if now is None else now):
                raise LoginExpired("your sign-in has expired: run `gatehouse login`")
            return f"Bearer {self.login['id_token']}"
        raise LoginExpired("you are not signed in: run `gatehouse login`")


def config_load(path: Path) -> Config:
    """The stored configuration (empty when there is no file yet)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Config()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ConfigError(f"{path} is not a gatehouse configuration of format {FORMAT}")
    return Config(control_plane=str(raw.get("control_plane", "")), login=raw.get("login") or {})


def config_save(path: Path, config: Config) -> None:
    """Write ``config`` atomically, readable by its owner only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    body = {"format": FORMAT, "control_plane": config.control_plane, "login": config.login}
    temporary = path.with_name(path.name + ".tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(temporary, flags, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an old temporary file keeps its mode otherwise
        json.dump(body, handle, indent=2)
        handle.write("\n")
    os.replace(temporary, path)


@contextmanager
def config_locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside ``path``: two commands renewing the sign-in at once
    would each spend the same rotating refresh token, and the provider revokes a reused one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _api_key_read(path: Path) -> str:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the API key file {path}: {exc.strerror}") from None
    if not key or any(ch.isspace() for ch in key):
        raise ConfigError(f"{path} does not hold one API key")
    return key

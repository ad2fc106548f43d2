"""Typed, loud readers for configuration from the environment.

Every reader names the variable in its error, so a bad deployment fails at start with a
message that says what to fix instead of failing later with a confusing traceback.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def env_str(name: str, default: str = "") -> str:
    """The variable's value, or ``default`` when it is unset or empty."""
    value = os.environ.get(name, "")
    return value if value != "" else default


def env_bool(name: str, default: bool) -> bool:
    """A boolean: 1/true/yes/on or 0/false/no/off (any case)."""
    value = env_str(name).strip().lower()
    if value == "":
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An integer, optionally bounded (inclusive)."""
    raw = env_str(name).strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, not {value}")
    return value


def env_list(name: str, default: Sequence[str]) -> list[str]:
    """A comma-separated list; blanks around items are ignored."""
    raw = env_str(name)
    if raw.strip() == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: Sequence[str]) -> str:
    """One of a fixed set of values (compared case-insensitively, returned as listed)."""
    raw = env_str(name).strip()
    if raw == "":
        return default
    for choice in choices:
        if raw.lower() == choice.lower():
            return choice
    raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {raw!r}")


def env_secret(name: str, *, required: bool = False) -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (not both).

    Reading from a file keeps secrets out of the process environment (Docker and
    Kubernetes secrets are mounted as files). Trailing newlines in the file are dropped.
    """
    direct = env_str(name)
    path = env_str(f"{name}_FILE")
    if direct and path:
        raise ImproperlyConfigured(f"set either {name} or {name}_FILE, not both")
    value = _read_secret_file(f"{name}_FILE", path) if path else direct
    if required and value == "":
        raise ImproperlyConfigured(f"{name} (or {name}_FILE) is required")
    return value


def _read_secret_file(variable: str, path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ImproperlyConfigured(f"{variable}: cannot read {path}: {exc.strerror}") from None

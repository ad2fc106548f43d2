"""What the management commands share: turning service errors into clean command errors,
and handing a freshly issued secret to the operator exactly once.

A secret goes alone on stdout (so ``KEY=$(manage.py ...)`` works) or, with an output file,
into a file only its owner can read; everything else goes to stderr.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class ServiceCommand(BaseCommand):
    """A management command that calls services; their ValidationErrors exit with a
    one-line message instead of a traceback."""

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None

    def emit_secret(self, *, secret: str, out_path: str | None, what: str) -> None:
        """Print ``secret`` on stdout, or write it to ``out_path`` with mode 0600."""
        if out_path:
            secret_file_write(Path(out_path), secret)
            self.stderr.write(f"wrote {what} to {out_path} (mode 0600)")
        else:
            self.stdout.write(secret)


def validation_message(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)


def secret_file_write(path: Path, secret: str) -> None:
    """Create or truncate ``path`` with mode 0600 and write the secret and a newline."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        # An existing file keeps its old mode through O_CREAT; tighten it before writing.
        os.fchmod(handle.fileno(), 0o600)
        handle.write(secret + "\n")

"""The verifier as an auditor runs it: `python -m ledger.verify` in its own process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def verify(bundle: Path, *args: str) -> tuple[int, str]:
    """Run the verifier CLI; return its exit code and its one-line verdict."""
    done = subprocess.run(
        [sys.executable, "-m", "ledger.verify", str(bundle), "--quiet", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, (done.stdout + done.stderr).strip()

"""`make run` as a new user meets it: the banner's psql line works and lands in the audit log."""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from devstack.gatehouse import REPO

pytestmark = pytest.mark.integration


def _read_banner(process: subprocess.Popen[bytes], timeout_s: float = 120) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    text, deadline = "", time.monotonic() + timeout_s
    while "Ctrl-C stops everything" not in text:
        if time.monotonic() > deadline or process.poll() is not None:
            raise AssertionError(f"no banner; output so far:\n{text}")
        if selector.select(timeout=0.5):  # raw reads: a buffered reader would hide lines
            text += os.read(process.stdout.fileno(), 65536).decode(errors="replace")
    return text


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_make_run_prints_a_psql_line_that_works_and_is_audited(tmp_path: Path) -> None:
    env = {**os.environ, "GATEHOUSE_EMBEDDED_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.embedded"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        banner = _read_banner(process)
        psql_line = re.search(r'psql "([^"]+)"', banner).group(1)
        cp_url = re.search(r"control plane\s+(http://\S+)", banner).group(1)
        agent_port = int(re.search(r"PostgreSQL on 127\.0\.0\.1:(\d+)", banner).group(1))

        done = subprocess.run(
            ["psql", "-X", "-At", psql_line, "-c", "select 6 * 7"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "42"

        admin_key = (tmp_path / "controlplane" / "admin.api-key").read_text().strip()
        request = urllib.request.Request(
            f"{cp_url}/api/v1/audit/events?actor=demo-agent&action=statement",
            headers={"Authorization": f"ApiKey {admin_key}"},
        )
        deadline = time.monotonic() + 15
        while True:
            with urllib.request.urlopen(request, timeout=10) as response:
                events = json.load(response)["results"]
            if any(e["payload"]["statement"] == "select 6 * 7" for e in events):
                break
            assert time.monotonic() < deadline, events
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        process.wait(timeout=30)
    assert not _listening(agent_port)
    assert not _listening(int(cp_url.rsplit(":", 1)[1]))

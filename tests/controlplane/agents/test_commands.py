"""create_agent prints the token once, or writes it to a 0600 file."""

from __future__ import annotations

import stat
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from controlplane.agents.selectors import agent_by_token


def test_create_agent_prints_its_token(db: None) -> None:
    out = StringIO()
    call_command("create_agent", "edge-1", stdout=out, stderr=StringIO())
    assert agent_by_token(token=out.getvalue().strip()).name == "edge-1"


def test_create_agent_writes_the_token_file_and_is_safe_to_re_run(db: None, tmp_path: Path) -> None:
    path = tmp_path / "agent.token"
    call_command(
        "create_agent", "edge-1", "--token-out", str(path), stdout=StringIO(), stderr=StringIO()
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(CommandError, match="exists already"):
        call_command("create_agent", "edge-1", stdout=StringIO(), stderr=StringIO())
    call_command("create_agent", "edge-1", "--exists-ok", stdout=StringIO(), stderr=StringIO())
    assert agent_by_token(token=path.read_text().strip()).name == "edge-1"

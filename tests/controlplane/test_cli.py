"""Management commands hand out secrets once: alone on stdout, or in a 0600 file."""

from __future__ import annotations

import stat
from pathlib import Path

from controlplane.cli import secret_file_write


def test_a_secret_file_is_created_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "admin.api-key"
    secret_file_write(path, "gh_abc_def")
    assert path.read_text() == "gh_abc_def\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_existing_world_readable_file_is_tightened_before_the_secret_is_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "token"
    path.write_text("old")
    path.chmod(0o644)
    secret_file_write(path, "new-secret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "new-secret\n"

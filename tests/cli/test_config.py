"""The configuration file: where it lives, who can read it, and what a stale login says."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest

from cli.config import (
    Config,
    ConfigError,
    LoginExpired,
    config_load,
    config_path,
    config_save,
)


def test_the_file_lives_under_xdg_config_home(tmp_path: Path) -> None:
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "gatehouse/config.json"


def test_without_xdg_it_lives_under_dot_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/alice")
    assert config_path({}) == Path("/home/alice/.config/gatehouse/config.json")


def test_saved_configuration_is_private_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "gatehouse" / "config.json"
    login = {"kind": "oidc", "id_token": "t", "expires_at": 2_000_000_000}
    config_save(path, Config(control_plane="https://gh.example", login=login))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text())["format"] == 1
    assert config_load(path) == Config(control_plane="https://gh.example", login=login)


def test_saving_over_a_world_readable_file_makes_it_private(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{}")
    path.chmod(0o644)
    config_save(path, Config(control_plane="https://gh.example"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_no_file_is_an_empty_configuration(tmp_path: Path) -> None:
    assert config_load(tmp_path / "missing.json") == Config()


def test_a_file_of_an_unknown_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"format": 99}))
    with pytest.raises(ConfigError, match="format 1"):
        config_load(path)


def test_the_control_plane_comes_from_the_flag_then_the_environment_then_the_file() -> None:
    config = Config(control_plane="https://stored.example/")
    env = {"GATEHOUSE_URL": "https://env.example"}
    assert config.control_plane_url("https://flag.example", env) == "https://flag.example"
    assert config.control_plane_url(None, env) == "https://env.example"
    assert config.control_plane_url(None, {}) == "https://stored.example"
    with pytest.raises(ConfigError, match="--control-plane"):
        Config().control_plane_url(None, {})


def test_a_person_sends_their_id_token_until_it_expires() -> None:
    config = Config(login={"kind": "oidc", "id_token": "eyJ.x.y", "expires_at": 1000})
    assert config.authorization(now=999) == "Bearer eyJ.x.y"
    with pytest.raises(LoginExpired, match="gatehouse login"):
        config.authorization(now=1000)


def test_without_a_login_you_are_told_to_log_in() -> None:
    with pytest.raises(LoginExpired, match="run `gatehouse login`"):
        Config().authorization(now=time.time())


def test_a_service_account_sends_the_key_from_its_file(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("gh_0123456789ab_secret\n")
    config = Config(login={"kind": "api_key", "api_key_file": str(key_file)})
    assert config.authorization() == "ApiKey gh_0123456789ab_secret"

    key_file.unlink()
    with pytest.raises(ConfigError, match="cannot read the API key file"):
        config.authorization()

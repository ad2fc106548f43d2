"""The database and channel layer come from URLs; unsupported ones fail clearly."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from controlplane.config.backends import channel_layers_from_url, database_from_url


def test_without_a_url_the_database_is_sqlite_under_var_and_the_directory_exists(
    tmp_path: Path,
) -> None:
    path = tmp_path / "var" / "controlplane.sqlite3"
    config = database_from_url("", default_sqlite_path=path)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(path)
    assert path.parent.is_dir()


def test_the_default_database_lives_in_var_under_the_repository() -> None:
    assert Path(__file__).resolve().parents[3] == settings.BASE_DIR


def test_postgresql_urls_are_accepted() -> None:
    config = database_from_url(
        "postgres://gh:pw@db.internal:5432/gatehouse", default_sqlite_path=Path("x")
    )
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", 5432, "gatehouse")


def test_unsupported_engines_fail_without_echoing_the_url() -> None:
    with pytest.raises(ImproperlyConfigured, match="not supported") as raised:
        database_from_url("mysql://gh:hunter2@db/gatehouse", default_sqlite_path=Path("x"))
    assert "hunter2" not in str(raised.value)


def test_unknown_schemes_fail_clearly() -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url("nosql://db/gatehouse", default_sqlite_path=Path("x"))


def test_without_redis_the_channel_layer_is_in_memory() -> None:
    assert (
        channel_layers_from_url("")["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    )


def test_redis_without_channels_redis_installed_fails_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "channels_redis" else real_find_spec(name, *a),
    )
    with pytest.raises(ImproperlyConfigured, match="needs the channels_redis package"):
        channel_layers_from_url("redis://localhost:6379/0")


def test_the_settings_module_refuses_to_load_without_an_encryption_key() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_ENCRYPTION_KEY")}
    done = subprocess.run(
        [sys.executable, "-c", "import controlplane.settings"],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "ImproperlyConfigured: GATEHOUSE_ENCRYPTION_KEY" in done.stderr

"""Management commands for identities: thin, scriptable, secrets out once."""

from __future__ import annotations

import stat
from io import StringIO
from pathlib import Path

import jwt
import pytest
from django.core.management import CommandError, call_command

from controlplane.identities.models import SigningKey, User
from controlplane.identities.services import api_key_authenticate


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue().strip()


def test_create_admin_prints_only_the_api_key_on_stdout(db: None) -> None:
    key, _ = run("create_admin", "bob")
    admin = api_key_authenticate(presented=key).user
    assert admin.username == "bob" and admin.is_superuser and admin.is_staff


def test_create_admin_writes_the_key_to_a_0600_file_when_asked(db: None, tmp_path: Path) -> None:
    path = tmp_path / "admin.api-key"
    out, err = run("create_admin", "bob", "--api-key-out", str(path))
    assert out == ""
    assert str(path) in err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert api_key_authenticate(presented=path.read_text().strip()).user.username == "bob"


def test_create_admin_again_fails_clearly_unless_exists_ok(db: None) -> None:
    run("create_admin", "bob")
    with pytest.raises(CommandError, match="exists already"):
        run("create_admin", "bob")
    out, err = run("create_admin", "bob", "--exists-ok")
    assert out == "" and "nothing done" in err


def test_exists_ok_does_not_pass_off_a_plain_user_as_an_administrator(
    db: None, alice: User
) -> None:
    with pytest.raises(CommandError, match="exists already"):
        run("create_admin", "alice", "--exists-ok")


def test_create_service_account_prints_its_key(db: None) -> None:
    key, _ = run("create_service_account", "agent-smith")
    assert api_key_authenticate(presented=key).user.kind == User.Kind.SERVICE_ACCOUNT


def test_create_service_account_reports_bad_names_without_a_traceback(db: None) -> None:
    with pytest.raises(CommandError, match="username"):
        run("create_service_account", "not a name")


def test_mint_token_prints_a_token_for_the_identity(
    db: None, agent_smith: User, tmp_path: Path
) -> None:
    token, _ = run("mint_token", "--identity", "agent-smith", "--ttl", "60")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["name"] == "agent-smith" and claims["exp"] - claims["iat"] == 60
    out_file = tmp_path / "token"
    run("mint_token", "--identity", "agent-smith", "--out", str(out_file))
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600


def test_mint_token_for_an_unknown_identity_fails_clearly(db: None) -> None:
    with pytest.raises(CommandError, match="no identity named 'ghost'"):
        run("mint_token", "--identity", "ghost")


def test_rotate_token_key_prints_the_new_key_id(db: None) -> None:
    kid, _ = run("rotate_token_key")
    assert SigningKey.objects.active().get().kid == kid

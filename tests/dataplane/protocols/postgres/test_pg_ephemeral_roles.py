"""Per-session roles: which level a session gets, what the role is called, and the SQL the
gateway sends to create and drop it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataplane.contract import Actor, GrantSpec, ResourceSpec
from dataplane.contract.snapshot import AccessLevel
from dataplane.core.addons import Credential
from dataplane.protocols.postgres.ephemeral import (
    COMMENT_PATTERN,
    NoAccessLevel,
    access_level_for,
    create_role_sql,
    drop_role_sql,
    role_comment,
    role_name,
)
from dataplane.protocols.postgres.wire.auth import scram_verifier

LEVELS = (AccessLevel("read-only", "gh_readonly"), AccessLevel("read-write", "gh_readwrite"))


def _resource(default: str = "read-only") -> ResourceSpec:
    return ResourceSpec(
        name="appdb",
        protocol="postgres",
        host="127.0.0.1",
        port=5432,
        database="postgres",
        upstream_user="manager",
        upstream_password="secret",
        credential_mode="ephemeral",
        access_levels=LEVELS,
        default_access_level=default,
    )


def _grant(level: str = "") -> GrantSpec:
    return GrantSpec(
        id="g1",
        identity="sub-1",
        resource="appdb",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        access_level=level,
    )


def _credential(name: str = "agent-smith") -> Credential:
    return Credential(
        name="gh_s_0123456789abcdef",
        actor=Actor(sub="sub-1", kind="service_account", name=name),
        resource="appdb",
        protocol="postgres",
        session_id="0123456789abcdef0123456789abcdef",
        grant="g1",
        access_level="read-only",
        upstream_role="gh_readonly",
        valid_until="2030-01-01T00:00:00+00:00",
    )


def test_the_grants_own_level_wins_over_the_default() -> None:
    assert access_level_for(_resource(), _grant("read-write")).upstream_role == "gh_readwrite"


def test_a_grant_without_a_level_gets_the_resources_default() -> None:
    assert access_level_for(_resource(), _grant()).upstream_role == "gh_readonly"


def test_no_level_and_no_default_is_refused() -> None:
    with pytest.raises(NoAccessLevel, match="no access level"):
        access_level_for(_resource(default=""), _grant())


def test_a_level_the_resource_does_not_have_is_refused() -> None:
    with pytest.raises(NoAccessLevel, match='no access level "superuser"'):
        access_level_for(_resource(), _grant("superuser"))


def test_role_names_are_a_fixed_prefix_and_hex() -> None:
    session_id = uuid.uuid4().hex
    assert role_name(session_id) == "gh_s_" + session_id[:16]
    with pytest.raises(ValueError):
        role_name('x"; DROP ROLE admin; --' + "0" * 8)


def test_the_create_statement_inherits_the_level_and_is_bounded() -> None:
    sql = create_role_sql(_credential(), "pw", "gatehouse: x")
    assert sql.startswith('CREATE ROLE "gh_s_0123456789abcdef" LOGIN INHERIT CONNECTION LIMIT 1')
    assert "VALID UNTIL '2030-01-01T00:00:00+00:00'" in sql
    assert 'IN ROLE "gh_readonly";' in sql
    assert "PASSWORD 'SCRAM-SHA-256$4096:" in sql
    assert "'pw'" not in sql  # only the verifier reaches the server
    assert sql.endswith(""" COMMENT ON ROLE "gh_s_0123456789abcdef" IS 'gatehouse: x'""")


def test_the_drop_statement_ends_backends_keeps_objects_and_drops() -> None:
    sql = drop_role_sql("gh_s_0123456789abcdef")
    assert "pg_terminate_backend(pid)" in sql
    assert "usename = 'gh_s_0123456789abcdef'" in sql
    assert 'REASSIGN OWNED BY "gh_s_0123456789abcdef" TO CURRENT_USER;' in sql
    assert sql.endswith('DROP ROLE "gh_s_0123456789abcdef"')


@given(st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))))
def test_an_identity_name_cannot_forge_the_agent_or_session_in_the_comment(name: str) -> None:
    comment = role_comment(_credential(name=name + " agent=evil session=" + "f" * 32), "edge-1")
    found = COMMENT_PATTERN.fullmatch(comment)
    assert found is not None
    assert found["agent"] == "edge-1"
    assert found["session"] == "0123456789abcdef0123456789abcdef"
    assert found["identity"].startswith(name)


def test_the_scram_verifier_is_the_one_postgresql_stores() -> None:
    salt = b"0123456789abcdef"
    verifier = scram_verifier("pencil", salt=salt, iterations=4096)
    scheme, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    stored_b64, server_b64 = keys.split(":")
    salted = hashlib.pbkdf2_hmac("sha256", b"pencil", salt, 4096)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    assert scheme == "SCRAM-SHA-256"
    assert iterations_salt == "4096:" + base64.b64encode(salt).decode()
    assert base64.b64decode(stored_b64) == hashlib.sha256(client_key).digest()
    assert base64.b64decode(server_b64) == hmac.new(salted, b"Server Key", "sha256").digest()

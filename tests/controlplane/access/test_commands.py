"""grant_access prints the grant id; revoke_grant ends it and may be re-run."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from controlplane.access.models import Grant
from controlplane.identities.models import User
from controlplane.resources.models import Resource


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_grant_access_then_revoke_grant(agent_smith: User, appdb: Resource) -> None:
    grant_id = run(
        "grant_access",
        "--identity",
        "agent-smith",
        "--resource",
        "appdb",
        "--duration",
        "3600",
        "--reason",
        "batch job",
    )
    grant = Grant.objects.get(pk=grant_id)
    assert grant.is_active() and grant.reason == "batch job" and grant.created_by is None
    run("revoke_grant", grant_id)
    run("revoke_grant", grant_id)
    grant.refresh_from_db()
    assert not grant.is_active()


def test_unknown_names_and_ids_fail_clearly(agent_smith: User, appdb: Resource) -> None:
    with pytest.raises(CommandError, match="no identity named 'ghost'"):
        run("grant_access", "--identity", "ghost", "--resource", "appdb", "--duration", "60")
    with pytest.raises(CommandError, match="no resource named 'nope'"):
        run("grant_access", "--identity", "agent-smith", "--resource", "nope", "--duration", "60")
    with pytest.raises(CommandError, match="no grant"):
        run("revoke_grant", "not-a-uuid")
    with pytest.raises(CommandError, match="duration"):
        run("grant_access", "--identity", "agent-smith", "--resource", "appdb", "--duration", "0")

"""An agent's snapshot holds its own resources, their active grants and the token keys."""

from __future__ import annotations

from datetime import timedelta

from controlplane.access.models import Grant
from controlplane.access.services import grant_create, grant_revoke
from controlplane.agents.revision import config_revision_current
from controlplane.agents.services import IssuedAgent
from controlplane.agents.snapshot import agent_snapshot_build
from controlplane.identities.models import User
from controlplane.identities.tokens import signing_key_current, signing_key_rotate
from controlplane.resources.models import Resource
from dataplane.contract import Snapshot
from tests.controlplane.conftest import UPSTREAM_PASSWORD


def test_the_snapshot_holds_only_this_agents_resources_with_their_credentials(
    edge: IssuedAgent, appdb: Resource, billingdb: Resource
) -> None:
    snapshot = agent_snapshot_build(agent=edge.agent)
    assert (snapshot.agent_id, snapshot.agent_name) == (str(edge.agent.pk), "edge-1")
    assert [r.name for r in snapshot.resources] == ["appdb"]
    spec = snapshot.resources[0]
    assert (spec.protocol, spec.host, spec.port, spec.database) == (
        "postgres",
        "db.internal",
        5432,
        "appdb",
    )
    assert (spec.upstream_user, spec.upstream_password, spec.upstream_tls) == (
        "appdb_owner",
        UPSTREAM_PASSWORD,
        "prefer",
    )


def test_the_snapshot_holds_only_active_grants_on_this_agents_resources(
    bob: User,
    alice: User,
    agent_smith: User,
    edge: IssuedAgent,
    appdb: Resource,
    billingdb: Resource,
    smith_on_appdb: Grant,
) -> None:
    revoked = grant_create(actor=bob, identity=alice, resource=appdb, duration=timedelta(hours=1))
    grant_revoke(actor=bob, grant=revoked)
    grant_create(actor=bob, identity=alice, resource=billingdb, duration=timedelta(hours=1))
    grants = agent_snapshot_build(agent=edge.agent).grants
    assert [(g.id, g.identity, g.resource) for g in grants] == [
        (str(smith_on_appdb.pk), str(agent_smith.pk), "appdb")
    ]
    assert grants[0].expires_at == smith_on_appdb.expires_at


def test_the_snapshot_holds_every_key_that_may_verify_a_live_token(
    bob: User, edge: IssuedAgent
) -> None:
    old = signing_key_current()
    new = signing_key_rotate(actor=bob)
    keys = agent_snapshot_build(agent=edge.agent).token_keys
    assert {k.kid for k in keys} == {old.kid, new.kid}
    assert {k.alg for k in keys} == {"EdDSA"}
    assert all("PRIVATE" not in k.public_key_pem for k in keys)


def test_the_snapshot_carries_the_current_revision_and_round_trips_the_contract(
    edge: IssuedAgent, appdb: Resource, smith_on_appdb: Grant
) -> None:
    signing_key_current()
    snapshot = agent_snapshot_build(agent=edge.agent)
    assert snapshot.revision == config_revision_current()
    assert Snapshot.from_dict(snapshot.to_dict()) == snapshot

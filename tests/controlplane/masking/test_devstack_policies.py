"""The policies `make run` creates are ones the API accepts, and they mask the demo AI
account's grant with redaction and people's with partial values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from rest_framework.test import APIClient

from controlplane.access.services import grant_create
from controlplane.identities.models import User
from controlplane.masking.selectors import masking_profile_for_grant
from controlplane.resources.models import Resource
from devstack.embedded import MASKING_POLICIES

ClientAs = Callable[[User | None], APIClient]


def test_the_demo_policies_are_accepted_and_resolve_as_the_banner_says(
    client_as: ClientAs, bob: User, alice: User, agent_smith: User, appdb: Resource
) -> None:
    api = client_as(bob)
    for body in MASKING_POLICIES:
        created = api.post("/api/v1/masking-policies", {**body, "resource": "appdb"}, format="json")
        assert created.status_code == 201, created.json()
    hour = timedelta(hours=1)
    ai = grant_create(actor=bob, identity=agent_smith, resource=appdb, duration=hour)
    person = grant_create(actor=bob, identity=alice, resource=appdb, duration=hour)
    ai_policy, person_policy = (masking_profile_for_grant(grant=g) for g in (ai, person))
    assert ai_policy is not None and ai_policy.default_strategy == "redact"
    assert ai_policy.name == "ai-agents-masked" and not ai_policy.strategies
    assert person_policy is not None and person_policy.name == "people-partial"
    assert person_policy.strategies["CREDIT_CARD"] == "partial"

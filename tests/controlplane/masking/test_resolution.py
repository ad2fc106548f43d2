"""Which policy masks a grant: the enabled policy with the highest priority that matches
its resource and identity; ties go to the most specific (resource over global, groups over
a kind, a kind over everyone), then the name. No match: unmasked."""

from __future__ import annotations

from datetime import timedelta

from controlplane.access.models import Grant
from controlplane.access.services import grant_create
from controlplane.identities.models import User
from controlplane.masking.selectors import masking_profile_for_grant
from controlplane.resources.models import Resource
from tests.controlplane.masking.conftest import join, policy


def grant(bob: User, identity: User, resource: Resource) -> Grant:
    return grant_create(
        actor=bob, identity=identity, resource=resource, duration=timedelta(hours=1)
    )


def resolved(grant: Grant) -> str | None:
    winner = masking_profile_for_grant(grant=grant)
    return winner.name if winner else None


def test_a_grant_no_policy_matches_is_unmasked(bob: User, alice: User, appdb: Resource) -> None:
    policy("ai-only", applies_to="service_accounts")
    assert resolved(grant(bob, alice, appdb)) is None


def test_a_policy_applies_to_its_kind_of_identity(
    bob: User, alice: User, agent_smith: User, appdb: Resource
) -> None:
    policy("ai", applies_to="service_accounts")
    policy("humans", applies_to="people")
    assert resolved(grant(bob, agent_smith, appdb)) == "ai"
    assert resolved(grant(bob, alice, appdb)) == "humans"


def test_a_policy_for_one_resource_leaves_others_alone(
    bob: User, alice: User, appdb: Resource, billingdb: Resource
) -> None:
    policy("billing", resource=billingdb)
    assert resolved(grant(bob, alice, appdb)) is None
    assert resolved(grant(bob, alice, billingdb)) == "billing"


def test_a_policy_naming_groups_applies_only_to_their_members(
    bob: User, alice: User, carol: User, appdb: Resource
) -> None:
    policy("contractors", groups=["contractors", "vendors"])
    join(carol, "vendors")
    assert resolved(grant(bob, alice, appdb)) is None
    assert resolved(grant(bob, carol, appdb)) == "contractors"


def test_the_highest_priority_wins_over_specificity(
    bob: User, alice: User, appdb: Resource
) -> None:
    policy("specific", resource=appdb, applies_to="people", priority=1)
    policy("broad", priority=2)
    assert resolved(grant(bob, alice, appdb)) == "broad"


def test_on_equal_priority_a_resources_own_policy_beats_a_global_one(
    bob: User, alice: User, appdb: Resource
) -> None:
    policy("a-global", groups=["staff"])
    policy("z-appdb", resource=appdb)
    join(alice, "staff")
    assert resolved(grant(bob, alice, appdb)) == "z-appdb"


def test_on_equal_priority_and_scope_a_group_beats_a_kind_and_a_kind_beats_everyone(
    bob: User, alice: User, appdb: Resource
) -> None:
    policy("a-everyone")
    policy("b-people", applies_to="people")
    join(alice, "staff")
    assert resolved(grant(bob, alice, appdb)) == "b-people"
    policy("c-staff", groups=["staff"])
    assert resolved(grant(bob, alice, appdb)) == "c-staff"


def test_a_full_tie_goes_to_the_first_name(bob: User, alice: User, appdb: Resource) -> None:
    policy("beta")
    policy("alpha")
    assert resolved(grant(bob, alice, appdb)) == "alpha"


def test_a_disabled_policy_never_matches(bob: User, alice: User, appdb: Resource) -> None:
    policy("off", enabled=False, priority=100)
    policy("on")
    assert resolved(grant(bob, alice, appdb)) == "on"

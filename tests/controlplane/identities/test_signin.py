"""Signing in people from an OpenID provider: who they become, which groups they hold, what
the audit log says, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from controlplane.audit.models import AuditEvent
from controlplane.identities.models import ExternalIdentity, User
from controlplane.identities.services import admin_create, service_account_create
from controlplane.identities.signin import (
    SignInAction,
    SignInRefused,
    identity_sign_out_record,
    oidc_identity_sign_in,
)

ISSUER = "https://idp.example.test"


def claims(sub: str = "00u-alice", **extra: Any) -> dict[str, Any]:
    return {
        "sub": sub,
        "preferred_username": "alice",
        "email": "alice@example.com",
        "given_name": "Alice",
        "family_name": "Liddell",
        "groups": ["requesters"],
        **extra,
    }


def sign_in(**kwargs: Any) -> User:
    return oidc_identity_sign_in(issuer=ISSUER, claims=claims(**kwargs), groups_claim="groups")


def test_the_first_sign_in_creates_a_user_linked_to_issuer_and_sub(db: None) -> None:
    user = sign_in()

    assert user.username == "alice" and user.kind == User.Kind.USER
    assert (user.email, user.first_name, user.last_name) == (
        "alice@example.com",
        "Alice",
        "Liddell",
    )
    assert not user.has_usable_password() and not user.is_staff
    link = ExternalIdentity.objects.get(issuer=ISSUER, subject="00u-alice")
    assert link.user == user and link.last_sign_in_at is not None


def test_a_later_sign_in_finds_the_same_user_by_sub_even_after_a_rename_at_the_provider(
    db: None,
) -> None:
    first = sign_in()
    again = sign_in(preferred_username="alice.liddell", email="al@example.com")

    assert again.pk == first.pk
    assert again.username == "alice"  # chosen once; audit names stay stable
    assert again.email == "al@example.com"
    assert User.objects.count() == 1


def test_the_same_sub_at_another_issuer_is_another_person(db: None) -> None:
    first = sign_in()
    other = oidc_identity_sign_in(
        issuer="https://other.example.test", claims=claims(), groups_claim="groups"
    )
    assert other.pk != first.pk
    assert other.username == "alice-2"


def test_a_taken_username_gets_a_suffix_and_never_takes_over_the_existing_user(
    db: None,
) -> None:
    admin, _ = admin_create(actor=None, username="admin")
    user = sign_in(sub="evil", preferred_username="admin", groups=[])

    assert user.pk != admin.pk
    assert user.username == "admin-2"
    assert not user.is_staff


def test_usernames_fall_back_to_email_then_sub_and_are_made_valid(db: None) -> None:
    by_email = sign_in(sub="a", preferred_username=None, email="x@example.com")
    by_sub = sign_in(sub="auth0|12 34", preferred_username=None, email=None)
    odd = sign_in(sub="c", preferred_username="Dr. Who/<script>")

    assert by_email.username == "x@example.com"
    assert by_sub.username == "auth0-12-34"
    assert odd.username == "Dr.-Who--script-"


def test_groups_follow_the_claim_and_are_replaced_at_every_sign_in(db: None) -> None:
    user = sign_in(groups=["requesters", "on-call"])
    assert set(user.groups.values_list("name", flat=True)) == {"requesters", "on-call"}

    user = sign_in(groups=["approvers"])
    assert set(user.groups.values_list("name", flat=True)) == {"approvers"}
    assert Group.objects.filter(name="on-call").exists()  # groups stay; membership goes


def test_a_missing_groups_claim_means_no_groups(db: None) -> None:
    sign_in(groups=["auditors"])
    user = oidc_identity_sign_in(issuer=ISSUER, claims={"sub": "00u-alice"}, groups_claim="groups")
    assert not user.groups.exists()


def test_the_groups_claim_name_is_configurable_and_a_single_string_counts(db: None) -> None:
    user = oidc_identity_sign_in(
        issuer=ISSUER, claims={**claims(), "roles": "auditors"}, groups_claim="roles"
    )
    assert list(user.groups.values_list("name", flat=True)) == ["auditors"]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"sub": None}, "no usable sub"),
        ({"sub": ""}, "no usable sub"),
        ({"sub": 42}, "no usable sub"),
        ({"groups": {"admins": True}}, "not a list of group names"),
        ({"groups": ["ok", 7]}, "not a list of group names"),
        ({"groups": ["x" * 151]}, "longer than 150"),
    ],
)
def test_unusable_claims_are_refused_and_audited(
    db: None, bad: dict[str, Any], reason: str
) -> None:
    with pytest.raises(SignInRefused, match=reason):
        sign_in(**bad)

    assert not User.objects.exists()
    refusal = AuditEvent.objects.get(action=SignInAction.SIGN_IN_REFUSED)
    assert reason in refusal.payload["reason"]
    assert refusal.payload["issuer"] == ISSUER


def test_a_disabled_user_is_refused_and_keeps_their_groups(db: None) -> None:
    user = sign_in(groups=["requesters"])
    User.objects.filter(pk=user.pk).update(is_active=False)

    with pytest.raises(SignInRefused, match="disabled"):
        sign_in(groups=["auditors"])

    assert list(user.groups.values_list("name", flat=True)) == ["requesters"]


def test_a_link_to_a_service_account_never_signs_in_a_browser(db: None) -> None:
    account, _ = service_account_create(actor=None, name="agent-smith")
    ExternalIdentity.objects.create(issuer=ISSUER, subject="robot", user=account)

    with pytest.raises(SignInRefused, match="service account"):
        sign_in(sub="robot")


def test_sign_in_and_out_are_audited_with_the_user_as_actor(db: None) -> None:
    user = sign_in(groups=["requesters"])
    sign_in(groups=["auditors"])
    identity_sign_out_record(user=user)

    first, second = AuditEvent.objects.filter(action=SignInAction.SIGNED_IN).order_by("id")
    assert (first.actor_sub, first.actor_name, first.actor_kind) == (str(user.pk), "alice", "user")
    assert first.payload == {
        "method": "oidc",
        "issuer": ISSUER,
        "subject": "00u-alice",
        "created": True,
        "groups": ["requesters"],
        "groups_added": ["requesters"],
        "groups_removed": [],
    }
    assert (second.payload["groups_added"], second.payload["groups_removed"]) == (
        ["auditors"],
        ["requesters"],
    )
    assert AuditEvent.objects.get(action=SignInAction.SIGNED_OUT).actor_name == "alice"

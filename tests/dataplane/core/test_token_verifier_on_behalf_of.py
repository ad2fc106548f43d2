"""A gateway token's optional ``act`` claim names the person an agent acts for; anything
but a well-formed single principal of kind "user" refuses the token."""

from __future__ import annotations

from typing import Any

import pytest

from dataplane.contract import Actor
from dataplane.core.session import Session
from dataplane.core.tokens import InvalidToken
from tests.dataplane.core.test_token_verifier import NOW, mint, verifier

ALICE_ACT = {"sub": "id-alice", "kind": "user", "name": "alice"}


def smith(**overrides: Any) -> str:
    return mint(sub="id-smith", kind="service_account", name="agent-smith", **overrides)


def test_a_token_without_act_acts_for_nobody() -> None:
    assert verifier().verify(smith(), now=NOW).on_behalf_of is None


def test_act_becomes_on_behalf_of() -> None:
    identity = verifier().verify(smith(act=ALICE_ACT), now=NOW)
    assert identity.sub == "id-smith"
    assert identity.on_behalf_of == Actor(sub="id-alice", kind="user", name="alice")


@pytest.mark.parametrize(
    "act",
    [
        "alice",
        ["id-alice"],
        {"sub": "id-alice", "kind": "user"},
        {**ALICE_ACT, "act": {"sub": "id-bob", "kind": "user", "name": "bob"}},
        {**ALICE_ACT, "sub": 7},
        {**ALICE_ACT, "name": ""},
        {**ALICE_ACT, "kind": "service_account"},
        {**ALICE_ACT, "kind": "anonymous"},
        {"sub": "id-smith", "kind": "user", "name": "agent-smith"},
    ],
    ids=[
        "string",
        "list",
        "missing-name",
        "nested-chain",
        "non-string-sub",
        "empty-name",
        "service-account",
        "anonymous",
        "itself",
    ],
)
def test_a_malformed_act_claim_refuses_the_token(act: Any) -> None:
    with pytest.raises(InvalidToken, match="act"):
        verifier().verify(smith(act=act), now=NOW)


def test_the_session_actor_carries_the_person() -> None:
    session = Session(protocol="postgres", client_address="127.0.0.1:5000")
    session.identity = verifier().verify(smith(act=ALICE_ACT), now=NOW)
    assert session.actor == Actor(
        sub="id-smith",
        kind="service_account",
        name="agent-smith",
        on_behalf_of=Actor(sub="id-alice", kind="user", name="alice"),
    )
    assert session.actor.to_dict()["on_behalf_of"]["name"] == "alice"

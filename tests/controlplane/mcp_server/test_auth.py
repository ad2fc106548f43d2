"""Who may call the MCP server: the bearer token is a gateway token (its ``act`` claim names
the person an agent acts for) or an IdP access token of a client bound to a service account;
anything else is refused with a reason that never quotes the token."""

from __future__ import annotations

import pytest

from controlplane.identities.models import User
from controlplane.identities.tokens import gateway_token_mint
from controlplane.mcp_server.auth import CallerRejected, mcp_caller_authenticate
from tests.controlplane.federation import fixtures
from tests.controlplane.federation.local_idp import LocalIdP

fresh_jwks_cache = fixtures.fresh_jwks_cache
idp = fixtures.idp
trusted = fixtures.trusted
smith_bound = fixtures.smith_bound

pytestmark = pytest.mark.django_db


def test_a_gateway_token_names_the_agent_and_the_person_it_acts_for(
    agent_smith: User, alice: User
) -> None:
    token = gateway_token_mint(actor=None, identity=agent_smith, on_behalf_of=alice).token
    caller = mcp_caller_authenticate(token=token)
    assert (caller.identity, caller.on_behalf_of, caller.via) == (
        agent_smith,
        alice,
        "gateway_token",
    )


def test_a_persons_own_gateway_token_is_accepted(alice: User) -> None:
    caller = mcp_caller_authenticate(token=gateway_token_mint(actor=alice, identity=alice).token)
    assert (caller.identity, caller.on_behalf_of) == (alice, None)


def test_an_idp_token_of_a_bound_client_is_its_service_account(
    smith_bound: User, idp: LocalIdP
) -> None:
    caller = mcp_caller_authenticate(token=idp.token())
    assert (caller.identity, caller.on_behalf_of, caller.via) == (
        smith_bound,
        None,
        "idp:corp-idp",
    )


def test_an_idp_token_of_an_unbound_client_is_refused(trusted: object, idp: LocalIdP) -> None:
    token = idp.token()
    with pytest.raises(CallerRejected, match="not bound") as refused:
        mcp_caller_authenticate(token=token)
    assert token not in str(refused.value)


def test_an_idp_token_of_an_untrusted_issuer_is_refused(agent_smith: User, idp: LocalIdP) -> None:
    with pytest.raises(CallerRejected):
        mcp_caller_authenticate(token=idp.token())


def test_a_disabled_service_account_is_refused_whatever_the_token(
    smith_bound: User, idp: LocalIdP
) -> None:
    gateway = gateway_token_mint(actor=None, identity=smith_bound).token
    User.objects.filter(pk=smith_bound.pk).update(is_active=False)
    for token in (gateway, idp.token()):
        with pytest.raises(CallerRejected):
            mcp_caller_authenticate(token=token)


def test_sessions_of_an_agent_for_different_people_are_different_principals(
    agent_smith: User, alice: User, carol: User
) -> None:
    def principal(person: User | None) -> str:
        token = gateway_token_mint(actor=None, identity=agent_smith, on_behalf_of=person).token
        return mcp_caller_authenticate(token=token).principal

    assert len({principal(alice), principal(carol), principal(None)}) == 3

"""Administrators deactivate and reactivate trusted issuers and remove bindings; each change
is audited and takes effect from the next token exchange."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from controlplane.audit.models import AuditEvent
from controlplane.federation.models import ServiceAccountBinding, TrustedIssuer
from controlplane.federation.services import (
    trusted_issuer_create,
    trusted_issuer_deactivate,
    trusted_issuer_reactivate,
)
from controlplane.identities.exchange import ACCESS_TOKEN_TYPE, GRANT_TYPE
from controlplane.identities.models import User
from tests.controlplane.federation.local_idp import AUDIENCE, CLIENT_ID, LocalIdP

ClientAs = Callable[[User | None], APIClient]


def exchange(token: str) -> Any:
    body = {
        "grant_type": GRANT_TYPE,
        "subject_token": token,
        "subject_token_type": ACCESS_TOKEN_TYPE,
    }
    return APIClient().post(
        "/api/v1/token-exchange", urlencode(body), content_type="application/x-www-form-urlencoded"
    )


def test_a_deactivated_issuers_tokens_are_refused_until_it_is_reactivated(
    client_as: ClientAs, bob: User, smith_bound: User, idp: LocalIdP
) -> None:
    assert exchange(idp.token()).status_code == 200
    deactivated = client_as(bob).post("/api/v1/trusted-issuers/corp-idp/deactivate")
    assert deactivated.status_code == 200
    assert deactivated.json()["is_active"] is False
    refused = exchange(idp.token())
    assert refused.status_code == 400
    assert "untrusted issuer" in refused.json()["error_description"]
    reactivated = client_as(bob).post("/api/v1/trusted-issuers/corp-idp/reactivate")
    assert reactivated.json()["is_active"] is True
    assert exchange(idp.token()).status_code == 200  # the binding was kept
    actions = AuditEvent.objects.filter(action__startswith="trusted_issuer.").values_list(
        "action", "actor_name"
    )
    assert ("trusted_issuer.deactivated", "bob") in actions
    assert ("trusted_issuer.reactivated", "bob") in actions


def test_deactivating_twice_records_one_event(bob: User, trusted: TrustedIssuer) -> None:
    trusted_issuer_deactivate(actor=bob, issuer=trusted)
    trusted_issuer_deactivate(actor=bob, issuer=trusted)
    assert AuditEvent.objects.filter(action="trusted_issuer.deactivated").count() == 1


def test_an_issuer_is_not_reactivated_beside_another_introspecting_one(
    bob: User, trusted: TrustedIssuer
) -> None:
    trusted_issuer_deactivate(actor=bob, issuer=trusted)
    trusted_issuer_create(
        actor=bob,
        name="other-idp",
        issuer="https://other.example.test",
        audience=AUDIENCE,
        algorithms=["RS256"],
        introspection_url="https://other.example.test/introspect",
        introspection_client_id="gatehouse",
        introspection_client_secret="s3cret",
    )
    with pytest.raises(ValidationError, match="introspects"):
        trusted_issuer_reactivate(actor=bob, issuer=trusted)
    trusted.refresh_from_db()
    assert trusted.is_active is False


def test_a_removed_binding_no_longer_exchanges(
    client_as: ClientAs, bob: User, smith_bound: User, idp: LocalIdP
) -> None:
    removed = client_as(bob).delete(f"/api/v1/trusted-issuers/corp-idp/bindings/{CLIENT_ID}")
    assert removed.status_code == 204
    assert not ServiceAccountBinding.objects.exists()
    refused = exchange(idp.token())
    assert refused.status_code == 400
    assert "not bound" in refused.json()["error_description"]
    event = AuditEvent.objects.get(action="service_account.unbound")
    assert (event.actor_name, event.payload["subject"]) == ("bob", CLIENT_ID)
    assert event.payload["identity_name"] == "agent-smith"


def test_removing_an_unknown_binding_is_not_found(
    client_as: ClientAs, bob: User, trusted: TrustedIssuer
) -> None:
    assert (
        client_as(bob).delete("/api/v1/trusted-issuers/corp-idp/bindings/nobody").status_code == 404
    )
    assert client_as(bob).delete("/api/v1/trusted-issuers/nope/bindings/x").status_code == 404


def test_only_administrators_manage_issuer_lifecycles(
    client_as: ClientAs, alice: User, smith_bound: User
) -> None:
    api = client_as(alice)
    assert api.post("/api/v1/trusted-issuers/corp-idp/deactivate").status_code == 403
    assert api.post("/api/v1/trusted-issuers/corp-idp/reactivate").status_code == 403
    assert api.delete(f"/api/v1/trusted-issuers/corp-idp/bindings/{CLIENT_ID}").status_code == 403
    assert ServiceAccountBinding.objects.count() == 1


def test_the_commands_deactivate_reactivate_and_unbind(smith_bound: User, idp: LocalIdP) -> None:
    quiet = {"stdout": StringIO(), "stderr": StringIO()}
    call_command("deactivate_trusted_issuer", "corp-idp", **quiet)
    assert TrustedIssuer.objects.get(name="corp-idp").is_active is False
    call_command("reactivate_trusted_issuer", "corp-idp", **quiet)
    assert TrustedIssuer.objects.get(name="corp-idp").is_active is True
    call_command("unbind_service_account", "--issuer", "corp-idp", "--subject", CLIENT_ID, **quiet)
    assert not ServiceAccountBinding.objects.exists()
    with pytest.raises(CommandError, match="not bound"):
        call_command("unbind_service_account", "--issuer", "corp-idp", "--subject", CLIENT_ID)
    with pytest.raises(CommandError, match="no trusted issuer"):
        call_command("deactivate_trusted_issuer", "nope")
    events = AuditEvent.objects.filter(actor_kind="system", action__in=[
        "trusted_issuer.deactivated", "trusted_issuer.reactivated", "service_account.unbound"
    ])  # fmt: skip
    assert events.count() == 3

"""Trusting issuers and binding their clients to service accounts: validated and audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from controlplane.audit.models import AuditEvent
from controlplane.crypto import decrypt
from controlplane.federation.models import TrustedIssuer
from controlplane.federation.services import (
    person_for_external,
    service_account_binding_create,
    service_account_for_external,
    trusted_issuer_create,
)
from controlplane.federation.verification import ExternalTokenRejected
from controlplane.identities.models import ExternalIdentity, User


def create(**overrides: Any) -> TrustedIssuer:
    fields: dict[str, Any] = {
        "actor": None,
        "name": "corp",
        "issuer": "https://idp.example",
        "audience": "gatehouse",
        "algorithms": ["RS256"],
    }
    fields.update(overrides)
    return trusted_issuer_create(**fields)


def errors(**overrides: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        create(**overrides)
    return caught.value.message_dict


def test_creating_an_issuer_is_audited_without_the_secret(db: None, bob: User) -> None:
    trusted = create(
        actor=bob,
        introspection_url="https://idp.example/introspect",
        introspection_client_id="gh",
        introspection_client_secret="top-secret",
    )
    assert decrypt(trusted.introspection_client_secret_ciphertext) == "top-secret"
    event = AuditEvent.objects.get(action="trusted_issuer.created")
    assert event.actor_name == "bob"
    assert event.payload["issuer"] == "https://idp.example"
    assert "top-secret" not in str(event.payload)


@pytest.mark.parametrize("algorithm", ["HS256", "none", "RS1"])
def test_symmetric_and_unsigned_algorithms_are_refused(db: None, algorithm: str) -> None:
    assert "algorithms" in errors(algorithms=["RS256", algorithm])


def test_at_least_one_algorithm_is_required(db: None) -> None:
    assert "algorithms" in errors(algorithms=[])


@pytest.mark.parametrize(
    "field", ["issuer", "jwks_url", "introspection_url"], ids=["issuer", "jwks", "introspection"]
)
def test_plain_http_is_refused_off_loopback(db: None, field: str) -> None:
    extra = {"introspection_client_id": "c", "introspection_client_secret": "s"}
    assert field in errors(**{field: "http://idp.example/x", **extra})


def test_introspection_needs_client_credentials(db: None) -> None:
    assert "introspection_url" in errors(introspection_url="https://idp.example/introspect")


def test_only_one_issuer_may_introspect(db: None) -> None:
    extra = {"introspection_client_id": "c", "introspection_client_secret": "s"}
    create(introspection_url="https://idp.example/introspect", **extra)
    assert "introspection_url" in errors(
        name="other",
        issuer="https://other.example",
        introspection_url="https://other.example/introspect",
        **extra,
    )


def test_names_and_issuers_are_unique(db: None) -> None:
    create()
    assert "name" in errors(issuer="https://elsewhere.example")
    assert "issuer" in errors(name="corp2")


def test_a_leeway_over_five_minutes_is_refused(db: None) -> None:
    assert "leeway_seconds" in errors(leeway_seconds=301)


def test_binding_a_service_account_is_audited(db: None, bob: User, agent_smith: User) -> None:
    trusted = create()
    service_account_binding_create(
        actor=bob, issuer=trusted, subject="client-1", service_account=agent_smith
    )
    event = AuditEvent.objects.get(action="service_account.bound")
    assert event.payload == {
        "issuer": "corp",
        "subject": "client-1",
        "identity": str(agent_smith.pk),
        "identity_name": "agent-smith",
    }
    claims = {"sub": "client-1"}
    assert service_account_for_external(issuer=trusted, claims=claims) == agent_smith


def test_people_cannot_be_bound_as_service_accounts(db: None, alice: User) -> None:
    with pytest.raises(ValidationError):
        service_account_binding_create(
            actor=None, issuer=create(), subject="x", service_account=alice
        )


def test_a_subject_is_bound_once_per_issuer(db: None, agent_smith: User) -> None:
    trusted = create()
    service_account_binding_create(
        actor=None, issuer=trusted, subject="x", service_account=agent_smith
    )
    with pytest.raises(ValidationError):
        service_account_binding_create(
            actor=None, issuer=trusted, subject="x", service_account=agent_smith
        )


def test_client_id_is_the_subject_only_when_there_is_no_sub(db: None, agent_smith: User) -> None:
    trusted = create()
    service_account_binding_create(
        actor=None, issuer=trusted, subject="client-1", service_account=agent_smith
    )
    assert service_account_for_external(issuer=trusted, claims={"client_id": "client-1"})
    with pytest.raises(ExternalTokenRejected):
        service_account_for_external(
            issuer=trusted, claims={"sub": "someone-else", "client_id": "client-1"}
        )


def test_a_disabled_service_account_is_refused(db: None, agent_smith: User) -> None:
    trusted = create()
    service_account_binding_create(
        actor=None, issuer=trusted, subject="client-1", service_account=agent_smith
    )
    User.objects.filter(pk=agent_smith.pk).update(is_active=False)
    with pytest.raises(ExternalTokenRejected, match="not bound"):
        service_account_for_external(issuer=trusted, claims={"sub": "client-1"})


def test_a_person_is_found_by_their_sign_in_link_not_by_name(db: None, alice: User) -> None:
    trusted = create()
    ExternalIdentity.objects.create(issuer=trusted.issuer, subject="alice-at-idp", user=alice)
    assert person_for_external(issuer=trusted, claims={"sub": "alice-at-idp"}) == alice
    with pytest.raises(ExternalTokenRejected):
        person_for_external(
            issuer=trusted, claims={"sub": "mallory", "preferred_username": "alice"}
        )


def test_a_service_account_is_never_a_person(db: None, agent_smith: User) -> None:
    trusted = create()
    ExternalIdentity.objects.create(issuer=trusted.issuer, subject="bot", user=agent_smith)
    with pytest.raises(ExternalTokenRejected):
        person_for_external(issuer=trusted, claims={"sub": "bot"})


def test_a_failed_audit_write_rolls_the_issuer_back(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(**kwargs: Any) -> None:
        raise RuntimeError("audit down")

    monkeypatch.setattr("controlplane.federation.services.audit_event_record", fail)
    with pytest.raises(RuntimeError):
        create()
    assert not TrustedIssuer.objects.exists()


def test_a_failed_audit_write_rolls_the_binding_back(
    db: None, agent_smith: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    trusted = create()

    def fail(**kwargs: Any) -> None:
        raise RuntimeError("audit down")

    monkeypatch.setattr("controlplane.federation.services.audit_event_record", fail)
    with pytest.raises(RuntimeError):
        service_account_binding_create(
            actor=None, issuer=trusted, subject="x", service_account=agent_smith
        )
    assert not trusted.bindings.exists()

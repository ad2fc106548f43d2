"""The sign-in, home and sign-out pages; local passwords only for administrators and only
when enabled."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from controlplane.audit.models import AuditEvent
from controlplane.identities.local_login import admin_password_set
from controlplane.identities.models import User
from controlplane.identities.oidc.config import OidcConfig

PASSWORD = "correct horse battery staple"
OIDC = OidcConfig(
    issuer="https://idp.example.test",
    client_id="gatehouse",
    client_secret="s",
    scopes="openid",
    groups_claim="groups",
    signing_algorithm="RS256",
    timeout_seconds=5,
    endpoints={},
)


@pytest.fixture
def admin_with_password(bob: User) -> User:
    return admin_password_set(actor=None, user=bob, password=PASSWORD)


def test_home_sends_anonymous_visitors_to_sign_in(db: None) -> None:
    response = Client().get("/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/"


@override_settings(GATEHOUSE_OIDC=None, GATEHOUSE_LOCAL_LOGIN=False)
def test_the_login_page_says_when_single_sign_on_is_not_configured(db: None) -> None:
    page = Client().get("/login/").content.decode()
    assert "Single sign-on is not configured" in page
    assert "GATEHOUSE_OIDC_ISSUER" in page
    assert 'type="password"' not in page


@override_settings(GATEHOUSE_OIDC=OIDC, GATEHOUSE_LOCAL_LOGIN=False)
def test_the_login_page_offers_the_provider_and_keeps_next(db: None) -> None:
    page = Client().get("/login/?next=/admin/").content.decode()
    assert 'href="/oidc/authenticate/?next=/admin/"' in page
    assert 'type="password"' not in page


@override_settings(GATEHOUSE_OIDC=OIDC)
def test_next_never_leaves_the_site(db: None) -> None:
    page = Client().get("/login/?next=https://evil.example/").content.decode()
    assert "evil.example" not in page


@override_settings(GATEHOUSE_LOCAL_LOGIN=False)
def test_passwords_are_refused_while_local_login_is_off(admin_with_password: User) -> None:
    client = Client()
    response = client.post("/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 403
    assert not client.login(username="bob", password=PASSWORD)  # the admin site's path too


@override_settings(GATEHOUSE_LOCAL_LOGIN=True)
def test_an_administrator_signs_in_with_a_password_when_enabled(
    admin_with_password: User,
) -> None:
    client = Client()
    assert 'type="password"' in client.get("/login/").content.decode()

    response = client.post("/login/", {"username": "bob", "password": PASSWORD, "next": "/"})

    assert response.status_code == 302 and response["Location"] == "/"
    assert "bob" in client.get("/").content.decode()
    event = AuditEvent.objects.get(action="identity.signed_in")
    assert (event.actor_name, event.payload) == ("bob", {"method": "password"})


@override_settings(GATEHOUSE_LOCAL_LOGIN=True)
def test_people_who_are_not_administrators_never_sign_in_with_a_password(
    db: None, agent_smith: User
) -> None:
    alice = User.objects.create_user(username="alice", password=PASSWORD)
    agent_smith.set_password(PASSWORD)
    agent_smith.is_staff = True
    agent_smith.save()
    client = Client()
    for user in (alice, agent_smith):
        response = client.post("/login/", {"username": user.username, "password": PASSWORD})
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()
    assert not AuditEvent.objects.filter(action="identity.signed_in").exists()


@override_settings(GATEHOUSE_LOCAL_LOGIN=True)
def test_a_wrong_password_is_refused(admin_with_password: User) -> None:
    client = Client()
    response = client.post("/login/", {"username": "bob", "password": "guess"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_home_shows_who_is_signed_in_and_their_groups(carol: User) -> None:
    client = Client()
    client.force_login(carol)
    page = client.get("/").content.decode()
    assert '<strong id="signed-in-as">carol</strong>' in page
    assert "<li>auditors</li>" in page


def test_sign_out_is_a_post_with_csrf_and_is_audited(carol: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(carol)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 403  # no CSRF token

    page = client.get("/")
    token = page.context["csrf_token"]
    response = client.post("/logout/", {"csrfmiddlewaretoken": str(token)})

    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.get(action="identity.signed_out").actor_name == "carol"


def test_a_password_is_only_for_administrators(alice: User) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="only administrators"):
        admin_password_set(actor=None, user=alice, password=PASSWORD)


def test_weak_passwords_are_refused(bob: User) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        admin_password_set(actor=None, user=bob, password="password")

"""Browser sign-in through a real OpenID provider (oidc-provider under node), driven in real
Chromium through Playwright. alice is a requester, carol an auditor at the provider."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import jwt
import pytest
from playwright.sync_api import Page, expect

from devstack.gatehouse import ControlPlane
from devstack.oidc_provider import (
    GATEHOUSE_AUDIENCE,
    PERSONAS,
    SERVICE_CLIENT_ID,
    OidcProvider,
    control_plane_client,
    service_account_client,
)
from devstack.ports import free_port

pytestmark = pytest.mark.integration

PASSWORDS = {user.username: user.password for user in PERSONAS}


@dataclass
class SignInStack:
    provider: OidcProvider
    cp: ControlPlane


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignInStack]:
    root = tmp_path_factory.mktemp("oidc-sign-in")
    cp_port = free_port()
    clients = [control_plane_client(f"http://127.0.0.1:{cp_port}"), service_account_client()]
    provider = OidcProvider(root / "provider", clients=clients).start()
    cp = ControlPlane(root / "controlplane", port=cp_port, extra_env=provider.relying_party_env())
    try:
        cp.bootstrap()
        cp.start()
        yield SignInStack(provider=provider, cp=cp)
    finally:
        cp.stop()
        provider.stop()


def sign_in_at_provider(page: Page, stack: SignInStack, username: str) -> None:
    """From the control plane's login page through the provider's forms and back."""
    page.get_by_role("link", name="Sign in with your organisation").click()
    expect(page).to_have_url(re.compile(re.escape(stack.provider.issuer) + "/interaction/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    allow = page.get_by_role("button", name="Allow")
    page.wait_for_url(re.compile(f"^({re.escape(stack.cp.url)}/|.*/interaction/)"))
    if page.url.startswith(stack.provider.issuer) and allow.count():
        allow.click()
    page.wait_for_url(re.compile("^" + re.escape(stack.cp.url) + "/"))


def test_alice_signs_in_with_the_provider_sees_her_groups_and_signs_out(
    stack: SignInStack, page: Page
) -> None:
    page.goto(stack.cp.url + "/")
    expect(page).to_have_url(stack.cp.url + "/login/?next=/")

    sign_in_at_provider(page, stack, "alice")

    expect(page).to_have_url(stack.cp.url + "/")
    expect(page.locator("#signed-in-as")).to_have_text("alice")
    expect(page.locator("#groups")).to_contain_text("requesters")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(stack.cp.url + "/login/")
    page.goto(stack.cp.url + "/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))

    signed_in = stack.cp.audit_events(action="identity.signed_in", actor="alice")
    assert signed_in, "no identity.signed_in event for alice"
    assert signed_in[-1]["payload"]["method"] == "oidc"
    assert signed_in[-1]["payload"]["issuer"] == stack.provider.issuer
    assert signed_in[-1]["payload"]["groups"] == ["requesters"]
    assert stack.cp.audit_events(action="identity.signed_out", actor="alice")


def test_carol_is_an_auditor_because_the_provider_says_so(stack: SignInStack, page: Page) -> None:
    page.goto(stack.cp.url + "/login/")
    sign_in_at_provider(page, stack, "carol")
    expect(page.locator("#groups")).to_contain_text("auditors")

    # Her browser session reaches the audit log, which is for auditors only.
    response = page.request.get(stack.cp.url + "/api/v1/audit/events?action=identity.signed_in")
    assert response.status == 200
    assert any(event["actor_name"] == "carol" for event in response.json()["results"])


def test_a_callback_with_a_forged_state_is_refused(stack: SignInStack, page: Page) -> None:
    page.goto(stack.cp.url + "/login/")
    page.get_by_role("link", name="Sign in with your organisation").click()
    expect(page).to_have_url(re.compile(re.escape(stack.provider.issuer)))

    response = page.goto(stack.cp.url + "/oidc/callback/?code=forged-code&state=forged-state")

    assert response is not None and response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("Sign-in did not complete")
    page.goto(stack.cp.url + "/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))


def test_a_wrong_password_goes_nowhere(stack: SignInStack, page: Page) -> None:
    page.goto(stack.cp.url + "/login/")
    page.get_by_role("link", name="Sign in with your organisation").click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not-her-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
    assert page.url.startswith(stack.provider.issuer)


def test_the_service_account_gets_a_jwt_from_the_client_credentials_grant(
    stack: SignInStack,
) -> None:
    token = stack.provider.client_credentials_token(SERVICE_CLIENT_ID)
    jwks = jwt.PyJWKClient(stack.provider.discovery()["jwks_uri"])

    claims = jwt.decode(
        token,
        jwks.get_signing_key_from_jwt(token),
        algorithms=["RS256"],
        audience=GATEHOUSE_AUDIENCE,
        issuer=stack.provider.issuer,
    )

    assert claims["sub"] == SERVICE_CLIENT_ID
    assert claims["client_id"] == SERVICE_CLIENT_ID

"""Browser sign-in through a real SAML 2.0 IdP (pysaml2, devstack/saml/idp.py, in its own
process), driven in real Chromium through Playwright. alice is a requester at the IdP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from controlplane.identities.saml.views import CONTINUED
from devstack.gatehouse import ControlPlane
from devstack.ports import free_port
from devstack.saml.idp import PERSONAS
from devstack.saml_idp import SamlIdp

pytestmark = pytest.mark.integration

PASSWORDS = {user.username: user.password for user in PERSONAS}


@dataclass
class SamlStack:
    idp: SamlIdp
    cp: ControlPlane

    @property
    def acs_url(self) -> str:
        return self.cp.url + "/saml/acs/"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamlStack]:
    root = tmp_path_factory.mktemp("saml-sign-in")
    cp_port, idp_port = free_port(), free_port()
    cp_url = f"http://127.0.0.1:{cp_port}"
    idp = SamlIdp(root / "idp", sp_metadata_url=cp_url + "/saml/metadata/", port=idp_port)
    # The control plane reads the IdP's metadata at the first sign-in, the IdP reads the
    # control plane's at its start: control plane first.
    env = idp.service_provider_env(sp_entity_id=cp_url + "/saml/metadata/")
    cp = ControlPlane(root / "controlplane", port=cp_port, extra_env=env)
    try:
        cp.bootstrap()
        cp.start()
        idp.start()
        yield SamlStack(idp=idp, cp=cp)
    finally:
        idp.stop()
        cp.stop()


def sign_in_at_idp(page: Page, stack: SamlStack, username: str) -> dict[str, str]:
    """From the control plane's login page through the IdP's form and back; returns the
    form the browser posted to the assertion consumer service."""
    posted: list[Request] = []
    page.on("request", lambda r: posted.append(r) if r.url == stack.acs_url else None)
    page.get_by_role("link", name="Sign in with SAML").click()
    expect(page).to_have_url(re.compile(re.escape(stack.idp.url) + "/sso/redirect"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile("^" + re.escape(stack.cp.url) + "/(\\?.*)?$"))
    # The IdP (another site) posts without our SameSite=Lax session cookie; the control
    # plane's "continue" page posts the same form again from its own site.
    forms = [_form(request) for request in posted]
    assert [CONTINUED in form for form in forms] == [False, True]
    return forms[0]


def _form(request: Request) -> dict[str, str]:
    assert request.method == "POST"
    return {key: values[0] for key, values in parse_qs(request.post_data or "").items()}


def test_alice_signs_in_through_the_saml_idp_and_sees_her_groups(
    stack: SamlStack, page: Page
) -> None:
    page.goto(stack.cp.url + "/")
    expect(page).to_have_url(stack.cp.url + "/login/?next=/")

    form = sign_in_at_idp(page, stack, "alice")

    assert set(form) == {"SAMLResponse", "RelayState"} and form["RelayState"] == "/"
    expect(page).to_have_url(stack.cp.url + "/")
    expect(page.locator("#signed-in-as")).to_have_text("alice")
    expect(page.locator("#groups")).to_contain_text("requesters")

    signed_in = stack.cp.audit_events(action="identity.signed_in", actor="alice")
    assert signed_in, "no identity.signed_in event for alice"
    assert signed_in[-1]["payload"]["method"] == "saml"
    assert signed_in[-1]["payload"]["issuer"] == stack.idp.entity_id
    assert signed_in[-1]["payload"]["groups"] == ["requesters"]


def test_a_replayed_saml_response_is_refused(
    stack: SamlStack, page: Page, browser: Browser
) -> None:
    page.goto(stack.cp.url + "/login/")
    form = sign_in_at_idp(page, stack, "alice")
    events_before = len(stack.cp.audit_events(action="identity.signed_in", actor="alice"))

    # Posted again by the same browser, and by another browser that captured it.
    again = page.request.post(stack.acs_url, form=form)
    other = browser.new_context()
    elsewhere = other.request.post(stack.acs_url, form={**form, CONTINUED: "1"}, max_redirects=0)

    assert again.status == 400 and "Sign-in did not complete" in again.text()
    assert elsewhere.status == 400
    other_page = other.new_page()
    other_page.goto(stack.cp.url + "/")
    expect(other_page).to_have_url(re.compile(r"/login/\?next=/$"))
    other.close()
    events_after = len(stack.cp.audit_events(action="identity.signed_in", actor="alice"))
    assert events_after == events_before


def test_the_sp_metadata_is_published_for_the_idp(stack: SamlStack, page: Page) -> None:
    response = page.request.get(stack.cp.url + "/saml/metadata/")

    assert response.status == 200
    assert f'entityID="{stack.cp.url}/saml/metadata/"' in response.text()
    assert f'Location="{stack.acs_url}"' in response.text()

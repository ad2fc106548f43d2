"""Signing in through a SAML 2.0 IdP: the control plane's three endpoints driven by Django's
test client, answered by a real pysaml2 IdP in-process (devstack/saml/idp.py) whose
responses are crafted — and broken — with pysaml2 itself."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from saml2.saml import NAMEID_FORMAT_TRANSIENT
from saml2.xmldsig import SIG_RSA_SHA1

from controlplane.audit.models import AuditEvent
from controlplane.identities.models import ExternalIdentity, User
from controlplane.identities.saml.backend import claims_from_assertion
from controlplane.identities.saml.config import SamlConfig
from controlplane.identities.saml.sp import SamlAssertion, service_providers_forget, sp_metadata_xml
from controlplane.identities.saml.views import CONTINUED
from controlplane.identities.signin import SignInAction
from devstack.saml.idp import PERSONAS, IdentityProvider, IdpUser, idp_settings
from devstack.saml.keys import key_pair_write

SP_ENTITY_ID = "https://gatehouse.example.test/saml/metadata/"
ACS_URL = "http://testserver/saml/acs/"
IDP_URL = "http://idp.example.test"
IDP_ENTITY_ID = IDP_URL + "/metadata"
ALICE, BOB = PERSONAS[0], PERSONAS[1]


@dataclass
class SamlSetup:
    tmp: Path
    config: SamlConfig
    idp: IdentityProvider

    def idp_variant(self, *, keys: str = "idp", lifetime_minutes: int = 5) -> IdentityProvider:
        """Another IdP with the same entity id: other keys (a forger) or other policies."""
        directory = self.tmp / keys
        if (directory / "key.pem").exists():
            key, cert = directory / "key.pem", directory / "cert.pem"
        else:
            key, cert = key_pair_write(directory, common_name="test-idp")
        sp_metadata = {"inline": [sp_metadata_xml(self.config, acs_url=ACS_URL)]}
        settings = idp_settings(
            base_url=IDP_URL,
            key_file=str(key),
            cert_file=str(cert),
            sp_metadata=sp_metadata,
            assertion_lifetime_minutes=lifetime_minutes,
        )
        return IdentityProvider(settings)


@pytest.fixture
def saml(tmp_path: Path, settings: Any) -> Iterator[SamlSetup]:
    metadata_file = tmp_path / "idp-metadata.xml"
    config = SamlConfig(
        sp_entity_id=SP_ENTITY_ID,
        idp_metadata_url="",
        idp_metadata_file=str(metadata_file),
        sp_cert_file="",
        sp_key_file="",
        groups_attribute="groups",
    )
    setup = SamlSetup(tmp=tmp_path, config=config, idp=None)  # type: ignore[arg-type]
    setup.idp = setup.idp_variant()
    metadata_file.write_text(setup.idp.metadata_xml())
    settings.GATEHOUSE_SAML = config
    service_providers_forget()
    yield setup
    service_providers_forget()


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True)


def start_sign_in(browser: Client, next_path: str = "/") -> tuple[Any, str]:
    """The AuthnRequest the control plane sent the browser off with, and its RelayState."""
    response = browser.get("/saml/login/", {"next": next_path})
    assert response.status_code == 302
    assert response["Location"].startswith(IDP_URL + "/sso/redirect?")
    query = parse_qs(urlsplit(response["Location"]).query)
    return query["SAMLRequest"][0], query.get("RelayState", [""])[0]


def post_response(browser: Client, xml: str, relay_state: str = "/") -> Any:
    """POST to the ACS as a browser does, following the "continue" page a cookieless POST
    gets (see controlplane/identities/saml/views.py)."""
    form = {"SAMLResponse": base64.b64encode(xml.encode()).decode(), "RelayState": relay_state}
    response = browser.post("/saml/acs/", form)
    if response.status_code == 200 and CONTINUED.encode() in response.content:
        response = browser.post("/saml/acs/", {**form, CONTINUED: "1"})
    return response


def signed_in_as(browser: Client) -> str | None:
    response = browser.get("/")
    return None if response.status_code != 200 else response.context["user"].username


def sign_in(browser: Client, idp: IdentityProvider, user: IdpUser = ALICE, **kw: Any) -> Any:
    saml_request, relay_state = start_sign_in(browser)
    xml, _ = idp.response_xml(idp.authn_request(saml_request), user, **kw)
    return post_response(browser, xml, relay_state)


# -- the happy path -----------------------------------------------------------------------------
def test_alice_signs_in_and_becomes_a_user_linked_to_the_idp_and_her_persistent_name_id(
    db: None, saml: SamlSetup, browser: Client
) -> None:
    response = sign_in(browser, saml.idp)

    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_as(browser) == "alice"
    link = ExternalIdentity.objects.get(issuer=IDP_ENTITY_ID, subject="idp-alice-0001")
    user = link.user
    assert (user.username, user.email, user.first_name) == ("alice", "alice@example.test", "Alice")
    assert list(user.groups.values_list("name", flat=True)) == ["requesters"]
    assert not user.has_usable_password() and user.kind == User.Kind.USER


def test_the_sign_in_is_audited_with_method_saml(
    db: None, saml: SamlSetup, browser: Client
) -> None:
    sign_in(browser, saml.idp)

    event = AuditEvent.objects.get(action=SignInAction.SIGNED_IN)
    assert event.actor_name == "alice"
    assert event.payload["method"] == "saml"
    assert event.payload["issuer"] == IDP_ENTITY_ID
    assert event.payload["subject"] == "idp-alice-0001"
    assert event.payload["groups"] == ["requesters"]


def test_groups_follow_the_idp_at_every_sign_in(db: None, saml: SamlSetup, browser: Client) -> None:
    alice = User.objects.create_user(username="alice-old")
    ExternalIdentity.objects.create(issuer=IDP_ENTITY_ID, subject="idp-alice-0001", user=alice)
    alice.groups.add(Group.objects.create(name="approvers"))

    sign_in(browser, saml.idp)

    alice.refresh_from_db()
    assert list(alice.groups.values_list("name", flat=True)) == ["requesters"]
    assert alice.username == "alice-old"  # matched by NameID, never renamed


def test_the_relay_state_brings_her_back_to_a_local_page_only(
    db: None, saml: SamlSetup, browser: Client
) -> None:
    saml_request, relay_state = start_sign_in(browser, "/access/requests/")
    assert relay_state == "/access/requests/"
    xml, _ = saml.idp.response_xml(saml.idp.authn_request(saml_request), ALICE)

    response = post_response(browser, xml, "https://evil.example/phish")

    assert response.status_code == 302 and response["Location"] == "/"


@pytest.mark.parametrize(
    "wanted", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]
)
def test_the_login_never_sends_a_foreign_relay_state(
    db: None, saml: SamlSetup, browser: Client, wanted: str
) -> None:
    _, relay_state = start_sign_in(browser, wanted)

    assert relay_state == "/"


def test_a_disabled_user_is_refused_and_the_refusal_is_audited(
    db: None, saml: SamlSetup, browser: Client
) -> None:
    alice = User.objects.create_user(username="alice", is_active=False)
    ExternalIdentity.objects.create(issuer=IDP_ENTITY_ID, subject="idp-alice-0001", user=alice)

    response = sign_in(browser, saml.idp)

    assert response.status_code == 302 and response["Location"] == "/login/"
    assert signed_in_as(browser) is None
    refusal = AuditEvent.objects.get(action=SignInAction.SIGN_IN_REFUSED)
    assert refusal.payload["method"] == "saml"


# -- refusals ------------------------------------------------------------------------------------
def assert_refused(browser: Client, response: Any, log: Any, because: str) -> None:
    assert response.status_code == 400
    assert b"Sign-in did not complete" in response.content
    assert because in log.text, f"refused, but not because of {because!r}"
    assert signed_in_as(browser) is None
    assert not AuditEvent.objects.filter(action=SignInAction.SIGNED_IN).exists()


def test_an_unsigned_assertion_is_refused(
    db: None, saml: SamlSetup, browser: Client, caplog: Any
) -> None:
    assert_refused(
        browser,
        sign_in(browser, saml.idp, sign_assertion=False),
        caplog,
        "Signature missing for assertion",
    )


def test_a_signed_response_around_an_unsigned_assertion_is_refused(
    db: None, saml: SamlSetup, browser: Client, caplog: Any
) -> None:
    response = sign_in(browser, saml.idp, sign_assertion=False, sign_response=True)

    assert_refused(browser, response, caplog, "Signature missing for assertion")


def test_an_assertion_signed_by_another_key_is_refused(
    db: None, saml: SamlSetup, browser: Client, caplog: Any
) -> None:
    forger = saml.idp_variant(keys="forger")

    assert_refused(browser, sign_in(browser, forger), caplog, "Failed to verify signature")


def test_an_assertion_altered_after_signing_is_refused(
    db: None, saml: SamlSetup, browser: Client, caplog: Any
) -> None:
    saml_request, relay_state = start_sign_in(browser)
    xml, _ = saml.idp.response_xml(saml.idp.authn_request(saml_request), ALICE)
    assert ">requesters<" in xml

    response = post_response(browser, xml.replace(">requesters<", ">auditors<"), relay_state)

    assert_refused(browser, response, caplog, "Failed to verify signature")


def test_an_assertion_signed_with_rsa_sha1_is_refused(
    db: None, saml: SamlSetup, browser: Client, caplog: Any
) -> None:
    response = sign_in(browser, saml.idp, sign_alg=SIG_RSA_SHA1)

    assert_refused(browser, response, caplog, "xmldsig#rsa-sha1, not an accepted algorithm")


def test_an_expired_assertion_is_refused(
    db: None, saml: SamlSetup, browser: Client, caplog: Any
) -> None:
    expired = saml.idp_variant(lifetime_minutes=-10)

    assert_refused(browser, sign_in(browser, expired), caplog, "Condition not OK")


def test_an_assertion_for_another_audience_is_refused(
    db: None, saml: SamlSetup, browser: Client, caplog: Any
) -> None:
    response = sign_in(browser, saml.idp, sp_entity_id="https://other-sp.example.test/")

    assert_refused(browser, response, caplog, "AudienceRestrictions conditions not satisfied")


def test_a_transient_name_id_is_refused(
    db: None, saml: SamlSetup, browser: Client, caplog: Any
) -> None:
    response = sign_in(browser, saml.idp, name_id_format=NAMEID_FORMAT_TRANSIENT)

    assert_refused(browser, response, caplog, "NameID is not persistent")


def test_a_replayed_response_is_refused(db: None, saml: SamlSetup, browser: Client) -> None:
    saml_request, relay_state = start_sign_in(browser)
    xml, _ = saml.idp.response_xml(saml.idp.authn_request(saml_request), ALICE)
    assert post_response(browser, xml, relay_state).status_code == 302

    # The same browser (same session) posts it again, as an attacker holding it would try.
    response = post_response(browser, xml, relay_state)

    assert response.status_code == 400
    assert AuditEvent.objects.filter(action=SignInAction.SIGNED_IN).count() == 1


def test_a_response_to_a_request_another_browser_made_is_refused(
    db: None, saml: SamlSetup, browser: Client, caplog: Any
) -> None:
    saml_request, relay_state = start_sign_in(Client())  # mallory's browser starts it
    xml, _ = saml.idp.response_xml(saml.idp.authn_request(saml_request), ALICE)

    assert_refused(
        browser, post_response(browser, xml, relay_state), caplog, "Unsolicited response"
    )


def test_an_unsolicited_response_is_refused(
    db: None, saml: SamlSetup, browser: Client, caplog: Any
) -> None:
    saml_request, _ = start_sign_in(Client())
    xml, _ = saml.idp.response_xml(saml.idp.authn_request(saml_request), ALICE)

    assert_refused(browser, post_response(browser, xml), caplog, "Unsolicited response")


def test_garbage_is_refused(db: None, saml: SamlSetup, browser: Client, caplog: Any) -> None:
    start_sign_in(browser)

    assert_refused(
        browser, browser.post("/saml/acs/", {"SAMLResponse": "bm90IHhtbA=="}), caplog, "ParseError"
    )
    assert_refused(browser, browser.post("/saml/acs/", {}), caplog, "no SAMLResponse")


# -- metadata, and SAML switched off ---------------------------------------------------------
def test_the_metadata_names_the_entity_id_the_acs_and_wants_signed_assertions(
    db: None, saml: SamlSetup, browser: Client
) -> None:
    response = browser.get("/saml/metadata/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/samlmetadata+xml"
    body = response.content.decode()
    assert f'entityID="{SP_ENTITY_ID}"' in body
    assert f'Location="{ACS_URL}"' in body
    assert 'WantAssertionsSigned="true"' in body


def test_without_saml_configuration_the_endpoints_do_nothing(
    db: None, settings: Any, browser: Client
) -> None:
    settings.GATEHOUSE_SAML = None

    assert browser.get("/saml/metadata/").status_code == 404
    assert browser.get("/saml/login/")["Location"] == "/login/"
    assert browser.post("/saml/acs/", {"SAMLResponse": "x"})["Location"] == "/login/"


def test_an_unreachable_idp_is_answered_with_a_clear_page(
    db: None, saml: SamlSetup, browser: Client
) -> None:
    Path(saml.config.idp_metadata_file).unlink()

    response = browser.get("/saml/login/")

    assert response.status_code == 503
    assert b"be reached right now" in response.content


# -- attribute mapping -------------------------------------------------------------------------
def test_attributes_map_to_the_sign_in_claims_with_the_configured_groups_attribute() -> None:
    assertion = SamlAssertion(
        issuer=IDP_ENTITY_ID,
        name_id="n-1",
        request_id="r-1",
        attributes={
            "uid": ["dana"],
            "mail": ["dana@example.test"],
            "sn": ["Scully"],
            "memberOf": ["oncall", "approvers"],
            "groups": ["ignored"],
        },
    )

    claims = claims_from_assertion(assertion, groups_attribute="memberOf")

    assert claims == {
        "sub": "n-1",
        "preferred_username": "dana",
        "email": "dana@example.test",
        "family_name": "Scully",
        "groups": ["oncall", "approvers"],
    }


def test_the_sign_in_page_offers_saml_only_when_it_is_configured(
    db: None, saml: SamlSetup, settings: Any, browser: Client
) -> None:
    assert b'id="sign-in-saml"' in browser.get("/login/?next=/access/").content
    assert b"/saml/login/?next=/access/" in browser.get("/login/?next=/access/").content

    settings.GATEHOUSE_SAML = None

    assert b'id="sign-in-saml"' not in browser.get("/login/").content


def test_a_post_without_the_session_cookie_is_posted_again_from_this_site_once(
    db: None, saml: SamlSetup
) -> None:
    # A POST from the IdP's site carries no SameSite=Lax cookie; this page re-posts the form.
    cookieless = Client(enforce_csrf_checks=True)
    form = {"SAMLResponse": "PHNhbWw+", "RelayState": "/x/"}

    response = cookieless.post("/saml/acs/", form)

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert 'action="/saml/acs/"' in page
    assert 'name="SAMLResponse" value="PHNhbWw+"' in page and 'value="/x/"' in page
    assert f'name="{CONTINUED}" value="1"' in page
    assert cookieless.post("/saml/acs/", {**form, CONTINUED: "1"}).status_code == 400


def test_with_an_sp_key_the_requests_are_signed_and_the_certificate_published(
    db: None, saml: SamlSetup, settings: Any, browser: Client
) -> None:
    key, cert = key_pair_write(saml.tmp / "sp", common_name="gatehouse-sp")
    settings.GATEHOUSE_SAML = replace(saml.config, sp_key_file=str(key), sp_cert_file=str(cert))

    redirect_to = browser.get("/saml/login/")["Location"]
    metadata = browser.get("/saml/metadata/").content.decode()

    query = parse_qs(urlsplit(redirect_to).query)
    assert query["SigAlg"] == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"]
    assert query["Signature"][0]
    assert 'AuthnRequestsSigned="true"' in metadata and "X509Certificate" in metadata

"""This control plane as a SAML 2.0 service provider (pysaml2): AuthnRequests out through the
HTTP-Redirect binding, Responses in through HTTP-POST, and nothing trusted until verified.

What a Response must satisfy (pysaml2 checks the first five; the rest are checked here,
again or in addition, so a change of library defaults can't loosen them):

- the assertion is signed by a key from the IdP's metadata (``want_assertions_signed``);
  a signature on the Response alone is not enough;
- its Conditions name our entity id as audience, and NotBefore / NotOnOrAfter (also on the
  SubjectConfirmationData) hold within CLOCK_SKEW_SECONDS;
- its Destination and Recipient are our assertion consumer service;
- it answers a request this browser made (InResponseTo among the outstanding request ids
  kept in the session, ``allow_unsolicited`` off) — each id is usable once, so a replayed
  Response is refused;
- exactly one assertion, issued by the IdP of our metadata, signed with SHA-256 or better;
- a persistent NameID: a transient one changes at every sign-in and would make a new user
  each time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.response import AuthnResponse
from saml2.saml import NAMEID_FORMAT_PERSISTENT
from saml2.sigver import get_xmlsec_binary
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from controlplane.identities.saml.config import SamlConfig

logger = logging.getLogger(__name__)

CLOCK_SKEW_SECONDS = 60
METADATA_TIMEOUT_SECONDS = 10
MAX_RESPONSE_BYTES = 256 * 1024  # base64 of a Response; real ones are a few KB
# SHA-1 signatures are refused (collisions are practical); pysaml2 alone accepts them.
SIGNATURE_ALGORITHMS = frozenset(
    {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
    }
)


class IdpUnavailable(Exception):
    """The IdP's metadata could not be read or is unusable; sign-in cannot start."""


class ResponseRefused(Exception):
    """A SAML Response that does not prove who the browser is; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SamlAssertion:
    """What a verified assertion says about the person."""

    issuer: str  # the IdP's entity id
    name_id: str
    request_id: str  # the AuthnRequest it answers (InResponseTo)
    attributes: Mapping[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthnRequest:
    request_id: str
    redirect_url: str


class ServiceProvider:
    """One pysaml2 client for one assertion consumer service URL."""

    def __init__(self, config: SamlConfig, *, acs_url: str, idp_metadata: str) -> None:
        self.config = config
        self.acs_url = acs_url
        self.sp_config = SPConfig().load(_pysaml2_settings(config, acs_url, idp_metadata))
        self.client = Saml2Client(config=self.sp_config)
        idps = list(self.sp_config.metadata.identity_providers())
        if len(idps) != 1:
            raise IdpUnavailable(f"the IdP metadata describes {len(idps)} identity providers")
        self.idp_entity_id: str = idps[0]

    def authn_request(self, *, relay_state: str) -> AuthnRequest:
        """A new AuthnRequest and the IdP URL that carries it (HTTP-Redirect binding)."""
        request_id, info = self.client.prepare_for_authenticate(
            entityid=self.idp_entity_id,
            relay_state=relay_state,
            binding=BINDING_HTTP_REDIRECT,
            nameid_format=NAMEID_FORMAT_PERSISTENT,
            sigalg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        return AuthnRequest(
            request_id=str(request_id), redirect_url=dict(info["headers"])["Location"]
        )

    def verified_assertion(
        self, saml_response: str, *, outstanding: Mapping[str, str]
    ) -> SamlAssertion:
        """The assertion of a base64 ``SAMLResponse`` answering one of ``outstanding``
        (request id → relay state); raises ResponseRefused otherwise."""
        if not saml_response or len(saml_response) > MAX_RESPONSE_BYTES:
            raise ResponseRefused("no SAMLResponse, or an oversized one")
        try:
            response = self.client.parse_authn_request_response(
                saml_response, BINDING_HTTP_POST, outstanding=dict(outstanding)
            )
        except Exception as exc:  # pysaml2 raises many types; every one is a refusal
            raise ResponseRefused(f"{type(exc).__name__}: {exc}") from None
        if response is None or response.assertion is None:
            raise ResponseRefused("the response did not verify")
        return self._assertion_checked(response, outstanding)

    def _assertion_checked(
        self, response: AuthnResponse, outstanding: Mapping[str, str]
    ) -> SamlAssertion:
        assertion = response.assertion
        if response.in_response_to not in outstanding:
            raise ResponseRefused("the response answers no request of this browser")
        if len(response.response.assertion) != 1 or assertion.signature is None:
            raise ResponseRefused("the response must carry exactly one signed assertion")
        algorithm = assertion.signature.signed_info.signature_method.algorithm
        if algorithm not in SIGNATURE_ALGORITHMS:
            raise ResponseRefused(f"assertion signed with {algorithm}, not an accepted algorithm")
        issuer = assertion.issuer.text.strip() if assertion.issuer is not None else ""
        if issuer != self.idp_entity_id:
            raise ResponseRefused(f"assertion issued by {issuer!r}, not the configured IdP")
        name_id = response.name_id
        if name_id is None or name_id.format != NAMEID_FORMAT_PERSISTENT or not name_id.text:
            raise ResponseRefused("the assertion's NameID is not persistent")
        return SamlAssertion(
            issuer=issuer,
            name_id=name_id.text.strip(),
            request_id=str(response.in_response_to),
            attributes=response.ava or {},
        )


def sp_metadata_xml(config: SamlConfig, *, acs_url: str) -> str:
    """This SP's metadata, for registration at the IdP. Needs no IdP metadata, so an IdP
    can read it before the control plane has ever talked to the IdP."""
    sp_config = SPConfig().load(_pysaml2_settings(config, acs_url, idp_metadata=None))
    return str(entity_descriptor(sp_config))


def idp_metadata_read(config: SamlConfig) -> str:
    """The IdP's metadata XML, from the file or the URL of the configuration."""
    if config.idp_metadata_file:
        try:
            return Path(config.idp_metadata_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise IdpUnavailable(
                f"cannot read {config.idp_metadata_file}: {exc.strerror}"
            ) from None
    try:
        response = requests.get(config.idp_metadata_url, timeout=METADATA_TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise IdpUnavailable(f"IdP metadata at {config.idp_metadata_url}: {exc}") from None
    return response.text


_providers: dict[str, ServiceProvider] = {}
_lock = threading.Lock()


def service_provider(config: SamlConfig, *, acs_url: str) -> ServiceProvider:
    """The SP for ``acs_url``; the IdP metadata is read at the first sign-in (not at
    start, so ``migrate`` never needs the IdP) and kept for the life of the process."""
    with _lock:
        cached = _providers.get(acs_url)
        if cached is None or cached.config != config:
            try:
                cached = ServiceProvider(
                    config, acs_url=acs_url, idp_metadata=idp_metadata_read(config)
                )
            except IdpUnavailable:
                raise
            except Exception as exc:  # unparsable metadata, missing xmlsec1, bad key files
                raise IdpUnavailable(f"SAML service provider unusable: {exc}") from None
            _providers[acs_url] = cached
        return cached


def service_providers_forget() -> None:
    """Drop cached SPs and IdP metadata (tests; an IdP that rotated its certificate)."""
    with _lock:
        _providers.clear()


def _pysaml2_settings(
    config: SamlConfig, acs_url: str, idp_metadata: str | None
) -> dict[str, object]:
    settings: dict[str, object] = {
        "entityid": config.sp_entity_id,
        "xmlsec_binary": get_xmlsec_binary(["/usr/bin", "/usr/local/bin"]),
        "metadata": {"inline": [idp_metadata]} if idp_metadata else {},
        "accepted_time_diff": CLOCK_SKEW_SECONDS,
        # pysaml2 signs with RSA-SHA1 unless told otherwise.
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
        # Group attributes have no standard name; unknown attributes are kept by name.
        "allow_unknown_attributes": True,
        "service": {
            "sp": {
                "endpoints": {"assertion_consumer_service": [(acs_url, BINDING_HTTP_POST)]},
                "allow_unsolicited": False,
                "want_assertions_signed": True,
                "want_response_signed": False,
                "authn_requests_signed": bool(config.sp_key_file),
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                "name_id_format_allow_create": True,
            }
        },
    }
    if config.sp_key_file:
        settings["key_file"] = config.sp_key_file
        settings["cert_file"] = config.sp_cert_file
    return settings

"""The authentication backend for SAML sign-in: it accepts only an assertion the service
provider has already verified, translates it to the sign-in service's claims, and never
sees a password."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from controlplane.identities.models import User
from controlplane.identities.saml.config import SamlConfig
from controlplane.identities.saml.sp import SamlAssertion
from controlplane.identities.signin import SignInMethod, SignInRefused, external_identity_sign_in

GROUPS_KEY = "groups"
# Claim of the sign-in service → attribute names that fill it, first found wins: the
# friendly names pysaml2 gives the standard (eduPerson / inetOrgPerson) attributes.
PROFILE_ATTRIBUTES = {
    "preferred_username": ("uid", "username", "eduPersonPrincipalName"),
    "email": ("mail", "email", "emailAddress"),
    "given_name": ("givenName",),
    "family_name": ("sn", "surname"),
}


def claims_from_assertion(assertion: SamlAssertion, *, groups_attribute: str) -> dict[str, Any]:
    """The assertion in the OIDC claim names the sign-in service reads: ``sub`` is the
    persistent NameID, groups are every value of ``groups_attribute``."""
    claims: dict[str, Any] = {"sub": assertion.name_id}
    for claim, names in PROFILE_ATTRIBUTES.items():
        value = _first_value(assertion.attributes, names)
        if value is not None:
            claims[claim] = value
    claims[GROUPS_KEY] = list(assertion.attributes.get(groups_attribute, []))
    return claims


class SamlBackend(ModelBackend):
    """``authenticate(request, saml_assertion=…)`` signs in the person a verified assertion
    names; answers None to every other call (passwords go to the local-login backend)."""

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        saml_assertion: SamlAssertion | None = None,
        saml_config: SamlConfig | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not isinstance(saml_assertion, SamlAssertion) or saml_config is None:
            return None
        claims = claims_from_assertion(
            saml_assertion, groups_attribute=saml_config.groups_attribute
        )
        try:
            return external_identity_sign_in(
                issuer=saml_assertion.issuer,
                claims=claims,
                groups_claim=GROUPS_KEY,
                method=SignInMethod.SAML,
            )
        except SignInRefused as refusal:
            if request is not None:
                request.gatehouse_sign_in_refusal = refusal.reason  # type: ignore[attr-defined]
            return None


def _first_value(attributes: Mapping[str, list[str]], names: tuple[str, ...]) -> str | None:
    for name in names:
        values = attributes.get(name) or []
        if values and isinstance(values[0], str) and values[0].strip():
            return values[0].strip()
    return None

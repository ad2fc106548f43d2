"""SAML sign-in configuration from the environment (read by ``controlplane.settings``).

Imports no models and no pysaml2: settings load this before Django is set up, and SAML
stays entirely off (no metadata fetch, no xmlsec1 needed) when no IdP metadata is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from controlplane.config.env import env_str

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class SamlConfig:
    """One identity provider (by its metadata) and this control plane as its SP."""

    sp_entity_id: str
    idp_metadata_url: str  # exactly one of url / file is set
    idp_metadata_file: str
    sp_cert_file: str  # optional pair: signs AuthnRequests, published in SP metadata
    sp_key_file: str
    groups_attribute: str


def saml_config() -> SamlConfig | None:
    """The configured IdP (``settings.GATEHOUSE_SAML``), or None when SAML sign-in is off."""
    config: SamlConfig | None = getattr(settings, "GATEHOUSE_SAML", None)
    return config


def saml_config_from_env() -> SamlConfig | None:
    """GATEHOUSE_SAML_*; None (SAML sign-in off) when no IdP metadata is configured."""
    url = env_str("GATEHOUSE_SAML_IDP_METADATA_URL").strip()
    file = env_str("GATEHOUSE_SAML_IDP_METADATA_FILE").strip()
    if not url and not file:
        return None
    if url and file:
        raise ImproperlyConfigured(
            "set either GATEHOUSE_SAML_IDP_METADATA_URL or GATEHOUSE_SAML_IDP_METADATA_FILE"
        )
    if url:
        _check_url("GATEHOUSE_SAML_IDP_METADATA_URL", url)
    else:
        _check_readable("GATEHOUSE_SAML_IDP_METADATA_FILE", file)
    cert, key = _sp_key_pair()
    return SamlConfig(
        sp_entity_id=_entity_id(),
        idp_metadata_url=url,
        idp_metadata_file=file,
        sp_cert_file=cert,
        sp_key_file=key,
        groups_attribute=env_str("GATEHOUSE_SAML_GROUPS_ATTRIBUTE", "groups").strip(),
    )


def _entity_id() -> str:
    value = env_str("GATEHOUSE_SAML_SP_ENTITY_ID").strip()
    if not value:
        raise ImproperlyConfigured(
            "GATEHOUSE_SAML_SP_ENTITY_ID is required when SAML IdP metadata is set"
        )
    if len(value) > 1024:  # SAML core §8.3.6: at most 1024 characters
        raise ImproperlyConfigured("GATEHOUSE_SAML_SP_ENTITY_ID is longer than 1024 characters")
    return value


def _sp_key_pair() -> tuple[str, str]:
    cert = env_str("GATEHOUSE_SAML_SP_CERT_FILE").strip()
    key = env_str("GATEHOUSE_SAML_SP_KEY_FILE").strip()
    if bool(cert) != bool(key):
        raise ImproperlyConfigured(
            "set both GATEHOUSE_SAML_SP_CERT_FILE and GATEHOUSE_SAML_SP_KEY_FILE, or neither"
        )
    if cert:
        _check_readable("GATEHOUSE_SAML_SP_CERT_FILE", cert)
        _check_readable("GATEHOUSE_SAML_SP_KEY_FILE", key)
    return cert, key


def _check_readable(name: str, path: str) -> None:
    try:
        with Path(path).open("rb"):
            pass
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}: cannot read {path}: {exc.strerror}") from None


def _check_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ImproperlyConfigured(f"{name} must be an http(s) URL, not {value!r}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        # The metadata carries the IdP's signing certificate: whoever can alter it in
        # transit can sign assertions for anyone.
        raise ImproperlyConfigured(f"{name} must use https (plain http only on loopback)")

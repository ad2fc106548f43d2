"""SAML sign-in configuration: off unless IdP metadata is given, loud about bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from controlplane.identities.saml.config import saml_config_from_env

ENTITY_ID = "https://gatehouse.example.test/saml/metadata/"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "IDP_METADATA_URL",
        "IDP_METADATA_FILE",
        "SP_ENTITY_ID",
        "SP_CERT_FILE",
        "SP_KEY_FILE",
        "GROUPS_ATTRIBUTE",
    ):
        monkeypatch.delenv(f"GATEHOUSE_SAML_{name}", raising=False)


@pytest.fixture
def metadata_file(tmp_path: Path) -> Path:
    path = tmp_path / "idp.xml"
    path.write_text("<EntityDescriptor/>")
    return path


def test_saml_is_off_when_no_idp_metadata_is_set() -> None:
    assert saml_config_from_env() is None


def test_a_metadata_url_and_entity_id_turn_it_on_with_groups_from_the_groups_attribute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEHOUSE_SAML_IDP_METADATA_URL", "https://idp.example.test/metadata")
    monkeypatch.setenv("GATEHOUSE_SAML_SP_ENTITY_ID", ENTITY_ID)

    config = saml_config_from_env()

    assert config is not None
    assert config.idp_metadata_url == "https://idp.example.test/metadata"
    assert config.sp_entity_id == ENTITY_ID
    assert config.groups_attribute == "groups"
    assert (config.sp_cert_file, config.sp_key_file) == ("", "")


def test_a_metadata_file_and_a_groups_attribute_are_read(
    monkeypatch: pytest.MonkeyPatch, metadata_file: Path
) -> None:
    monkeypatch.setenv("GATEHOUSE_SAML_IDP_METADATA_FILE", str(metadata_file))
    monkeypatch.setenv("GATEHOUSE_SAML_SP_ENTITY_ID", ENTITY_ID)
    monkeypatch.setenv("GATEHOUSE_SAML_GROUPS_ATTRIBUTE", "memberOf")

    config = saml_config_from_env()

    assert config is not None and config.idp_metadata_file == str(metadata_file)
    assert config.groups_attribute == "memberOf"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IDP_METADATA_URL": "https://idp.example.test/m"}, "SP_ENTITY_ID is required"),
        (
            {"IDP_METADATA_URL": "http://idp.example.test/m", "SP_ENTITY_ID": ENTITY_ID},
            "must use https",
        ),
        ({"IDP_METADATA_URL": "ftp://idp/m", "SP_ENTITY_ID": ENTITY_ID}, "http(s) URL"),
        (
            {"IDP_METADATA_FILE": "/nonexistent/idp.xml", "SP_ENTITY_ID": ENTITY_ID},
            "cannot read /nonexistent/idp.xml",
        ),
        (
            {
                "IDP_METADATA_URL": "https://idp.example.test/m",
                "IDP_METADATA_FILE": "/x",
                "SP_ENTITY_ID": ENTITY_ID,
            },
            "either",
        ),
        (
            {
                "IDP_METADATA_URL": "https://idp.example.test/m",
                "SP_ENTITY_ID": ENTITY_ID,
                "SP_CERT_FILE": "/x.pem",
            },
            "both GATEHOUSE_SAML_SP_CERT_FILE and GATEHOUSE_SAML_SP_KEY_FILE",
        ),
    ],
)
def test_bad_values_stop_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(f"GATEHOUSE_SAML_{name}", value)

    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(").replace(")", r"\)")):
        saml_config_from_env()


def test_plain_http_metadata_is_allowed_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEHOUSE_SAML_IDP_METADATA_URL", "http://127.0.0.1:8080/metadata")
    monkeypatch.setenv("GATEHOUSE_SAML_SP_ENTITY_ID", ENTITY_ID)

    assert saml_config_from_env() is not None

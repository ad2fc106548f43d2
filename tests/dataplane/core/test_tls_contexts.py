"""TLS: a self-signed pair made once and reused, and contexts that really handshake."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dataplane.core import tls


def test_the_self_signed_pair_is_generated_once_and_reused(tmp_path: Path) -> None:
    cert_path, key_path = tls.ensure_self_signed(tmp_path)
    first = cert_path.read_bytes()

    tls.server_context(None, None, state_dir=tmp_path)

    assert cert_path.read_bytes() == first
    assert key_path.parent == tmp_path / "tls"


def test_the_private_key_is_readable_by_the_owner_only(tmp_path: Path) -> None:
    _, key_path = tls.ensure_self_signed(tmp_path)

    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_the_certificate_names_the_agent_and_this_host(tmp_path: Path) -> None:
    cert_path, _ = tls.ensure_self_signed(tmp_path)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value

    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "gatehouse-agent"
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(days=364) < lifetime < dt.timedelta(days=367)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)


def test_an_expired_certificate_is_replaced(tmp_path: Path) -> None:
    cert_path, key_path = tls.ensure_self_signed(tmp_path)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gatehouse-agent")])
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    expired = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(past)
        .not_valid_after(past + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(expired.public_bytes(serialization.Encoding.PEM))

    tls.ensure_self_signed(tmp_path)

    renewed = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert renewed.not_valid_after_utc > dt.datetime.now(dt.UTC)


def test_given_files_are_used_as_they_are(tmp_path: Path) -> None:
    cert_path, key_path = tls.ensure_self_signed(tmp_path / "elsewhere")

    context = tls.server_context(str(cert_path), str(key_path), state_dir=tmp_path)

    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert not (tmp_path / "tls").exists()


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        tls.server_context("cert.pem", None, state_dir=tmp_path)


def test_a_verifying_client_completes_a_handshake_over_loopback(tmp_path: Path) -> None:
    server_ctx = tls.server_context(None, None, state_dir=tmp_path)
    cert_path, _ = tls.ensure_self_signed(tmp_path)
    client_ctx = ssl.create_default_context(cafile=str(cert_path))

    async def scenario() -> bytes:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(await reader.readexactly(5))
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
            )
            writer.write(b"hello")
            await writer.drain()
            answer = await reader.readexactly(5)
            assert writer.get_extra_info("ssl_object").version() in {"TLSv1.2", "TLSv1.3"}
            writer.close()
            await writer.wait_closed()
        return answer

    assert asyncio.run(scenario()) == b"hello"


def test_the_server_accepts_tls_1_2_and_newer_only(tmp_path: Path) -> None:
    context = tls.server_context(None, None, state_dir=tmp_path)

    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_upstream_tls_disable_means_no_context() -> None:
    assert tls.client_context("disable", None) is None


@pytest.mark.parametrize("mode", ["prefer", "require"])
def test_upstream_tls_without_a_ca_encrypts_without_verifying(mode: str) -> None:
    context = tls.client_context(mode, None)

    assert context is not None
    assert context.verify_mode == ssl.CERT_NONE
    assert context.check_hostname is False
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_upstream_tls_with_a_ca_verifies(tmp_path: Path) -> None:
    cert_path, _ = tls.ensure_self_signed(tmp_path)

    context = tls.client_context("require", str(cert_path))

    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


def test_an_unknown_upstream_tls_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        tls.client_context("verify-sideways", None)


def test_the_link_context_verifies_wss_and_is_absent_for_ws() -> None:
    assert tls.link_context("ws://control-plane:8000", None) is None
    assert tls.link_context("http://control-plane:8000", None) is None
    for url in ("wss://control-plane", "https://control-plane"):
        context = tls.link_context(url, None)
        assert context is not None
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname is True


def test_the_hostname_is_in_the_certificate(tmp_path: Path) -> None:
    hostname = socket.gethostname().lower()
    cert_path, _ = tls.ensure_self_signed(tmp_path)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value

    if hostname.isascii() and hostname != "localhost":
        assert hostname in sans.get_values_for_type(x509.DNSName)

"""TLS contexts: the agent's listeners, its upstream connections, and its control-plane link.

Without a configured certificate the agent makes itself a self-signed one on first start
(stored under ``<state_dir>/tls/``) so that clients' passwords — gateway tokens — never
cross the network in clear text, even on a quick trial setup.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger("gatehouse.tls")

SELF_SIGNED_COMMON_NAME = "gatehouse-agent"
SELF_SIGNED_VALIDITY = dt.timedelta(days=365)
CERT_FILENAME = "agent-cert.pem"
KEY_FILENAME = "agent-key.pem"
UPSTREAM_TLS_MODES = frozenset({"disable", "prefer", "require"})

_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def server_context(
    cert_file: str | None, key_file: str | None, *, state_dir: Path
) -> ssl.SSLContext:
    """A TLS 1.2+ server context with the given certificate, or a self-signed one."""
    if (cert_file is None) != (key_file is None):
        raise ValueError("give both a TLS certificate and its key, or neither")
    if cert_file is None or key_file is None:
        cert_path, key_path = ensure_self_signed(state_dir)
        cert_file, key_file = str(cert_path), str(key_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


def ensure_self_signed(state_dir: Path) -> tuple[Path, Path]:
    """Return (cert, key) paths of the agent's self-signed pair, generating it if needed.

    The pair is reused across starts; it is made anew when missing, unreadable, mismatched
    or expired.
    """
    directory = state_dir / "tls"
    cert_path, key_path = directory / CERT_FILENAME, directory / KEY_FILENAME
    if _usable_pair(cert_path, key_path):
        return cert_path, key_path
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    _write_atomically(key_path, _key_pem(key), mode=0o600)
    _write_atomically(cert_path, _self_signed_cert(key).public_bytes(serialization.Encoding.PEM))
    log.info("generated a self-signed TLS certificate for %s in %s", _hostname(), directory)
    return cert_path, key_path


def client_context(mode: str, ca_file: str | None) -> ssl.SSLContext | None:
    """A context for an upstream connection in libpq ``sslmode`` terms, None for "disable".

    "prefer" and "require" encrypt but, without ``ca_file``, do not verify the server:
    that is what libpq's ``sslmode=require`` means, and what operators expect when they
    copy the setting over from their existing connection strings. (Falling back to plain
    text for "prefer" is the caller's business.) With ``ca_file`` the server's chain and
    host name are verified.
    """
    if mode not in UPSTREAM_TLS_MODES:
        raise ValueError(f"unknown upstream TLS mode {mode!r}")
    if mode == "disable":
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file is None:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.load_verify_locations(cafile=ca_file)
    return context


def link_context(url: str, ca_file: str | None) -> ssl.SSLContext | None:
    """The context for the control-plane link: None for ws:// or http://, else verifying.

    The link always verifies the control plane (system trust store, or ``ca_file``): the
    agent receives upstream credentials over it.
    """
    if not url.startswith(("wss://", "https://")):
        return None
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _usable_pair(cert_path: Path, key_path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return False
    if cert.not_valid_after_utc <= dt.datetime.now(dt.UTC):
        log.info("the self-signed TLS certificate in %s expired; making a new one", cert_path)
        return False
    return cert.public_key() == key.public_key()


def _self_signed_cert(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SELF_SIGNED_COMMON_NAME)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + SELF_SIGNED_VALIDITY)
        .add_extension(x509.SubjectAlternativeName(_subject_alt_names()), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_KEY_USAGE, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )


def _subject_alt_names() -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    hostname = _hostname()
    if hostname and hostname != "localhost":
        names.append(x509.DNSName(hostname))
    return names


def _hostname() -> str:
    # Only names a certificate can carry; an odd hostname just leaves it out of the SANs.
    hostname = socket.gethostname().strip().lower()
    return hostname if hostname.isascii() and " " not in hostname else ""


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_atomically(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a key behind."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with open(fd, "wb") as file:
        os.fchmod(fd, mode)  # O_CREAT's mode is filtered by the umask; the key must be 0600
        file.write(data)
        file.flush()
        os.fsync(fd)
    os.replace(temporary, path)

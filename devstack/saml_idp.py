"""A real SAML 2.0 identity provider (pysaml2, `devstack/saml/idp.py`) as a child process on
a free loopback port, with a key and certificate made at start in ``base_dir``.

    idp = SamlIdp(tmp_path, sp_metadata_url=cp.url + "/saml/metadata/", port=port).start()
    env = idp.service_provider_env(sp_entity_id)   # GATEHOUSE_SAML_* for the control plane
    idp.stop()

The IdP reads the SP's metadata once, at start: start the control plane first (it reads the
IdP's metadata only at the first sign-in, so it may be given ``metadata_url`` in advance).
Personas: alice (requesters), bob (approvers), carol (auditors); passwords in PERSONAS.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from devstack.ports import free_port
from devstack.processes import ChildProcess
from devstack.saml.idp import PERSONAS, IdpUser
from devstack.saml.keys import key_pair_write

REPO = Path(__file__).resolve().parent.parent


class SamlIdp:
    """`python -m devstack.saml.idp` on a free port; entity id ``<url>/metadata``."""

    def __init__(
        self,
        base_dir: Path,
        *,
        sp_metadata_url: str,
        users: tuple[IdpUser, ...] = PERSONAS,
        port: int | None = None,
        host: str = "localhost",
    ) -> None:
        self.dir = base_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.sp_metadata_url = sp_metadata_url
        self.users = users
        # "localhost" while the control plane is at 127.0.0.1: two different sites to the
        # browser, as an IdP and Gatehouse are in production, so the POST to the ACS is
        # cross-site and SameSite cookies behave as they will there.
        self.host = host
        self.process: ChildProcess | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def metadata_url(self) -> str:
        return self.url + "/metadata"

    entity_id = metadata_url

    def service_provider_env(self, sp_entity_id: str) -> dict[str, str]:
        """GATEHOUSE_SAML_* for a control plane that signs in through this IdP."""
        return {
            "GATEHOUSE_SAML_IDP_METADATA_URL": self.metadata_url,
            "GATEHOUSE_SAML_SP_ENTITY_ID": sp_entity_id,
        }

    def start(self, *, timeout_s: float = 20) -> SamlIdp:
        key_file, cert_file = key_pair_write(self.dir / "keys", common_name="gatehouse-test-idp")
        config = {
            "base_url": self.url,
            "port": self.port,
            "key_file": str(key_file),
            "cert_file": str(cert_file),
            "sp_metadata_url": self.sp_metadata_url,
            "users": {u.username: {"password": u.password, "groups": u.groups} for u in self.users},
        }
        config_path = self.dir / "idp.json"
        config_path.write_text(json.dumps(config))
        self.process = ChildProcess(
            [sys.executable, "-m", "devstack.saml.idp", str(config_path)],
            log_path=self.dir / "saml-idp.log",
            cwd=REPO,
        )
        self._wait_for_metadata(timeout_s)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def __enter__(self) -> SamlIdp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_for_metadata(self, timeout_s: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(self.metadata_url, timeout=5) as response:
                    response.read()
                return
            except (OSError, urllib.error.URLError):
                if not self.process.alive() or time.monotonic() > deadline:
                    tail = self.process.log_tail()
                    self.stop()
                    raise RuntimeError(f"the test SAML IdP did not start:\n{tail}") from None
                time.sleep(0.05)

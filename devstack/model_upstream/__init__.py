"""A faithful fake model provider (OpenAI Chat Completions and Responses, Anthropic Messages)
plus a plain HTTP API, as a child process on a free loopback port.

    with ModelUpstream() as upstream:
        client = openai.OpenAI(base_url=upstream.url + "/v1", api_key=upstream.api_key)
        client.chat.completions.create(model="gpt-4o-mini", messages=[...])  # "Echo: …"
        upstream.received()   # [{method, path, query, headers, body}, …], last 1,000

What the model answers, how usage is counted and which model names trigger errors, slow or cut
streams: see devstack/model_upstream/behaviour.py. The HTTP API (/api/echo, /api/big,
/api/slow, /api/json-pii, /oauth/token, /api/protected): see http_api.py.
"""

from __future__ import annotations

import json
import shutil
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from devstack.ports import free_port
from devstack.processes import ChildProcess

DEFAULT_API_KEY = "sk-upstream-test-key"
DEFAULT_OAUTH_CLIENT_ID = "gatehouse-http-client"
DEFAULT_OAUTH_CLIENT_SECRET = "http-client-secret-1"
REPO_ROOT = Path(__file__).resolve().parents[2]


class ModelUpstream:
    """`python -m devstack.model_upstream` on a free port; stopped by its pid."""

    def __init__(
        self,
        base_dir: Path | None = None,
        *,
        api_key: str = DEFAULT_API_KEY,
        port: int | None = None,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        oauth_client_id: str = DEFAULT_OAUTH_CLIENT_ID,
        oauth_client_secret: str = DEFAULT_OAUTH_CLIENT_SECRET,
        oauth_expires_in_s: int = 3,
    ) -> None:
        self._own_dir = base_dir is None
        self.dir = base_dir or Path(tempfile.mkdtemp(prefix="gatehouse-model-upstream-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.api_key = api_key
        self.port = port or free_port()
        self.tls = (tls_cert, tls_key) if tls_cert and tls_key else None
        self.oauth_client_id = oauth_client_id
        self.oauth_client_secret = oauth_client_secret
        self.oauth_expires_in_s = oauth_expires_in_s
        self.process: ChildProcess | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "devstack.model_upstream", "--port", str(self.port)]
        argv += ["--api-key", self.api_key]
        argv += ["--oauth-client-id", self.oauth_client_id]
        argv += ["--oauth-client-secret", self.oauth_client_secret]
        argv += ["--oauth-expires-in", str(self.oauth_expires_in_s)]
        if self.tls:
            argv += ["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])]
        return argv

    def start(self, *, timeout_s: float = 20) -> ModelUpstream:
        self.process = ChildProcess(
            self.argv(), log_path=self.dir / "model-upstream.log", cwd=REPO_ROOT
        )
        self._wait_until_ready(timeout_s)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> ModelUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def received(self) -> list[dict[str, Any]]:
        """Requests received so far (oldest first, the last 1,000): method, path, query,
        headers (lowercase names), body (text)."""
        return list(self._control("GET", "received"))

    def clear(self) -> None:
        self._control("POST", "clear")

    def oauth_tokens_issued(self) -> int:
        return int(self._control("GET", "oauth")["tokens_issued"])

    def _control(self, method: str, name: str) -> Any:
        request = urllib.request.Request(self.url + "/__test__/" + name, method=method)
        context = ssl._create_unverified_context() if self.tls else None  # our own test cert
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return json.loads(response.read())

    def _wait_until_ready(self, timeout_s: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._control("GET", "health")
                return
            except (OSError, urllib.error.URLError, ValueError):
                if not self.process.alive() or time.monotonic() > deadline:
                    tail = self.process.log_tail()
                    self.stop()
                    raise RuntimeError(f"the fake model upstream did not start:\n{tail}") from None
                time.sleep(0.05)

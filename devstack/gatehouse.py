"""The control plane and an agent as real child processes, for tests, benchmarks and `make run`."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from devstack.ports import free_port, wait_for_port
from devstack.processes import ChildProcess

REPO = Path(__file__).resolve().parent.parent


class ApiError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


# Tests and benchmarks call the credential endpoints from one loopback address far faster than
# any client would; a test of the limits passes its own in extra_env. `make run` keeps the
# real defaults (relaxed_rate_limits=False).
_RELAXED_RATE_LIMITS = {
    "GATEHOUSE_AUTH_RATE_PER_MINUTE": "1000000",
    "GATEHOUSE_AUTH_RATE_BURST": "1000000",
    "GATEHOUSE_AUTH_RATE_CREDENTIAL_PER_MINUTE": "1000000",
    "GATEHOUSE_AUTH_RATE_CREDENTIAL_BURST": "1000000",
}


class ControlPlane:
    """Django control plane under uvicorn, with its own SQLite file and keys in `base_dir`."""

    def __init__(
        self,
        base_dir: Path,
        *,
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
        relaxed_rate_limits: bool = True,
    ) -> None:
        self.dir = base_dir
        self.relaxed_rate_limits = relaxed_rate_limits
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.process: ChildProcess | None = None
        self.housekeeping: ChildProcess | None = None
        self.log_signer: ChildProcess | None = None
        self.admin_key_file = self.dir / "admin.api-key"
        self.env = {**self._environment(), **(extra_env or {})}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _environment(self) -> dict[str, str]:
        keys = self.dir / "keys.json"
        if not keys.exists():
            keys.write_text(
                json.dumps(
                    {"encryption": Fernet.generate_key().decode(), "secret": os.urandom(32).hex()}
                )
            )
            keys.chmod(0o600)
        saved = json.loads(keys.read_text())
        return {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.dir / 'controlplane.sqlite3'}",
            "GATEHOUSE_ENCRYPTION_KEY": saved["encryption"],
            "GATEHOUSE_SECRET_KEY": saved["secret"],
            "GATEHOUSE_ALLOWED_HOSTS": "127.0.0.1,localhost",
            **(_RELAXED_RATE_LIMITS if self.relaxed_rate_limits else {}),
            "PYTHONUNBUFFERED": "1",
        }

    def manage(self, *args: str) -> str:
        """Run a management command against this control plane's database."""
        import subprocess

        done = subprocess.run(
            [sys.executable, str(REPO / "manage.py"), *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr}{done.stdout}")
        return done.stdout

    def bootstrap(self, admin: str = "admin") -> None:
        """Migrate and create the admin with an API key (once)."""
        self.manage("migrate", "--no-input", "-v", "0")
        if not self.admin_key_file.exists():
            self.manage("create_admin", admin, "--api-key-out", str(self.admin_key_file))

    def start(self, *, housekeeping: bool = False, log_signer: bool = True) -> ControlPlane:
        """Serve under uvicorn; with `housekeeping`, also run the periodic jobs (request and
        grant expiry) that Celery beat runs in production; with `log_signer` (default), the
        loop that signs audit-log checkpoints (beat's `log_checkpoint` in production)."""
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "controlplane.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--ws",
            "websockets",
            # The ASGI app runs the MCP server's session manager for its lifetime.
            "--lifespan",
            "on",
        ]
        self.process = ChildProcess(
            argv, log_path=self.dir / "controlplane.log", env=self.env, cwd=REPO
        )
        try:
            wait_for_port(self.port, timeout_s=60)
        except TimeoutError:
            raise RuntimeError(f"control plane did not start:\n{self.process.log_tail()}") from None
        if log_signer:
            self.log_signer = ChildProcess(
                [sys.executable, str(REPO / "manage.py"), "run_log_signer"],
                log_path=self.dir / "log-signer.log", env=self.env, cwd=REPO,
            )  # fmt: skip
        if housekeeping:
            self.housekeeping = ChildProcess(
                [sys.executable, str(REPO / "manage.py"), "run_housekeeping", "--interval", "30"],
                log_path=self.dir / "housekeeping.log", env=self.env, cwd=REPO,
            )  # fmt: skip
        return self

    def stop(self) -> None:
        for child in (self.log_signer, self.housekeeping, self.process):
            if child is not None:
                child.stop()
        self.process = self.housekeeping = self.log_signer = None

    # -- REST API as the admin -----------------------------------------------------------------
    def api(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        api_key: str | None = None,
    ) -> Any:
        key = api_key or self.admin_key_file.read_text().strip()
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"ApiKey {key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, exc.read().decode(errors="replace")) from None
        return json.loads(payload) if payload else None

    def audit_events(self, **filters: str) -> list[dict[str, Any]]:
        """All audit events matching the filters, oldest first (follows pagination)."""
        from urllib.parse import urlencode

        query = urlencode({**filters, "page_size": "500"})
        path: str | None = f"/api/v1/audit/events?{query}"
        events: list[dict[str, Any]] = []
        while path:
            page = self.api("GET", path)
            events += page["results"]
            path = page["next"].removeprefix(self.url) if page.get("next") else None
        return list(reversed(events))


class Agent:
    """`python -m dataplane` as a child process, listening for PostgreSQL on a free port."""

    def __init__(
        self,
        base_dir: Path,
        *,
        control_plane_url: str,
        token: str,
        postgres_port: int | None = None,
        http_port: int | None = None,
        allow_plaintext: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.dir = base_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.postgres_port = postgres_port or free_port()
        # The HTTP listener (http and llm resources) only when a port is given.
        self.http_port = http_port
        self.control_plane_url = control_plane_url
        self.token_file = self.dir / "agent.token"
        self.token_file.write_text(token)
        self.token_file.chmod(0o600)
        self.allow_plaintext = allow_plaintext
        self.extra_env = extra_env or {}
        self.process: ChildProcess | None = None

    @property
    def state_dir(self) -> Path:
        return self.dir / "state"

    def start(self, *, wait: bool = True) -> Agent:
        argv = [
            sys.executable,
            "-m",
            "dataplane",
            "--control-plane",
            self.control_plane_url,
            "--agent-token-file",
            str(self.token_file),
            "--state-dir",
            str(self.state_dir),
            "--postgres-listen",
            f"127.0.0.1:{self.postgres_port}",
        ]
        if self.http_port is not None:
            argv += ["--http-listen", f"127.0.0.1:{self.http_port}"]
        if self.allow_plaintext:
            argv.append("--allow-plaintext")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.extra_env}
        self.process = ChildProcess(argv, log_path=self.dir / "agent.log", env=env, cwd=REPO)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout_s: float = 60) -> None:
        """The agent opens its listeners only after its first config snapshot."""
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        ports = [self.postgres_port] + ([self.http_port] if self.http_port is not None else [])
        while True:
            try:
                for port in ports:
                    wait_for_port(port, timeout_s=0.2)
                return
            except TimeoutError:
                if not self.process.alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"agent not ready:\n{self.process.log_tail()}") from None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def dsn(
        self, *, resource: str, token: str, user: str = "gatehouse", sslmode: str = "require"
    ) -> str:
        return (
            f"host=127.0.0.1 port={self.postgres_port} dbname={resource} user={user} "
            f"password={token} sslmode={sslmode}"
        )

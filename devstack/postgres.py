"""A throwaway PostgreSQL cluster: initdb in a temp dir, a free loopback port, real auth.

TCP logins need a password (SCRAM-SHA-256, or md5 for the role made for that), so the agent's
upstream login is exercised for real; the Unix socket in the cluster directory trusts its
owner, for set-up. As root, the server runs as the `postgres` system user (PostgreSQL refuses
to run as root) through `setpriv`, which execs, so the pid we hold is the postmaster's.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from devstack.ports import free_port
from devstack.processes import ChildProcess

SUPERUSER = "gatehouse_admin"
SCRAM_USER = "gatehouse_scram"
MD5_USER = "gatehouse_md5"


def postgres_bindir() -> Path:
    """Where initdb and postgres live (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise RuntimeError("PostgreSQL server binaries not found: install the 'postgresql' package")


@dataclass(frozen=True)
class Role:
    user: str
    password: str


class PostgresCluster:
    """initdb + postgres on a free port; `stop()` ends it by its pid and removes the files."""

    def __init__(
        self,
        *,
        base_dir: Path | None = None,
        port: int | None = None,
        log_connections: bool = False,
        max_connections: int = 300,
    ) -> None:
        self.port = port or free_port()
        self.log_connections = log_connections
        self.max_connections = max_connections
        self.host = "127.0.0.1"
        self._own_dir = base_dir is None
        self.dir = Path(base_dir or tempfile.mkdtemp(prefix="gatehouse-pg-"))
        self.data_dir = self.dir / "data"
        self.socket_dir = self.dir / "sock"
        self.scram = Role(SCRAM_USER, "scram-" + os.urandom(9).hex())
        self.md5 = Role(MD5_USER, "md5-" + os.urandom(9).hex())
        self.superuser = Role(SUPERUSER, "super-" + os.urandom(9).hex())
        self.process: ChildProcess | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> PostgresCluster:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._chown_for_server(self.dir)
        self._initdb()
        self._write_hba()
        self.process = ChildProcess(
            self._as_server_user(self._postgres_argv()), log_path=self.dir / "postgres.log"
        )
        self._wait_ready()
        self._create_roles()
        return self

    def stop(self) -> None:
        """Fast shutdown (SIGINT) by our pid, then delete the cluster directory."""
        if self.process is not None:
            self.process.stop(sig=signal.SIGINT, timeout_s=20)
            self.process = None
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- connection strings ------------------------------------------------------------------
    def dsn(self, role: Role | None = None, *, database: str = "postgres") -> str:
        role = role or self.scram
        return (
            f"host={self.host} port={self.port} dbname={database} user={role.user} "
            f"password={role.password} sslmode=disable"
        )

    def connections_received(self) -> int:
        """How many TCP/socket connections the server has accepted (needs log_connections)."""
        assert self.process is not None
        return self.process.log_path.read_text(errors="replace").count("connection received:")

    def admin_psql(self, sql: str, *, database: str = "postgres") -> str:
        """Run SQL as the superuser over the trusted Unix socket; returns stdout."""
        argv = [
            str(postgres_bindir() / "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            "-d",
            database,
            "-c",
            sql,
        ]
        done = subprocess.run(
            self._as_server_user(argv), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def create_access_level_roles(
        self, *, table: str = "gatehouse_items", database: str = "postgres"
    ) -> dict[str, str]:
        """NOLOGIN roles for ephemeral credentials: gh_readonly may SELECT from `table`,
        gh_readwrite may also change it. Returns level name -> role (idempotent)."""
        self.admin_psql(
            f"CREATE TABLE IF NOT EXISTS {table} (id serial PRIMARY KEY, label text);"
            "DO $$ BEGIN"
            " IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gh_readonly')"
            " THEN CREATE ROLE gh_readonly NOLOGIN; END IF;"
            " IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gh_readwrite')"
            " THEN CREATE ROLE gh_readwrite NOLOGIN; END IF;"
            " END $$;"
            f"GRANT SELECT ON {table} TO gh_readonly;"
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO gh_readwrite;"
            f"GRANT USAGE ON SEQUENCE {table}_id_seq TO gh_readwrite;",
            database=database,
        )
        return {"read-only": "gh_readonly", "read-write": "gh_readwrite"}

    # -- internals -----------------------------------------------------------------------------
    def _initdb(self) -> None:
        pwfile = self.dir / "superuser.pw"
        pwfile.write_text(self.superuser.password)
        self._chown_for_server(pwfile)
        argv = [
            str(postgres_bindir() / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "-A",
            "scram-sha-256",
            "--auth-local=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
        done = subprocess.run(
            self._as_server_user(argv), capture_output=True, text=True, check=False
        )
        pwfile.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")

    def _write_hba(self) -> None:
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(
            "local all all trust\n"
            f"host all {MD5_USER} 127.0.0.1/32 md5\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
            "host all all ::1/128 scram-sha-256\n"
        )

    def _postgres_argv(self) -> list[str]:
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "fsync": "off",  # throwaway data: speed over durability
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": str(self.max_connections),
            "shared_buffers": "128MB",
            "logging_collector": "off",
            "log_connections": "on" if self.log_connections else "off",
        }
        argv = [str(postgres_bindir() / "postgres"), "-D", str(self.data_dir)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        return argv

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        isready = [
            str(postgres_bindir() / "pg_isready"),
            "-q",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
        ]
        while subprocess.run(isready, check=False).returncode != 0:
            assert self.process is not None
            if not self.process.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start:\n{self.process.log_tail()}")
            time.sleep(0.05)

    def _create_roles(self) -> None:
        self.admin_psql(
            f"CREATE ROLE {SCRAM_USER} LOGIN SUPERUSER PASSWORD '{self.scram.password}';"
            f"SET password_encryption = 'md5';"
            f"CREATE ROLE {MD5_USER} LOGIN SUPERUSER PASSWORD '{self.md5.password}';"
        )

    def _as_server_user(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *argv]

    def _chown_for_server(self, path: Path) -> None:
        if os.geteuid() != 0:
            return
        account = pwd.getpwnam("postgres")
        for root, dirs, files in os.walk(path):
            for name in [
                root,
                *(os.path.join(root, d) for d in dirs),
                *(os.path.join(root, f) for f in files),
            ]:
                os.chown(name, account.pw_uid, account.pw_gid)
        os.chown(path, account.pw_uid, account.pw_gid)
        path.chmod(0o700 if path.is_dir() else 0o600)

"""A throwaway pgbouncer in session mode in front of a PostgresCluster (benchmark baseline)."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

from devstack.ports import free_port, wait_for_port
from devstack.postgres import PostgresCluster
from devstack.processes import ChildProcess


class PgBouncer:
    def __init__(self, pg: PostgresCluster) -> None:
        self.pg = pg
        # A directory of its own: as root, pgbouncer runs as `postgres` and must read it.
        self.dir = Path(tempfile.mkdtemp(prefix="gatehouse-pgbouncer-"))
        self.port = free_port()
        self.process: ChildProcess | None = None

    def start(self) -> PgBouncer:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        role = self.pg.scram
        (self.dir / "userlist.txt").write_text(f'"{role.user}" "{role.password}"\n')
        (self.dir / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"postgres = host={self.pg.host} port={self.pg.port} dbname=postgres\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            f"unix_socket_dir =\nauth_type = scram-sha-256\n"
            f"auth_file = {self.dir / 'userlist.txt'}\n"
            "pool_mode = session\nmax_client_conn = 2000\ndefault_pool_size = 100\n"
            f"logfile = {self.dir / 'pgbouncer.log'}\n"
        )
        argv = [binary, str(self.dir / "pgbouncer.ini")]
        if os.geteuid() == 0:
            argv = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *argv]
            shutil.chown(self.dir, "postgres")
            for child in self.dir.iterdir():
                shutil.chown(child, "postgres")
        self.process = ChildProcess(argv, log_path=self.dir / "stdout.log")
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(sig=signal.SIGINT)
            self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PgBouncer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""A throwaway nginx reverse proxy in front of an HTTP upstream (the benchmark's baseline for
the HTTP and LLM resources, as pgbouncer is for PostgreSQL).

    with NginxProxy(upstream.url) as proxy:
        httpx.get(proxy.url + "/api/echo")

Its own config, pid file, logs and temp paths live in a temporary directory; it keeps
connections to the upstream alive and does not buffer (streams pass through as they come).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from devstack.ports import free_port, wait_for_port
from devstack.processes import ChildProcess

TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        raise RuntimeError("nginx is not installed: run scripts/bootstrap.sh (apt package nginx)")
    return found


class NginxProxy:
    """`nginx` on a free loopback port proxying everything to `upstream_url`."""

    def __init__(
        self, upstream_url: str, *, worker_processes: int = 1, access_log: bool = False
    ) -> None:
        parts = urlsplit(upstream_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or not parts.port:
            raise ValueError(f"upstream must be http(s)://host:port, not {upstream_url!r}")
        self.upstream_scheme = parts.scheme
        self.upstream_address = f"{parts.hostname}:{parts.port}"
        self.worker_processes = worker_processes
        self.access_log = access_log
        self.dir = Path(tempfile.mkdtemp(prefix="gatehouse-nginx-"))
        self.port = free_port()
        self.process: ChildProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> str:
        temp_paths = "".join(f"  {name}_temp_path {self.dir / name};\n" for name in TEMP_PATHS)
        # As root the master would hand its workers to `nobody`; they must reach the temp dirs.
        user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
        access_log = (
            f"access_log {self.dir / 'access.log'};" if self.access_log else "access_log off;"
        )
        tls = "    proxy_ssl_verify off;\n" if self.upstream_scheme == "https" else ""
        return (
            f"{user}daemon off;\nworker_processes {self.worker_processes};\n"
            f"pid {self.dir / 'nginx.pid'};\nerror_log {self.dir / 'error.log'} warn;\n"
            "events { worker_connections 4096; }\n"
            "http {\n"
            f"  {access_log}\n{temp_paths}"
            f"  upstream model_upstream {{ server {self.upstream_address}; keepalive 128; }}\n"
            "  server {\n"
            f"    listen 127.0.0.1:{self.port};\n"
            "    client_max_body_size 0;\n"
            "    location / {\n"
            f"      proxy_pass {self.upstream_scheme}://model_upstream;\n"
            # HTTP/1.1 and no Connection header: upstream connections stay alive.
            "      proxy_http_version 1.1;\n"
            '      proxy_set_header Connection "";\n'
            "      proxy_set_header Host $http_host;\n"
            "      proxy_buffering off;\n"
            "      proxy_request_buffering off;\n"
            "      proxy_read_timeout 300s;\n"
            f"{tls}"
            "    }\n"
            "  }\n"
            "}\n"
        )

    def start(self, *, timeout_s: float = 15) -> NginxProxy:
        binary = nginx_binary()
        conf = self.dir / "nginx.conf"
        conf.write_text(self.config())
        self._prepare_temp_dirs()
        argv = [binary, "-p", str(self.dir), "-c", str(conf), "-e", str(self.dir / "error.log")]
        self.process = ChildProcess(argv, log_path=self.dir / "stdout.log")
        try:
            wait_for_port(self.port, timeout_s=timeout_s)
        except TimeoutError:
            tail = self.process.log_tail() + self._error_log_tail()
            self.stop()
            raise RuntimeError(f"nginx did not start:\n{tail}") from None
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(sig=signal.SIGTERM)  # fast shutdown; the master stops its workers
            self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> NginxProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _prepare_temp_dirs(self) -> None:
        for name in TEMP_PATHS:
            path = self.dir / name
            path.mkdir(exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(path, "nobody", "nogroup")
        if os.geteuid() == 0:
            self.dir.chmod(0o755)  # workers (nobody) traverse it to reach their temp dirs

    def _error_log_tail(self) -> str:
        log = self.dir / "error.log"
        return log.read_text(errors="replace")[-4000:] if log.exists() else ""

"""The agent's composition root: build the pieces, connect them, run until told to stop."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dataplane import __version__
from dataplane.addons import default_addons
from dataplane.core import tls
from dataplane.core.addons import AddonChain
from dataplane.core.config import ConfigStore
from dataplane.core.consumed_grants import ConsumedGrants
from dataplane.core.holds import HoldDesk
from dataplane.core.server import (
    ConnectionHandler,
    GatewayServices,
    Listen,
    close_handlers,
    start_listener,
)
from dataplane.core.session import SessionRegistry
from dataplane.core.tasks import cancel_and_wait, spawn, wait_for_unfinished
from dataplane.exec.desk import ExecDesk
from dataplane.exec.runner import ExecRunner
from dataplane.link.client import ControlPlaneLink
from dataplane.link.spool import Spool
from dataplane.protocols import PROTOCOLS

log = logging.getLogger("gatehouse.agent")

# How long a clean stop waits for sessions to end and their credentials to be dropped.
SHUTDOWN_GRACE_S = 5.0


@dataclass(frozen=True)
class AgentSettings:
    control_plane_url: str
    agent_token: str = field(repr=False)
    state_dir: Path
    listens: tuple[Listen, ...]
    tls_cert: str | None = None
    tls_key: str | None = None
    allow_plaintext: bool = False
    control_plane_ca: str | None = None


async def run_agent(settings: AgentSettings) -> None:
    """Run until SIGINT/SIGTERM: link to the control plane, then serve every listener."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    spool = await Spool.open(settings.state_dir / "spool")
    consumed = await asyncio.to_thread(
        ConsumedGrants.open, settings.state_dir / "consumed-grants", now=datetime.now(UTC)
    )
    config = ConfigStore()
    sessions = SessionRegistry()
    holds = HoldDesk()
    addons = default_addons(
        config=config, sessions=sessions, spool=spool, consumed=consumed, holds=holds
    )
    chain = AddonChain(addons)
    await _report_lost_sessions(chain, spool, consumed)
    services = GatewayServices(
        config=config,
        chain=chain,
        sessions=sessions,
        tls=tls.server_context(settings.tls_cert, settings.tls_key, state_dir=settings.state_dir),
        allow_plaintext=settings.allow_plaintext,
    )
    exec_runner = ExecRunner(services, PROTOCOLS)
    handlers: list[ConnectionHandler] = []  # the listeners', filled as they open
    link = ControlPlaneLink(
        url=settings.control_plane_url,
        agent_token=settings.agent_token,
        spool=spool,
        on_snapshot=config.update,
        agent_version=__version__,
        revision=lambda: config.revision,
        sessions=lambda: len(sessions),
        ssl_context=tls.link_context(settings.control_plane_url, settings.control_plane_ca),
        holds=holds,
        exec_desk=ExecDesk(exec_runner.run),
        end_session=sessions.terminate,
    )
    link_task = spawn(link.run(), name="control-plane-link")
    stop = _stop_on_signals()
    try:
        await _serve_when_configured(settings, services, stop, handlers)
    finally:
        await _end_sessions(sessions, grace_s=SHUTDOWN_GRACE_S)
        await close_handlers([*handlers, *exec_runner.drivers])
        link_task.cancel()
        await asyncio.gather(link_task, return_exceptions=True)
        await spool.close()
        log.info("agent stopped")


async def _report_lost_sessions(chain: AddonChain, spool: Spool, consumed: ConsumedGrants) -> None:
    """Audit the end of single-use sessions a previous agent process died in (so the control
    plane ends their grants), then note it in the ledger: first durable, then noted, so a
    crash in between reports them again rather than never."""
    for use in consumed.lost_uses:
        chain.session_lost(use)
    if consumed.lost_uses:
        await spool.flush()
    for use in consumed.lost_uses:
        await asyncio.to_thread(consumed.ended, use.grant)
    consumed.lost_uses = []


async def _serve_when_configured(
    settings: AgentSettings,
    services: GatewayServices,
    stop: asyncio.Event,
    handlers: list[ConnectionHandler],
) -> None:
    """Listeners open only once the first config snapshot is in, so no client sees a cold
    agent; their connection handlers are added to ``handlers``."""
    waiting = asyncio.ensure_future(services.config.wait_ready())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if stop.is_set():
        return
    made = [PROTOCOLS[listen.protocol](services) for listen in settings.listens]
    handlers += made
    servers = [
        await start_listener(listen, handler)
        for listen, handler in zip(settings.listens, made, strict=True)
    ]
    log.info(
        "agent ready: config revision %s, %d listener(s)", services.config.revision, len(servers)
    )
    await stopping
    for server in servers:
        server.close()


async def _end_sessions(sessions: SessionRegistry, *, grace_s: float) -> None:
    """Terminate live sessions and wait (bounded) for their endings and the cleanup they start,
    so per-session roles are dropped and audited before the spool closes, not left to the
    reconciler at the next start. What is still running at the deadline is cancelled."""
    for session in sessions:
        session.terminate("the gateway agent is shutting down")
    unfinished = await wait_for_unfinished(grace_s)
    if unfinished:
        log.warning(
            "cancelling %d task(s) still running %.0f s after shutdown began: %s",
            len(unfinished),
            grace_s,
            ", ".join(sorted(task.get_name() for task in unfinished)),
        )
        await cancel_and_wait(*unfinished)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def default_state_dir() -> Path:
    return Path("var") / "agent"

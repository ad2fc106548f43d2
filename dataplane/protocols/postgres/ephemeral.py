"""Ephemeral upstream credentials: one PostgreSQL login role per session, inside the access
level the grant gives, gone when the session is.

    session authorised ── admin connection as the resource's stored user ──▶
        CREATE ROLE "gh_s_<16 hex of the session id>" LOGIN PASSWORD '<SCRAM verifier>'
            VALID UNTIL '<grant end>' CONNECTION LIMIT 1 IN ROLE "<level role>";
        COMMENT ON ROLE ... IS 'gatehouse: agent=... resource=... session=... identity=...'
    the session logs in as that role (SCRAM) and relays as usual
    session over (any reason) ── terminate its backends, REASSIGN/DROP OWNED, DROP ROLE

The role inherits the level role's privileges (INHERIT, the default) and nothing else. Its
name is built from a fixed prefix and hex only; the level role and the comment are quoted.
A reconciler (at start, then every minute) drops roles that name this agent in their comment
but belong to no live session: leftovers of a crash or of a drop that failed.

The resource's stored user needs CREATEROLE, ADMIN on each level role (PostgreSQL 16) and
pg_signal_backend; the server must accept SCRAM-SHA-256 for the per-session roles.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from dataclasses import dataclass, field

from dataplane.contract import Actor, GrantSpec, ResourceSpec
from dataplane.contract.snapshot import AccessLevel
from dataplane.core.addons import Credential
from dataplane.core.server import GatewayServices
from dataplane.core.session import Session
from dataplane.core.tasks import spawn
from dataplane.protocols.postgres.upstream import (
    UpstreamConnection,
    admin_connection,
    run_query,
)
from dataplane.protocols.postgres.wire.auth import scram_verifier
from dataplane.protocols.postgres.wire.simple_query import quote_identifier, quote_literal

log = logging.getLogger("gatehouse.postgres.ephemeral")

EPHEMERAL = "ephemeral"
ROLE_PREFIX = "gh_s_"
RECONCILE_INTERVAL_S = 60.0
STATEMENT_TIMEOUT_S = 15.0  # connecting, logging in and one statement, as the managing user
UNDEFINED_OBJECT = "42704"  # the role is gone already
_SESSION_HEX = re.compile(r"[0-9a-f]{32}")
COMMENT_PATTERN = re.compile(
    r"gatehouse: agent=(?P<agent>\S+) resource=(?P<resource>\S*) session=(?P<session>[0-9a-f]+)"
    r" grant=(?P<grant>\S*) kind=(?P<kind>\S*) sub=(?P<sub>\S*) identity=(?P<identity>.*)",
    re.DOTALL,
)
LEFTOVER_QUERY = (
    "SELECT rolname, shobj_description(oid, 'pg_authid') FROM pg_roles "
    f"WHERE rolname ~ '^{ROLE_PREFIX}[0-9a-f]{{16}}$'"
)


class NoAccessLevel(Exception):
    """The grant names no access level the resource has, and the resource has no default."""


@dataclass(frozen=True)
class IssuedRole:
    """A role created for one session, and what the session needs to log in as it."""

    credential: Credential
    resource: ResourceSpec
    password: str = field(repr=False)


def role_name(session_id: str) -> str:
    """The role for a session: a fixed prefix and hex only, so it never needs escaping."""
    if not _SESSION_HEX.fullmatch(session_id):
        raise ValueError(f"session id {session_id!r} is not 32 lowercase hex digits")
    return ROLE_PREFIX + session_id[:16]


def access_level_for(resource: ResourceSpec, grant: GrantSpec) -> AccessLevel:
    """The grant's own level, else the resource's default; NoAccessLevel if neither exists."""
    wanted = grant.access_level or resource.default_access_level
    for level in resource.access_levels:
        if level.name == wanted:
            return level
    if not wanted:
        raise NoAccessLevel(
            f'resource "{resource.name}" issues per-session credentials, but the grant names '
            "no access level and the resource has no default"
        )
    raise NoAccessLevel(f'resource "{resource.name}" has no access level "{wanted}"')


def role_comment(credential: Credential, agent_name: str) -> str:
    """Who the role is for; the reconciler reads agent and session back (anchored, so an
    identity name cannot forge them)."""
    actor = credential.actor
    return (
        f"gatehouse: agent={agent_name} resource={credential.resource} "
        f"session={credential.session_id} grant={credential.grant} kind={actor.kind} "
        f"sub={actor.sub} identity={actor.name}"
    )


def create_role_sql(credential: Credential, password: str, comment: str) -> str:
    """One query string, so PostgreSQL runs both statements in one implicit transaction."""
    role = quote_identifier(credential.name)
    return (
        f"CREATE ROLE {role} LOGIN INHERIT CONNECTION LIMIT 1"
        f" PASSWORD {quote_literal(scram_verifier(password))}"
        f" VALID UNTIL {quote_literal(credential.valid_until)}"
        f" IN ROLE {quote_identifier(credential.upstream_role)};"
        f" COMMENT ON ROLE {role} IS {quote_literal(comment)}"
    )


def drop_role_sql(name: str) -> str:
    """End the role's backends, keep what it created (now owned by the managing user), drop."""
    role = quote_identifier(name)
    return (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        f" WHERE usename = {quote_literal(name)};"
        f" REASSIGN OWNED BY {role} TO CURRENT_USER;"
        f" DROP OWNED BY {role};"
        f" DROP ROLE {role}"
    )


class EphemeralRoles:
    """Creates, drops and reconciles the per-session roles of one agent."""

    def __init__(self, services: GatewayServices) -> None:
        self._services = services
        # Roles this process created and has not dropped: never touched by the reconciler.
        self._owned: set[str] = set()
        self._reconciler: asyncio.Task[None] | None = None

    @property
    def agent_name(self) -> str:
        snapshot = self._services.config.snapshot
        return snapshot.agent_name if snapshot is not None else ""

    async def issue(self, session: Session) -> IssuedRole:
        """Create the session's role; NoAccessLevel, QueryFailed or OSError if impossible."""
        resource, grant = session.resource, session.grant
        assert resource is not None and grant is not None
        level = access_level_for(resource, grant)
        credential = Credential(
            name=role_name(session.id),
            actor=session.actor,
            resource=resource.name,
            protocol=session.protocol,
            session_id=session.id,
            grant=grant.id,
            access_level=level.name,
            upstream_role=level.upstream_role,
            valid_until=grant.expires_at.isoformat(),
        )
        password = secrets.token_urlsafe(32)
        sql = create_role_sql(credential, password, role_comment(credential, self.agent_name))
        self._owned.add(credential.name)
        try:
            async with asyncio.timeout(STATEMENT_TIMEOUT_S), admin_connection(resource) as admin:
                (await run_query(admin, sql)).raise_for_error()
        except BaseException:
            # It may exist after all (e.g. the answer was lost): the reconciler will see it.
            self._owned.discard(credential.name)
            raise
        self._services.chain.credential_issued(credential)
        return IssuedRole(credential=credential, resource=resource, password=password)

    def retire(self, issued: IssuedRole, reason: str) -> asyncio.Task[None]:
        """Drop the role in the background (a clean stop waits for it); a failure is logged
        and left to the reconciler."""
        return spawn(
            self._drop(issued.resource, issued.credential, reason),
            name=f"pg-drop-role-{issued.credential.name}",
            finish_before_exit=True,
        )

    async def _drop(self, resource: ResourceSpec, credential: Credential, reason: str) -> None:
        try:
            async with asyncio.timeout(STATEMENT_TIMEOUT_S), admin_connection(resource) as admin:
                query = await run_query(admin, drop_role_sql(credential.name))
            if query.error is not None and query.error.get("C") != UNDEFINED_OBJECT:
                query.raise_for_error()
        except Exception as exc:  # OSError, TimeoutError, QueryFailed, ProtocolViolation...
            log.warning(
                "could not drop role %s on %s (left to the reconciler): %s",
                credential.name,
                resource.name,
                exc,
            )
            return
        finally:
            self._owned.discard(credential.name)
        log.info("dropped role %s on %s: %s", credential.name, resource.name, reason)
        self._services.chain.credential_revoked(credential, reason)

    # -- the reconciler ------------------------------------------------------------------------
    def start_reconciler(self) -> None:
        """Reconcile now and then every RECONCILE_INTERVAL_S, for as long as the agent runs."""
        if self._reconciler is None:
            self._reconciler = spawn(self._reconcile_forever(), name="pg-ephemeral-reconciler")

    async def _reconcile_forever(self) -> None:
        while True:
            await self.reconcile()
            await asyncio.sleep(RECONCILE_INTERVAL_S)

    async def reconcile(self) -> None:
        """Drop this agent's roles that belong to no live session, on every ephemeral
        resource; a resource that cannot be reached is retried next round."""
        snapshot = self._services.config.snapshot
        if snapshot is None:
            return
        for resource in snapshot.resources:
            if resource.protocol != "postgres" or resource.credential_mode != EPHEMERAL:
                continue
            try:
                async with asyncio.timeout(RECONCILE_INTERVAL_S):
                    await self._reconcile_resource(resource)
            except Exception as exc:
                log.warning("reconciling roles on %s failed: %s", resource.name, exc)

    async def _reconcile_resource(self, resource: ResourceSpec) -> None:
        async with admin_connection(resource) as connection:
            query = await run_query(connection, LEFTOVER_QUERY)
            query.raise_for_error()
            for name, comment in query.rows:
                leftover = self._leftover(name or "", comment or "")
                if leftover is not None:
                    await self._drop_leftover(connection, resource, leftover)

    def _leftover(self, name: str, comment: str) -> Credential | None:
        """The credential a role stands for, if it is this agent's and no longer in use."""
        found = COMMENT_PATTERN.fullmatch(comment)
        if found is None or found["agent"] != self.agent_name or name in self._owned:
            return None
        live = {session.id for session in self._services.sessions}
        if found["session"] in live:
            return None
        actor = Actor(sub=found["sub"], kind=found["kind"], name=found["identity"])
        return Credential(
            name=name,
            actor=actor,
            resource=found["resource"],
            protocol="postgres",
            session_id=found["session"],
            grant=found["grant"],
        )

    async def _drop_leftover(
        self, connection: UpstreamConnection, resource: ResourceSpec, credential: Credential
    ) -> None:
        query = await run_query(connection, drop_role_sql(credential.name))
        if query.error is not None and query.error.get("C") != UNDEFINED_OBJECT:
            log.warning("reconciler could not drop %s: %s", credential.name, query.error.get("M"))
            return
        log.info("reconciler dropped leftover role %s on %s", credential.name, resource.name)
        self._services.chain.credential_revoked(credential, "leftover removed by the reconciler")

"""Guardrails: each session gets the statement judge its grant's guardrail profile asks for.

The control plane resolves a guardrail profile per grant (like masking) and sends it in the
snapshot; the protocol driver asks the session's guard about every statement before it
reaches the resource (postgres: each Query and Parse) and denies, holds or forwards it.

Fail closed:
- a profile whose policy document cannot be read refuses the connection (the chain turns
  the exception into a refusal);
- a new snapshot that changes the profile swaps the live sessions' judge (their prepared
  statements are judged again at the next Execute); one that gives a guard-less live
  session a profile ends that session, which must reconnect to be guarded;
- a client's CancelRequest withdraws its held statements.
"""

from __future__ import annotations

import logging

from dataplane.contract import GuardrailProfile, Snapshot
from dataplane.core.addons import Addon, ConnectRequest, Refusal
from dataplane.core.config import ConfigStore
from dataplane.core.guard import SessionGuard
from dataplane.core.holds import HoldDesk
from dataplane.core.session import Session, SessionRegistry
from dataplane.guardrails.document import policy_from_document
from dataplane.guardrails.engine import FactsCache, Guardrails
from dataplane.guardrails.rules import GuardrailPolicy
from dataplane.guardrails.session import StatementJudge

log = logging.getLogger("gatehouse.guardrails")

NOW_GUARDED = "guardrails now apply to this access; reconnect"
CLIENT_CANCELLED = "the client cancelled the statement"


class GuardrailsAddon(Addon):
    name = "guardrails"

    def __init__(self, config: ConfigStore, sessions: SessionRegistry, holds: HoldDesk) -> None:
        self._config = config
        self._sessions = sessions
        self._holds = holds
        self._facts = FactsCache()  # shared: facts do not depend on the policy
        config.subscribe(self._recheck_live_sessions)

    async def authorize(self, session: Session, request: ConnectRequest) -> Refusal | None:
        """Give the session its guard (runs after access chose the grant)."""
        snapshot = self._config.snapshot
        if session.grant is None or snapshot is None:
            return None
        profile = snapshot.guardrail_profile(session.grant.guardrails)
        if profile is None:
            return None
        policy = policy_from_document(profile.policy)  # raises: the connection is refused
        session.guardrail_profile = profile.name
        session.guard = SessionGuard(
            profile=profile.name,
            judge=self._judge(policy),
            holds=self._holds,
            hold_timeout_s=profile.hold_timeout_s,
            max_rows=policy.max_rows,
        )
        return None

    def cancel_requested(self, session: Session) -> bool:
        if session.guard is None:
            return False
        return self._holds.withdraw_session(session.id, CLIENT_CANCELLED) > 0

    def _judge(self, policy: GuardrailPolicy) -> StatementJudge:
        return StatementJudge(Guardrails(policy, self._facts), self._facts)

    def _recheck_live_sessions(self, snapshot: Snapshot) -> None:
        grants = {grant.id: grant for grant in snapshot.grants}
        for session in self._sessions:
            grant = grants.get(session.grant.id) if session.grant is not None else None
            if grant is None:
                continue  # the access addon ends sessions whose grant is gone
            profile = snapshot.guardrail_profile(grant.guardrails)
            self._apply(session, profile)

    def _apply(self, session: Session, profile: GuardrailProfile | None) -> None:
        guard = session.guard
        if guard is None:
            if profile is not None:
                log.info("ending session %s: guardrails now apply to it", session.id)
                session.terminate(NOW_GUARDED)
            return
        try:
            policy = GuardrailPolicy() if profile is None else policy_from_document(profile.policy)
        except ValueError:
            log.exception("ending session %s: its new guardrail policy is unreadable", session.id)
            session.terminate("the guardrail policy of this access is unreadable")
            return
        if guard.judge.guardrails.policy == policy and profile is not None:
            guard.hold_timeout_s = profile.hold_timeout_s
            return
        session.guardrail_profile = profile.name if profile is not None else ""
        timeout = profile.hold_timeout_s if profile is not None else guard.hold_timeout_s
        guard.replace_judge(self._judge(policy), timeout, policy.max_rows)

"""The witness addon: what the addons did in an exec call's own session.

The wire shows an exec client only an ErrorResponse or an HTTP status; which guardrail
rule refused a statement, which hold is pending, and why a session was refused are known
to the addons. This addon, appended to the chain of exec sessions only, notes them per exec
id: the exec id startup parameter (PostgreSQL) or the User-Agent (HTTP) the exec client
sends, which the drivers keep in ``Session.client_parameters``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dataplane.contract import Action
from dataplane.contract.exec_call import EXEC_ID_PARAMETER
from dataplane.core.addons import Addon, GuardrailEvent, HttpExchange, Refusal
from dataplane.core.session import Session
from dataplane.exec.http_client import USER_AGENT_PREFIX


@dataclass
class Witnessed:
    """What the addons saw of one exec call's session."""

    guardrails: list[GuardrailEvent] = field(default_factory=list)
    refusal: Refusal | None = None
    refused_by: str = ""  # the gateway check that answered an HTTP request itself

    def denial(self) -> GuardrailEvent | None:
        """The guardrail event that refused the statement (a denial, or a hold that ended
        in anything but approval), if one did."""
        for event in self.guardrails:
            if event.action == Action.GUARDRAIL_DENIED:
                return event
            if event.action == Action.GUARDRAIL_HOLD_RESOLVED and event.outcome != "approved":
                return event
        return None

    def hold(self) -> GuardrailEvent | None:
        """The hold the statement waits on, if it was held."""
        return next((e for e in self.guardrails if e.action == Action.GUARDRAIL_HELD), None)


class ExecWitness(Addon):
    """Collects, per exec id, what guardrails and access checks did in exec sessions."""

    name = "exec-witness"

    def __init__(self) -> None:
        self._calls: dict[str, Witnessed] = {}

    def watch(self, call_id: str) -> Witnessed:
        witnessed = self._calls[call_id] = Witnessed()
        return witnessed

    def forget(self, call_id: str) -> None:
        self._calls.pop(call_id, None)

    def guardrail_acted(self, session: Session, event: GuardrailEvent) -> None:
        """Note the event for the exec call whose session this is (if any)."""
        witnessed = self._of(session)
        if witnessed is not None:
            witnessed.guardrails.append(event)

    def connection_refused(self, session: Session, refusal: Refusal) -> None:
        """Note why the exec call's session was refused (token, resource, grant)."""
        witnessed = self._of(session)
        if witnessed is not None:
            witnessed.refusal = refusal

    def exchange_finished(self, session: Session, exchange: HttpExchange) -> None:
        """Note which gateway check answered an exec call's HTTP request, if one did."""
        witnessed = self._of(session)
        if witnessed is not None:
            witnessed.refused_by = exchange.refused_by

    def _of(self, session: Session) -> Witnessed | None:
        parameters = session.client_parameters
        call_id = parameters.get(EXEC_ID_PARAMETER) or parameters.get("application_name", "")
        return self._calls.get(call_id.removeprefix(USER_AGENT_PREFIX)) if call_id else None

"""A cancel request goes to every addon; the chain says whether one answered it at the
gateway (a held statement withdrawn), so the proxy does not forward it upstream, where it
would cancel the client's next statement instead."""

from __future__ import annotations

from dataplane.core.addons import Addon, AddonChain
from dataplane.core.session import Session


class Hears(Addon):
    def __init__(self) -> None:
        self.heard: list[Session] = []

    def cancel_requested(self, session: Session) -> bool:
        self.heard.append(session)
        return False


class WithdrawsAHold(Addon):
    def cancel_requested(self, session: Session) -> bool:
        return True


def test_every_addon_hears_a_cancel_and_one_answering_it_keeps_it_from_the_upstream() -> None:
    session = Session(protocol="postgres", client_address="127.0.0.1:5000")
    first, last = Hears(), Hears()
    assert AddonChain([first, WithdrawsAHold(), last]).cancel_requested(session) is True
    assert first.heard == [session] and last.heard == [session]


def test_a_cancel_nobody_answers_is_forwarded() -> None:
    session = Session(protocol="postgres", client_address="127.0.0.1:5000")
    assert AddonChain([Hears(), Hears()]).cancel_requested(session) is False

"""RFC 8628 polling, driven against a real local HTTP server playing the provider."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from cli.device_flow import (
    DEVICE_CODE_GRANT,
    DeviceFlow,
    DeviceFlowError,
    IllegalTransition,
    ProviderEndpoints,
    State,
)
from tests.cli.conftest import ScriptedServer

EXPIRES_AT = 2_000_000_000


def fake_jwt(**claims: Any) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part({'exp': EXPIRES_AT, **claims})}.sig"


DEVICE_ANSWER = {
    "device_code": "dev-123",
    "user_code": "WDJB-MJHT",
    "verification_uri": "https://idp.example/device",
    "verification_uri_complete": "https://idp.example/device?user_code=WDJB-MJHT",
    "expires_in": 600,
    "interval": 2,
}
TOKENS = {"access_token": "at", "id_token": fake_jwt(sub="alice"), "token_type": "Bearer"}


class Clock:
    """Fake time: sleeping advances it, and every sleep is recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def provider(scripted: ScriptedServer) -> Iterator[ScriptedServer]:
    scripted.routes[("POST", "/device/auth")] = (200, DEVICE_ANSWER)
    yield scripted


def token_answers(provider: ScriptedServer, *answers: tuple[int, Any]) -> None:
    queue = list(answers)
    provider.routes[("POST", "/token")] = lambda _seen: queue.pop(0)


def flow_for(provider: ScriptedServer, clock: Clock) -> DeviceFlow:
    endpoints = ProviderEndpoints(provider.url + "/device/auth", provider.url + "/token")
    return DeviceFlow(
        client_id="gatehouse-cli",
        scopes="openid groups",
        endpoints=endpoints,
        sleep=clock.sleep,
        clock=lambda: clock.now,
    )


def pending() -> tuple[int, Any]:
    return 400, {"error": "authorization_pending"}


def test_start_asks_for_a_code_as_a_public_client(provider: ScriptedServer, clock: Clock) -> None:
    flow = flow_for(provider, clock)
    authorization = flow.start()

    assert flow.state is State.PENDING
    assert authorization.user_code == "WDJB-MJHT"
    assert authorization.verification_uri_complete.endswith("user_code=WDJB-MJHT")
    assert provider.seen[0].body == {"client_id": "gatehouse-cli", "scope": "openid groups"}


def test_polling_waits_while_pending_then_returns_the_tokens(
    provider: ScriptedServer, clock: Clock
) -> None:
    token_answers(provider, pending(), pending(), (200, TOKENS))
    flow = flow_for(provider, clock)
    flow.start()

    tokens = flow.wait()

    assert flow.state is State.SIGNED_IN
    assert tokens.id_token == TOKENS["id_token"] and tokens.expires_at == EXPIRES_AT
    assert clock.sleeps == [2, 2, 2]
    polls = provider.requests_to("/token")
    assert [poll.body for poll in polls] == [
        {"grant_type": DEVICE_CODE_GRANT, "device_code": "dev-123", "client_id": "gatehouse-cli"}
    ] * 3


def test_slow_down_adds_five_seconds_to_every_later_wait(
    provider: ScriptedServer, clock: Clock
) -> None:
    slow_down = (400, {"error": "slow_down"})
    token_answers(provider, slow_down, pending(), slow_down, (200, TOKENS))
    flow = flow_for(provider, clock)
    flow.start()

    flow.wait()

    assert clock.sleeps == [2, 7, 7, 12]


@pytest.mark.parametrize(
    ("error", "message"),
    [("access_denied", "refused at the identity provider"), ("expired_token", "expired"),
     ("invalid_client", "answered: invalid_client")],
)  # fmt: skip
def test_a_final_error_fails_the_flow(
    provider: ScriptedServer, clock: Clock, error: str, message: str
) -> None:
    token_answers(provider, pending(), (400, {"error": error}))
    flow = flow_for(provider, clock)
    flow.start()

    with pytest.raises(DeviceFlowError, match=message):
        flow.wait()
    assert flow.state is State.FAILED


def test_the_code_expiring_while_pending_stops_polling(
    provider: ScriptedServer, clock: Clock
) -> None:
    provider.routes[("POST", "/device/auth")] = (200, {**DEVICE_ANSWER, "expires_in": 5})
    token_answers(provider, *[pending()] * 10)
    flow = flow_for(provider, clock)
    flow.start()

    with pytest.raises(DeviceFlowError, match="expired"):
        flow.wait()
    assert len(provider.requests_to("/token")) == 3  # at t=2, 4, 6


def test_a_provider_that_is_down_is_polled_less_often(
    provider: ScriptedServer, clock: Clock
) -> None:
    flow = flow_for(provider, clock)
    flow.start()
    flow.endpoints = ProviderEndpoints(
        flow.endpoints.device_authorization_endpoint, "http://127.0.0.1:1/token"
    )

    assert flow.poll_once() is None
    assert flow.interval == 4
    assert flow.state is State.PENDING


def test_a_missing_interval_means_five_seconds(provider: ScriptedServer, clock: Clock) -> None:
    answer = {key: value for key, value in DEVICE_ANSWER.items() if key != "interval"}
    provider.routes[("POST", "/device/auth")] = (200, answer)
    flow = flow_for(provider, clock)
    assert flow.start().interval == 5


def test_tokens_without_an_id_token_are_refused(provider: ScriptedServer, clock: Clock) -> None:
    token_answers(provider, (200, {"access_token": "at", "token_type": "Bearer"}))
    flow = flow_for(provider, clock)
    flow.start()
    with pytest.raises(DeviceFlowError, match="no ID token"):
        flow.wait()


def test_a_refused_start_says_so(scripted: ScriptedServer, clock: Clock) -> None:
    scripted.routes[("POST", "/device/auth")] = (400, {"error": "invalid_client"})
    with pytest.raises(DeviceFlowError, match="refused to start"):
        flow_for(scripted, clock).start()


def test_polling_before_starting_is_an_illegal_transition(
    provider: ScriptedServer, clock: Clock
) -> None:
    flow = flow_for(provider, clock)
    with pytest.raises(IllegalTransition):
        flow.poll_once()


def test_a_finished_flow_cannot_be_started_again(provider: ScriptedServer, clock: Clock) -> None:
    token_answers(provider, (200, TOKENS))
    flow = flow_for(provider, clock)
    flow.start()
    flow.wait()
    with pytest.raises(IllegalTransition):
        flow.start()

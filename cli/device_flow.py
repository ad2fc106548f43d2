"""The OAuth 2.0 Device Authorization Grant (RFC 8628) as an explicit state machine.

    flow = DeviceFlow(client_id=..., scopes=..., endpoints=ProviderEndpoints(...))
    authorization = flow.start()        # NEW → PENDING: show the URL and user code
    tokens = flow.wait()                # PENDING → SIGNED_IN (or FAILED, raising)

``poll_once`` is one token request; ``wait`` repeats it at the provider's interval, adding
five seconds at every ``slow_down`` (§3.5) and doubling it while the provider is unreachable,
until the device code expires.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from cli.tokens import ProviderTokens, SignInError, tokens_from
from cli.transport import HttpError, Unreachable, form_post

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL_SECONDS = 5
SLOW_DOWN_SECONDS = 5
MAX_UNREACHABLE_INTERVAL_SECONDS = 60


class State(Enum):
    NEW = "new"
    PENDING = "pending"  # the user code is out; waiting for the person to approve
    SIGNED_IN = "signed_in"
    FAILED = "failed"


class DeviceFlowError(SignInError):
    """The device sign-in did not complete; the message says why and what to do."""


class IllegalTransition(DeviceFlowError):
    """A step called in a state that does not allow it (a programming error)."""


@dataclass(frozen=True)
class ProviderEndpoints:
    device_authorization_endpoint: str
    token_endpoint: str


@dataclass(frozen=True)
class DeviceAuthorization:
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int
    device_code: str = field(repr=False)


# The device flow hands back the same tokens as every other grant.
DeviceTokens = ProviderTokens


class DeviceFlow:
    def __init__(
        self,
        *,
        client_id: str,
        scopes: str,
        endpoints: ProviderEndpoints,
        post: Callable[[str, dict[str, str]], Any] = form_post,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client_id = client_id
        self.scopes = scopes
        self.endpoints = endpoints
        self.state = State.NEW
        self.interval = DEFAULT_INTERVAL_SECONDS
        self._post, self._sleep, self._clock = post, sleep, clock
        self._authorization: DeviceAuthorization | None = None
        self._deadline = 0.0

    def start(self) -> DeviceAuthorization:
        """Ask the provider for a device code and user code (RFC 8628 §3.1-3.2)."""
        self._require(State.NEW)
        fields = {"client_id": self.client_id, "scope": self.scopes}
        try:
            answer = self._post(self.endpoints.device_authorization_endpoint, fields)
        except (HttpError, Unreachable) as exc:
            raise self._fail(f"the provider refused to start a sign-in: {exc}") from None
        authorization = _authorization_from(answer)
        self._authorization = authorization
        self.interval = authorization.interval
        self._deadline = self._clock() + authorization.expires_in
        self.state = State.PENDING
        return authorization

    def poll_once(self) -> DeviceTokens | None:
        """One token request (§3.4): the tokens, or None while the person hasn't decided."""
        self._require(State.PENDING)
        assert self._authorization is not None
        fields = {
            "grant_type": DEVICE_CODE_GRANT,
            "device_code": self._authorization.device_code,
            "client_id": self.client_id,
        }
        try:
            answer = self._post(self.endpoints.token_endpoint, fields)
        except Unreachable:
            self.interval = min(self.interval * 2, MAX_UNREACHABLE_INTERVAL_SECONDS)
            return None
        except HttpError as exc:
            self._on_error(exc)
            return None
        tokens = _tokens_from(answer)
        self.state = State.SIGNED_IN
        return tokens

    def wait(self) -> DeviceTokens:
        """Poll at the interval until signed in; raises DeviceFlowError on refusal or expiry."""
        while True:
            self._require(State.PENDING)
            if self._clock() >= self._deadline:
                raise self._fail("the code expired before the sign-in finished: run it again")
            self._sleep(self.interval)
            tokens = self.poll_once()
            if tokens is not None:
                return tokens

    def _on_error(self, exc: HttpError) -> None:
        """Keep polling (pending, slow_down) or fail the flow (anything else)."""
        error = exc.body.get("error")
        if error == "authorization_pending":
            return
        if error == "slow_down":
            self.interval += SLOW_DOWN_SECONDS
            return
        if error == "access_denied":
            raise self._fail("the sign-in was refused at the identity provider")
        if error == "expired_token":
            raise self._fail("the code expired before the sign-in finished: run it again")
        raise self._fail(f"the identity provider answered: {exc.message}")

    def _require(self, state: State) -> None:
        if self.state is not state:
            raise IllegalTransition(f"device flow is {self.state.value}, not {state.value}")

    def _fail(self, message: str) -> DeviceFlowError:
        self.state = State.FAILED
        return DeviceFlowError(message)


def _authorization_from(answer: Any) -> DeviceAuthorization:
    try:
        return DeviceAuthorization(
            device_code=str(answer["device_code"]),
            user_code=str(answer["user_code"]),
            verification_uri=str(answer["verification_uri"]),
            verification_uri_complete=str(
                answer.get("verification_uri_complete") or answer["verification_uri"]
            ),
            expires_in=int(answer["expires_in"]),
            interval=max(1, int(answer.get("interval") or DEFAULT_INTERVAL_SECONDS)),
        )
    except (KeyError, TypeError, ValueError):
        raise DeviceFlowError("the provider's device authorization answer is malformed") from None


def _tokens_from(answer: Any) -> DeviceTokens:
    try:
        return tokens_from(answer)
    except SignInError as exc:
        raise DeviceFlowError(str(exc)) from None

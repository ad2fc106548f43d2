"""The OAuth 2.0 authorization code grant for a native public client (RFC 6749 §4.1) with
PKCE S256 (RFC 7636) and a loopback redirect (RFC 8252), as an explicit state machine.

    flow = BrowserFlow(client_id=..., scopes=..., provider=metadata)
    url = flow.start(redirect_uri)      # NEW → WAITING: open url in the browser
    tokens = flow.finish(query)         # WAITING → SIGNED_IN (or FAILED, raising)

No sockets here: ``cli.loopback`` receives the redirect and hands its query to ``finish``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import urlencode

from cli.provider import OFFLINE_ACCESS, ProviderMetadata
from cli.tokens import ProviderTokens, SignInError, tokens_from
from cli.transport import HttpError, Unreachable, form_post

AUTHORIZATION_CODE_GRANT = "authorization_code"


class State(Enum):
    NEW = "new"
    WAITING = "waiting"  # the browser has the authorization URL; waiting for its redirect
    SIGNED_IN = "signed_in"
    FAILED = "failed"


class BrowserFlowError(SignInError):
    """The browser sign-in did not complete; the message says why and what to do."""


class IllegalTransition(BrowserFlowError):
    """A step called in a state that does not allow it (a programming error)."""


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge: BASE64URL(SHA256(verifier)) without padding (§4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class Pkce:
    verifier: str = field(repr=False)

    @classmethod
    def new(cls) -> Pkce:
        return cls(secrets.token_urlsafe(64))  # 86 characters: within §4.1's 43..128

    @property
    def challenge(self) -> str:
        return pkce_challenge(self.verifier)


class BrowserFlow:
    def __init__(
        self,
        *,
        client_id: str,
        scopes: str,
        provider: ProviderMetadata,
        post: Callable[[str, dict[str, str]], Any] = form_post,
        pkce: Pkce | None = None,
    ) -> None:
        self.client_id = client_id
        self.scopes = scopes
        self.provider = provider
        self.state = State.NEW
        self.redirect_uri = ""
        self._post = post
        self._pkce = pkce or Pkce.new()
        self._expected_state = secrets.token_urlsafe(32)  # binds the redirect to this run

    def start(self, redirect_uri: str) -> str:
        """The authorization request URL to open in the browser (§4.1.1)."""
        self._require(State.NEW)
        if not self.provider.authorization_endpoint:
            raise self._fail(f"{self.provider.issuer} offers no authorization endpoint")
        self.redirect_uri = redirect_uri
        self.state = State.WAITING
        endpoint = self.provider.authorization_endpoint
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(self._request_fields())

    def finish(self, query: dict[str, str]) -> ProviderTokens:
        """Check the redirect's query and exchange its code for tokens (§4.1.2-4.1.4)."""
        self._require(State.WAITING)
        code = self._code_from(query)
        fields = {
            "grant_type": AUTHORIZATION_CODE_GRANT,
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": self._pkce.verifier,
        }
        try:
            tokens = tokens_from(self._post(self.provider.token_endpoint, fields))
        except HttpError as exc:
            raise self._fail(f"the provider refused the sign-in code: {exc.message}") from None
        except (Unreachable, SignInError) as exc:
            raise self._fail(str(exc)) from None
        self.state = State.SIGNED_IN
        return tokens

    def _request_fields(self) -> dict[str, str]:
        fields = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scopes,
            "state": self._expected_state,
            "code_challenge": self._pkce.challenge,
            "code_challenge_method": "S256",
        }
        if OFFLINE_ACCESS in self.scopes.split():
            fields["prompt"] = "consent"  # OpenID Connect Core §11: offline_access needs it
        return fields

    def _code_from(self, query: dict[str, str]) -> str:
        # State first: an answer that is not for this run says nothing we may act on.
        if not secrets.compare_digest(query.get("state", ""), self._expected_state):
            raise self._fail("the browser's answer is not for this sign-in (state mismatch)")
        if query.get("error") == "access_denied":
            raise self._fail("the sign-in was refused at the identity provider")
        if query.get("error"):
            detail = query.get("error_description") or query["error"]
            raise self._fail(f"the identity provider answered: {detail}")
        if "iss" in query and query["iss"] != self.provider.issuer:  # RFC 9207 mix-up defence
            raise self._fail(f"the answer came from {query['iss']}, not {self.provider.issuer}")
        if not query.get("code"):
            raise self._fail("the identity provider's answer holds no authorization code")
        return query["code"]

    def _require(self, state: State) -> None:
        if self.state is not state:
            raise IllegalTransition(f"browser flow is {self.state.value}, not {state.value}")

    def _fail(self, message: str) -> BrowserFlowError:
        self.state = State.FAILED
        return BrowserFlowError(message)

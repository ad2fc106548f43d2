"""Credential injection: the resource's key, basic auth, and OAuth client-credentials
tokens cached until shortly before they expire, fetched once however many requests wait."""

from __future__ import annotations

import asyncio
import base64

from dataplane.contract import HttpSettings, ResourceSpec
from dataplane.protocols.http.credentials import (
    ClientCredentialsToken,
    IssuedToken,
    TokenFetcher,
    UpstreamCredentials,
    static_credential,
)


def resource(user: str = "client-1", secret: str = "s3cret") -> ResourceSpec:
    return ResourceSpec(
        name="orders-api", protocol="http", host="h", port=1, database="",
        upstream_user=user, upstream_password=secret,
    )  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TokenEndpoint:
    """Counts fetches and issues tok-1, tok-2, ... with the given lifetime."""

    def __init__(self, expires_in_s: float = 3600.0, delay_s: float = 0.0) -> None:
        self.expires_in_s = expires_in_s
        self.delay_s = delay_s
        self.fetches = 0

    async def fetch(self) -> IssuedToken:
        self.fetches += 1
        issued = IssuedToken(f"tok-{self.fetches}", self.expires_in_s)
        await asyncio.sleep(self.delay_s)
        return issued


def test_a_header_resource_sends_its_key_with_the_prefix() -> None:
    settings = HttpSettings(auth="header", auth_header="X-Api-Key", auth_value_prefix="")
    assert static_credential(resource(), settings) == ("X-Api-Key", "s3cret")
    bearer = HttpSettings(auth="header")
    assert static_credential(resource(), bearer) == ("Authorization", "Bearer s3cret")


def test_a_basic_resource_sends_user_and_secret() -> None:
    name, value = static_credential(resource(), HttpSettings(auth="basic")) or ("", "")
    assert name == "Authorization"
    assert base64.b64decode(value.removeprefix("Basic ")) == b"client-1:s3cret"


def test_a_resource_without_auth_sends_nothing() -> None:
    assert static_credential(resource(), HttpSettings()) is None


def test_a_token_is_reused_until_its_refresh_time() -> None:
    async def scenario() -> None:
        clock, endpoint = Clock(), TokenEndpoint(expires_in_s=3600)
        token = ClientCredentialsToken(endpoint.fetch, clock)
        assert await token.current() == "tok-1"
        clock.now += 3600 - 31  # 30 s before expiry is the refresh point
        assert await token.current() == "tok-1"
        clock.now += 2
        assert await token.current() == "tok-2"
        assert endpoint.fetches == 2

    asyncio.run(scenario())


def test_a_short_lived_token_is_refreshed_at_ninety_percent_of_its_life() -> None:
    async def scenario() -> None:
        clock, endpoint = Clock(), TokenEndpoint(expires_in_s=10)
        token = ClientCredentialsToken(endpoint.fetch, clock)
        await token.current()
        clock.now += 8.9
        assert await token.current() == "tok-1"
        clock.now += 0.2
        assert await token.current() == "tok-2"

    asyncio.run(scenario())


def test_concurrent_requests_wait_for_one_fetch() -> None:
    async def scenario() -> None:
        endpoint = TokenEndpoint(delay_s=0.01)
        token = ClientCredentialsToken(endpoint.fetch, Clock())
        tokens = await asyncio.gather(*(token.current() for _ in range(20)))
        assert set(tokens) == {"tok-1"}
        assert endpoint.fetches == 1

    asyncio.run(scenario())


def test_a_rejected_token_is_replaced_once_for_all_who_saw_it() -> None:
    async def scenario() -> None:
        endpoint = TokenEndpoint()
        token = ClientCredentialsToken(endpoint.fetch, Clock())
        await token.current()
        replaced = await asyncio.gather(*(token.replace("tok-1") for _ in range(5)))
        assert set(replaced) == {"tok-2"}
        assert endpoint.fetches == 2

    asyncio.run(scenario())


def test_upstream_credentials_give_oauth_resources_a_bearer_token() -> None:
    async def scenario() -> None:
        endpoints: dict[str, TokenEndpoint] = {}

        def fetcher_for(spec: ResourceSpec, settings: HttpSettings) -> TokenFetcher:
            endpoint = endpoints.setdefault(spec.upstream_password, TokenEndpoint())
            return endpoint.fetch

        credentials = UpstreamCredentials(fetcher_for)
        settings = HttpSettings(auth="oauth_client_credentials", token_url="http://idp/token")
        header = await credentials.header(resource(), settings)
        assert header == ("Authorization", "Bearer tok-1")
        assert await credentials.header(resource(), settings) == header
        fresh = await credentials.after_rejection(resource(), settings, header)
        assert fresh == ("Authorization", "Bearer tok-2")
        # A new secret in a snapshot: a fresh cache (never the old secret's token).
        rotated = await credentials.header(resource(secret="rotated"), settings)
        assert rotated == ("Authorization", "Bearer tok-1")
        assert endpoints["rotated"].fetches == 1

    asyncio.run(scenario())


def test_a_static_credential_is_not_retried_after_a_401() -> None:
    async def scenario() -> None:
        credentials = UpstreamCredentials(lambda spec, settings: TokenEndpoint().fetch)
        settings = HttpSettings(auth="header")
        header = await credentials.header(resource(), settings)
        assert header is not None
        assert await credentials.after_rejection(resource(), settings, header) is None

    asyncio.run(scenario())

"""Keeping a person's sign-in fresh without asking them: before a command, an ID token that
has expired or expires within ``RENEW_MARGIN_SECONDS`` is renewed with the stored refresh
token (RFC 6749 §6), and the new tokens (a rotated refresh token included) are saved with
the same 0600 file mode as the login. A refused renewal (revoked, expired, reused token)
ends the command with "run `gatehouse login`".

A login without a refresh token (the provider offered no ``offline_access``) is left as it
is: ``Config.authorization`` refuses it once it has expired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from cli.config import Config, LoginExpired, config_load, config_locked, config_save
from cli.provider import ProviderMetadata, provider_discover
from cli.tokens import SignInError, tokens_from
from cli.transport import HttpError, Unreachable, form_post

# Renew a little early, so the token cannot expire between this check and the control
# plane's (a command makes several calls).
RENEW_MARGIN_SECONDS = 30
REFRESH_TOKEN_GRANT = "refresh_token"

Post = Callable[[str, dict[str, str]], Any]
Discover = Callable[[str], ProviderMetadata]


def login_renewal_due(login: dict[str, Any], *, now: float) -> bool:
    """A renewable person's login whose ID token is expired or about to expire."""
    if login.get("kind") != "oidc" or not login.get("refresh_token"):
        return False
    return float(login.get("expires_at", 0)) - now <= RENEW_MARGIN_SECONDS


def config_renew_if_due(
    config: Config,
    *,
    path: Path,
    now: float,
    post: Post = form_post,
    discover: Discover = provider_discover,
) -> Config:
    """``config`` with a fresh sign-in, saved to ``path`` when it was renewed."""
    if not login_renewal_due(config.login, now=now):
        return config
    with config_locked(path):
        current = _stored_or(config, path)  # another command may have renewed it meanwhile
        if not login_renewal_due(current.login, now=now):
            return current
        try:
            login = login_renewed(current.login, post=post, discover=discover)
        except Unreachable as exc:
            return _still_valid_or_fail(current, now=now, reason=str(exc))
        renewed = replace(current, login=login)
        config_save(path, renewed)
        return renewed


def login_renewed(
    login: dict[str, Any], *, post: Post = form_post, discover: Discover = provider_discover
) -> dict[str, Any]:
    """The login with tokens from the refresh token grant; raises LoginExpired if refused."""
    fields = {
        "grant_type": REFRESH_TOKEN_GRANT,
        "refresh_token": str(login["refresh_token"]),
        "client_id": str(login["client_id"]),
    }
    try:
        token_endpoint = discover(str(login["issuer"])).token_endpoint
        tokens = tokens_from(post(token_endpoint, fields))
    except HttpError as exc:
        raise _renewal_refused(exc.message) from None
    except SignInError as exc:
        raise _renewal_refused(str(exc)) from None
    # Providers that do not rotate refresh tokens answer without one: keep the old one.
    return tokens.as_login(issuer=login["issuer"], client_id=login["client_id"]) | {
        "refresh_token": tokens.refresh_token or login["refresh_token"]
    }


def _stored_or(config: Config, path: Path) -> Config:
    stored = config_load(path)
    return stored if stored.login.get("issuer") == config.login.get("issuer") else config


def _still_valid_or_fail(config: Config, *, now: float, reason: str) -> Config:
    """A provider that is down does not end a sign-in that is still valid."""
    if float(config.login.get("expires_at", 0)) > now:
        return config
    raise LoginExpired(f"your sign-in has expired and could not be renewed: {reason}")


def _renewal_refused(reason: str) -> LoginExpired:
    return LoginExpired(
        f"your sign-in has expired and the identity provider refused to renew it "
        f"({reason}): run `gatehouse login`"
    )

"""The authentication backend for OIDC sign-in: the library runs the code exchange; this
subclass checks the ID token strictly and hands the verified claims to the sign-in service."""

from __future__ import annotations

from typing import Any

import jwt
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from controlplane.identities.models import User
from controlplane.identities.oidc.config import OidcConfig
from controlplane.identities.oidc.keys import ProviderKeyRefused, provider_signing_key
from controlplane.identities.oidc.library import library_setting, oidc_config
from controlplane.identities.signin import SignInRefused, oidc_identity_sign_in

CLOCK_SKEW_SECONDS = 60
# Claims that only the (verified) ID token may set; userinfo can't override them.
ID_TOKEN_ONLY_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "azp"})


class OidcBackend(OIDCAuthenticationBackend):
    """Authenticates only the callback of an authorization-code sign-in (with its nonce
    and PKCE verifier); answers None to everything else, so it never sees passwords."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library's __init__ reads every endpoint up front; ours are resolved (and
        # discovered) only when a callback is being authenticated.
        self.UserModel = User

    get_settings = staticmethod(library_setting)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        config = oidc_config()
        if config is None or request is None or "nonce" not in kwargs:
            return None
        self.configure(config)
        user: User | None = super().authenticate(request, **kwargs)
        return user

    def configure(self, config: OidcConfig) -> None:
        """Load the provider's endpoints (discovering them at the first sign-in)."""
        self.config = config
        self.OIDC_OP_TOKEN_ENDPOINT = library_setting("OIDC_OP_TOKEN_ENDPOINT")
        self.OIDC_OP_USER_ENDPOINT = library_setting("OIDC_OP_USER_ENDPOINT")
        self.OIDC_OP_JWKS_ENDPOINT = library_setting("OIDC_OP_JWKS_ENDPOINT")
        self.OIDC_RP_CLIENT_ID = config.client_id
        self.OIDC_RP_CLIENT_SECRET = config.client_secret
        self.OIDC_RP_SIGN_ALGO = config.signing_algorithm
        self.OIDC_RP_IDP_SIGN_KEY = None

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """The ID token's claims, after checking signature (the one configured asymmetric
        algorithm, a key from the provider's JWKS), issuer, audience, expiry and nonce.
        The library itself skips the audience and accepts any issuer."""
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError:
            raise SuspiciousOperation("the ID token is not a JWT") from None
        if algorithm != self.config.signing_algorithm:
            raise SuspiciousOperation(f"ID token signed with {algorithm!r}, not the configured")
        key = self.retrieve_matching_jwk(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[self.config.signing_algorithm],
                audience=self.config.client_id,
                issuer=self.config.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token rejected: {exc}") from None
        self._check_audience_party(claims)
        if claims.get("nonce") != kwargs.get("nonce"):
            raise SuspiciousOperation("ID token nonce does not match this sign-in")
        return claims

    def retrieve_matching_jwk(self, token: str) -> Any:
        """The provider's key for the ID token's ``kid``, from the JWKS cache every provider
        token check shares (the library's own fetches the JWKS at every sign-in)."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            return provider_signing_key(self.config, kid)
        except jwt.PyJWTError:
            raise SuspiciousOperation("the ID token is not a JWT") from None
        except ProviderKeyRefused as refused:
            raise SuspiciousOperation(f"ID token refused: {refused}") from None

    def get_or_create_user(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> User | None:
        claims = {**self._userinfo(access_token, id_token, payload), **payload}
        try:
            return oidc_identity_sign_in(
                issuer=self.config.issuer, claims=claims, groups_claim=self.config.groups_claim
            )
        except SignInRefused as refusal:
            self.request.gatehouse_sign_in_refusal = refusal.reason  # type: ignore[attr-defined]
            return None

    def get_user(self, user_id: Any) -> User | None:
        # The library's get_user ignores is_active; Django's refuses disabled users, which
        # also ends their existing sessions.
        user: User | None = ModelBackend.get_user(self, user_id)
        return user

    def _userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict:
        if not self.OIDC_OP_USER_ENDPOINT:
            return {}
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            # OpenID Connect Core 1.0 §5.3.2: otherwise the answer must not be used.
            raise SuspiciousOperation("userinfo describes a different sub than the ID token")
        return {key: value for key, value in userinfo.items() if key not in ID_TOKEN_ONLY_CLAIMS}

    def _check_audience_party(self, claims: dict[str, Any]) -> None:
        audience = claims["aud"]
        several = isinstance(audience, list) and len(audience) > 1
        if several and claims.get("azp") != self.config.client_id:
            raise SuspiciousOperation("ID token for several audiences without our azp")

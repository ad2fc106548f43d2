"""Browser sign-in with OpenID Connect (authorization code flow with PKCE), on top of
mozilla-django-oidc: configuration, provider discovery, the authentication backend and the
two views (start sign-in, callback)."""

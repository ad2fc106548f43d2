"""Browser sign-in with SAML 2.0 (Web Browser SSO profile), for organisations without OIDC,
on top of pysaml2: configuration, the service provider (requests out, verified assertions
in), the authentication backend and three views (metadata, start sign-in, assertion
consumer service)."""

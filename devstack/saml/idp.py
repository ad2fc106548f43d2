"""The test identity provider: pysaml2's ``Server`` behind a login form.

    python -m devstack.saml.idp CONFIG_JSON     # serves until SIGTERM (wsgiref, loopback)

CONFIG_JSON holds ``base_url``, ``port``, ``key_file``, ``cert_file``, the SP's metadata
(``sp_metadata_url`` or ``sp_metadata_xml``) and ``users`` (name → password, groups).
Endpoints: ``GET /metadata``, ``GET /sso/redirect`` (the AuthnRequest arrives; the form is
shown), ``POST /sso/login`` (the form; on the right password, the signed Response is posted
to the SP by the browser).
"""

from __future__ import annotations

import html
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.authn_context import PASSWORD
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.sigver import get_xmlsec_binary
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


@dataclass(frozen=True)
class IdpUser:
    username: str
    password: str
    groups: tuple[str, ...] = ()

    def attributes(self) -> dict[str, list[str]]:
        return {
            "uid": [self.username],
            "mail": [f"{self.username}@example.test"],
            "givenName": [self.username.capitalize()],
            "groups": list(self.groups),
        }


PERSONAS = (
    IdpUser("alice", "alice-password-1", ("requesters",)),
    IdpUser("bob", "bob-password-1", ("approvers",)),
    IdpUser("carol", "carol-password-1", ("auditors",)),
)


def idp_settings(
    *, base_url: str, key_file: str, cert_file: str, sp_metadata: dict[str, Any],
    assertion_lifetime_minutes: int = 5,
) -> dict[str, Any]:  # fmt: skip
    """pysaml2 IdP settings; ``sp_metadata`` as pysaml2 takes it ({"inline": [xml]}, …)."""
    return {
        "entityid": base_url + "/metadata",
        "xmlsec_binary": get_xmlsec_binary(["/usr/bin", "/usr/local/bin"]),
        "key_file": key_file,
        "cert_file": cert_file,
        "metadata": sp_metadata,
        "accepted_time_diff": 60,
        # pysaml2 signs with RSA-SHA1 unless told otherwise.
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
        "service": {
            "idp": {
                "endpoints": {
                    "single_sign_on_service": [(base_url + "/sso/redirect", BINDING_HTTP_REDIRECT)]
                },
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                "want_authn_requests_signed": False,
                "policy": {
                    "default": {
                        "lifetime": {"minutes": assertion_lifetime_minutes},
                        "attribute_restrictions": None,
                        "name_form": NAME_FORMAT_URI,
                    }
                },
            }
        },
    }


class IdentityProvider:
    """Issues signed assertions for known users in answer to AuthnRequests."""

    def __init__(self, settings: dict[str, Any], users: Iterable[IdpUser] = PERSONAS) -> None:
        self.server = Server(config=IdPConfig().load(settings))
        self.users = {user.username: user for user in users}

    @property
    def entity_id(self) -> str:
        return str(self.server.config.entityid)

    def metadata_xml(self) -> str:
        return str(entity_descriptor(self.server.config))

    def authn_request(self, saml_request: str, binding: str = BINDING_HTTP_REDIRECT) -> Any:
        return self.server.parse_authn_request(saml_request, binding).message

    def check_password(self, username: str, password: str) -> IdpUser | None:
        user = self.users.get(username)
        return user if user is not None and user.password == password else None

    def response_xml(
        self, request: Any, user: IdpUser, *, sign_assertion: bool = True,
        sign_response: bool = False, name_id_format: str = NAMEID_FORMAT_PERSISTENT,
        sign_alg: str = SIG_RSA_SHA256,
        **overrides: Any,
    ) -> tuple[str, str]:  # fmt: skip
        """(the Response XML, the SP's ACS URL) answering ``request`` for ``user``."""
        args = {**self.server.response_args(request), **overrides}
        response = self.server.create_authn_response(
            user.attributes(),
            userid=user.username,
            name_id=NameID(format=name_id_format, text=f"idp-{user.username}-0001"),
            authn={"class_ref": PASSWORD, "authn_auth": self.entity_id},
            sign_assertion=sign_assertion,
            sign_response=sign_response,
            sign_alg=sign_alg,
            digest_alg=DIGEST_SHA256,
            **args,
        )
        return str(response), str(args["destination"])

    def post_form(self, response_xml: str, destination: str, relay_state: str) -> str:
        """The HTML page that makes the browser POST the Response to the SP."""
        http = self.server.apply_binding(
            BINDING_HTTP_POST, response_xml, destination, relay_state, response=True
        )
        return str(http["data"])


# -- the WSGI program ------------------------------------------------------------------------
LOGIN_FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Test IdP sign-in</title></head><body><h1>Test SAML IdP</h1>{error}
<form method="post" action="/sso/login">
<input type="hidden" name="SAMLRequest" value="{request}">
<input type="hidden" name="RelayState" value="{relay}">
<label for="username">Username</label> <input id="username" name="username">
<label for="password">Password</label> <input id="password" name="password" type="password">
<button type="submit">Sign in</button></form></body></html>"""


class IdpApp:
    """A WSGI application around an IdentityProvider."""

    def __init__(self, idp: IdentityProvider) -> None:
        self.idp = idp

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        try:
            if method == "GET" and path == "/metadata":
                return _answer(start_response, "200 OK", self.idp.metadata_xml(), "text/xml")
            if method == "GET" and path == "/sso/redirect":
                query = _fields(environ.get("QUERY_STRING", ""))
                self.idp.authn_request(query.get("SAMLRequest", ""))  # refuse bad ones early
                return self._form(start_response, query, error="")
            if method == "POST" and path == "/sso/login":
                return self._login(start_response, _fields(_body(environ)))
        except Exception as exc:  # a test IdP: say what went wrong
            return _answer(start_response, "400 Bad Request", f"IdP error: {exc}", "text/plain")
        return _answer(start_response, "404 Not Found", "not found", "text/plain")

    def _login(self, start_response: StartResponse, form: dict[str, str]) -> list[bytes]:
        user = self.idp.check_password(form.get("username", ""), form.get("password", ""))
        if user is None:
            return self._form(start_response, form, error="Wrong username or password")
        request = self.idp.authn_request(form["SAMLRequest"])
        xml, destination = self.idp.response_xml(request, user)
        page = self.idp.post_form(xml, destination, form.get("RelayState", ""))
        return _answer(start_response, "200 OK", page, "text/html")

    def _form(
        self, start_response: StartResponse, fields: dict[str, str], error: str
    ) -> list[bytes]:
        page = LOGIN_FORM.format(
            error=f'<p role="alert">{html.escape(error)}</p>' if error else "",
            request=html.escape(fields.get("SAMLRequest", "")),
            relay=html.escape(fields.get("RelayState", "")),
        )
        return _answer(start_response, "200 OK", page, "text/html")


def _fields(encoded: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(encoded).items()}


def _body(environ: dict[str, Any]) -> str:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return str(environ["wsgi.input"].read(length).decode())


def _answer(start_response: StartResponse, status: str, body: str, kind: str) -> list[bytes]:
    data = body.encode()
    start_response(
        status, [("Content-Type", f"{kind}; charset=utf-8"), ("Content-Length", str(len(data)))]
    )
    return [data]


def main(config_path: str) -> None:
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    with open(config_path, encoding="utf-8") as file:
        config = json.load(file)
    sp_metadata = (
        {"remote": [{"url": config["sp_metadata_url"]}]}
        if config.get("sp_metadata_url")
        else {"inline": [config["sp_metadata_xml"]]}
    )
    settings = idp_settings(
        base_url=config["base_url"], key_file=config["key_file"], cert_file=config["cert_file"],
        sp_metadata=sp_metadata,
    )  # fmt: skip
    users = [
        IdpUser(name, u["password"], tuple(u["groups"])) for name, u in config["users"].items()
    ]
    app = IdpApp(IdentityProvider(settings, users))
    with make_server(
        "127.0.0.1", int(config["port"]), app, handler_class=WSGIRequestHandler
    ) as httpd:
        print(f"test SAML IdP on {config['base_url']}", flush=True)
        httpd.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])

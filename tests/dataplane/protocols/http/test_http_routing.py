"""Routing: the first path segment names the resource; the rest goes upstream as sent, and
paths that could mean something else upstream than to the rules are refused."""

from __future__ import annotations

import pytest

from dataplane.contract import HttpSettings, ResourceSpec
from dataplane.protocols.http.routing import BadTarget, resource_of, route, upstream_url

API = ResourceSpec(
    name="orders-api",
    protocol="http",
    host="api.internal",
    port=8443,
    database="",
    upstream_user="",
    upstream_password="secret",
)


def test_the_first_segment_names_the_resource_and_the_rest_is_the_upstream_path() -> None:
    target = route("/orders-api/v1/orders/42?expand=items")
    assert target.resource == "orders-api"
    assert target.path == "/v1/orders/42"
    assert target.query == "expand=items"
    assert target.path_and_query == "/v1/orders/42?expand=items"


def test_a_bare_resource_goes_to_the_upstream_root() -> None:
    assert route("/orders-api").path == "/"
    assert route("/orders-api/").path == "/"


def test_the_upstream_url_joins_scheme_host_port_base_path_rest_and_query() -> None:
    settings = HttpSettings(scheme="https", base_path="/api/")
    url = upstream_url(API, settings, route("/orders-api/v1/a%20b?x=1&y=2"))
    assert url == "https://api.internal:8443/api/v1/a%20b?x=1&y=2"


def test_an_ipv6_upstream_host_is_bracketed() -> None:
    resource = ResourceSpec(
        name="r", protocol="http", host="::1", port=80, database="", upstream_user="",
        upstream_password="",
    )  # fmt: skip
    assert upstream_url(resource, HttpSettings(scheme="http"), route("/r/x")) == "http://[::1]:80/x"


def test_rules_see_the_decoded_path_so_an_encoded_letter_cannot_hide() -> None:
    assert route("/orders-api/%61dmin/users").path == "/admin/users"


@pytest.mark.parametrize(
    "target",
    [
        "/orders-api/../secrets",
        "/orders-api/v1/../../etc",
        "/orders-api/%2e%2e/secrets",
        "/orders-api/.%2E/secrets",
        "/orders-api/%2E./secrets",
        "/orders-api/./v1",
        "/orders-api/v1%2Fadmin",
        "/orders-api/v1%2fadmin",
        "/orders-api/v1%5Cadmin",
        "/orders-api/v1%00",
        "/orders-api/%ff",
        "http://evil.example/orders-api/v1",
        "*",
        "/",
        "/%6Frders-api/v1",
    ],
)
def test_targets_that_cannot_be_routed_safely_are_refused(target: str) -> None:
    with pytest.raises(BadTarget):
        route(target)


def test_the_resource_name_is_read_before_any_check() -> None:
    assert resource_of("/orders-api/v1/x?y=1") == "orders-api"
    assert resource_of("/orders-api") == "orders-api"
    assert resource_of("*") == ""

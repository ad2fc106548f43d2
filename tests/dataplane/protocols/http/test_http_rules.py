"""Rules: deny routes first, then the allow-list, then read-only; the refusal names the rule."""

from __future__ import annotations

from dataplane.contract import HttpRoute, HttpSettings
from dataplane.protocols.http.rules import check_rules


def test_a_resource_without_rules_lets_everything_through() -> None:
    assert check_rules(HttpSettings(), "DELETE", "/v1/anything") is None


def test_a_deny_route_refuses_and_names_itself() -> None:
    settings = HttpSettings(deny=(HttpRoute("/admin/*"),))
    refusal = check_rules(settings, "GET", "/admin/users")
    assert refusal is not None
    assert refusal.refused_by == "route"
    assert '"* /admin/*"' in refusal.message


def test_a_deny_route_with_methods_refuses_only_those_methods() -> None:
    settings = HttpSettings(deny=(HttpRoute("/v1/orders/*", ("DELETE",)),))
    assert check_rules(settings, "GET", "/v1/orders/1") is None
    assert check_rules(settings, "delete", "/v1/orders/1") is not None


def test_wildcards_match_across_segments() -> None:
    settings = HttpSettings(deny=(HttpRoute("/v1/*/secrets"),))
    assert check_rules(settings, "GET", "/v1/a/b/secrets") is not None


def test_an_allow_list_refuses_what_it_does_not_name() -> None:
    settings = HttpSettings(allow=(HttpRoute("/v1/chat/*", ("POST",)), HttpRoute("/v1/models")))
    assert check_rules(settings, "POST", "/v1/chat/completions") is None
    assert check_rules(settings, "GET", "/v1/models") is None
    refusal = check_rules(settings, "GET", "/v1/files")
    assert refusal is not None and refusal.refused_by == "route"
    assert "not in the resource's allowed routes" in refusal.message


def test_deny_wins_over_allow() -> None:
    settings = HttpSettings(allow=(HttpRoute("/v1/*"),), deny=(HttpRoute("/v1/admin"),))
    assert check_rules(settings, "GET", "/v1/admin") is not None


def test_read_only_admits_get_head_and_options_only() -> None:
    settings = HttpSettings(read_only=True)
    for method in ("GET", "HEAD", "OPTIONS"):
        assert check_rules(settings, method, "/v1/x") is None
    refusal = check_rules(settings, "POST", "/v1/x")
    assert refusal is not None and refusal.refused_by == "read_only"
    assert "read-only" in refusal.message


def test_matching_is_case_sensitive_like_paths() -> None:
    settings = HttpSettings(deny=(HttpRoute("/Admin"),))
    assert check_rules(settings, "GET", "/admin") is None

"""The resource's method and path rules: deny routes, the allow-list, read-only.

Checked in that order on the routed (decoded) path without its query; the first that
refuses names itself in the refusal, so the caller and the audit trail see which rule it
was.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from dataplane.contract import HttpRoute, HttpSettings

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class RuleRefusal:
    """Why the rules refuse a request; ``refused_by`` is "route" or "read_only"."""

    refused_by: str
    message: str


def matches(route: HttpRoute, method: str, path: str) -> bool:
    """Whether ``method path`` falls under ``route`` (no methods: any method)."""
    if route.methods and method.upper() not in route.methods:
        return False
    return fnmatchcase(path, route.path)


def check_rules(settings: HttpSettings, method: str, path: str) -> RuleRefusal | None:
    """None when the request may go upstream; else the first rule that refuses it."""
    for route in settings.deny:
        if matches(route, method, path):
            return RuleRefusal("route", f"{method} {path} is denied by the rule {_named(route)}")
    if settings.allow and not any(matches(route, method, path) for route in settings.allow):
        return RuleRefusal("route", f"{method} {path} is not in the resource's allowed routes")
    if settings.read_only and method.upper() not in READ_ONLY_METHODS:
        return RuleRefusal(
            "read_only", f"{method} is not allowed: the resource is read-only (GET, HEAD, OPTIONS)"
        )
    return None


def _named(route: HttpRoute) -> str:
    methods = ",".join(route.methods) if route.methods else "*"
    return f'"{methods} {route.path}"'

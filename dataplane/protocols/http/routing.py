"""Which resource a request is for, and where upstream it goes.

``https://agent:port/<resource>/<rest>?<query>`` is for the resource named by the first
path segment and goes to ``<scheme>://<host>:<port><base_path>/<rest>?<query>``. The path
the gateway's rules see (and the audit records) is ``/<rest>``, percent-decoded, so an
encoded letter cannot slip past a deny rule. Paths that could mean something else to the
upstream than to the rules are refused outright: dot segments (``..``, ``.``, also when
percent-encoded) and encoded slashes or backslashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from dataplane.contract import HttpSettings, ResourceSpec


class BadTarget(Exception):
    """The request target cannot be routed safely (answered with 400)."""


@dataclass(frozen=True)
class Target:
    """A routed request target."""

    resource: str
    raw_path: str  # "/<rest>" as the client sent it (still percent-encoded)
    query: str  # without the "?"; "" when none

    @property
    def path(self) -> str:
        """The decoded path the rules match and the audit records."""
        return unquote(self.raw_path, errors="strict")

    @property
    def path_and_query(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


def resource_of(target: str) -> str:
    """The resource a target names ("" when it names none), before any checks: enough to
    pick the resource's error shape and credential headers."""
    path = target.split("?", 1)[0]
    if not path.startswith("/"):
        return ""
    return unquote(path[1:].split("/", 1)[0])


def route(target: str) -> Target:
    """Split an origin-form target into resource, upstream path and query; raise
    BadTarget for anything that is not a clean path under a resource."""
    if not target.startswith("/"):
        raise BadTarget("the request target must be a path (origin form)")
    path, _, query = target.partition("?")
    resource, _, rest = path[1:].partition("/")
    if not resource or "%" in resource:
        raise BadTarget("the path must start with a resource name: /<resource>/...")
    raw_path = "/" + rest
    _check_segments(raw_path)
    return Target(resource=resource, raw_path=raw_path, query=query)


def _check_segments(raw_path: str) -> None:
    for segment in raw_path.split("/"):
        try:
            decoded = unquote(segment, errors="strict")
        except UnicodeDecodeError:
            raise BadTarget("the path is not valid UTF-8 once decoded") from None
        if decoded in (".", ".."):
            raise BadTarget("dot segments (. and ..) are not allowed in the path")
        if "/" in decoded or "\\" in decoded:
            raise BadTarget("encoded slashes are not allowed in the path")
        if "\x00" in decoded:
            raise BadTarget("NUL is not allowed in the path")


def upstream_url(resource: ResourceSpec, settings: HttpSettings, target: Target) -> str:
    """The URL the request goes to (the client's encoding of path and query kept)."""
    base = settings.base_path.rstrip("/")
    url = f"{settings.scheme}://{_host(resource.host)}:{resource.port}{base}{target.raw_path}"
    return f"{url}?{target.query}" if target.query else url


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host

"""Fixtures for policy tests: the request/approval fixtures (tests/controlplane/access)."""

from tests.controlplane.access.conftest import (  # noqa: F401
    appdb_policy,
    developer_alice,
    erin,
)

"""The console tests use the request/approval personas (tests/controlplane/access): alice in
"developers" may request appdb, erin in "dba" approves it, bob is an administrator, carol an
auditor with no role in the policy."""

from tests.controlplane.access.conftest import (  # noqa: F401
    appdb_policy,
    developer_alice,
    erin,
    frank,
)

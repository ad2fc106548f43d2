"""Two first sign-ins of the same new person at the same moment, on real PostgreSQL: both
succeed and both get the one user the first created (no unique-constraint 500)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.postgres import PostgresCluster

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
DATABASE = "gatehouse_race"


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    with PostgresCluster() as running:
        running.admin_psql(f"CREATE DATABASE {DATABASE} OWNER {running.superuser.user}")
        yield running


def race(cluster: PostgresCluster, method: str) -> dict[str, Any]:
    role = cluster.superuser
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgresql://{role.user}:{role.password}@{cluster.host}:{cluster.port}/{DATABASE}"
        ),
        "RACE_DSN": cluster.dsn(role, database=DATABASE),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.controlplane.identities.first_sign_in_race", method],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("method", ["oidc", "saml"])
def test_concurrent_first_sign_ins_of_one_person_both_succeed_as_one_user(
    cluster: PostgresCluster, method: str
) -> None:
    result = race(cluster, method)
    assert not [o for o in result["outcomes"] if o.startswith("error")], result["outcomes"]
    assert result["outcomes"] == [result["linked_user"]] * 2
    assert result["links"] == 1

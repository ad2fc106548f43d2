"""REST: auditors download a period of the log as a verifiable .tar.gz and list past exports."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from controlplane.audit.export import archive
from controlplane.identities.models import User

pytestmark = pytest.mark.django_db(transaction=True)
ClientAs = Callable[[User | None], APIClient]


def _download(client: APIClient, **period: str) -> bytes:
    response = client.post("/api/v1/audit/exports", period, format="json")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/gzip"
    assert response["Content-Disposition"].startswith('attachment; filename="gatehouse-audit-')
    return b"".join(response.streaming_content)


def test_carol_downloads_a_bundle_that_verifies_offline(
    client_as: ClientAs,
    carol: User,
    busy_log: datetime,
    tmp_path: Path,
) -> None:
    data = _download(client_as(carol), since="1h")

    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as bundle:
        bundle.extractall(tmp_path, filter="data")
    (folder,) = tmp_path.iterdir()
    assert {"manifest.json", "entries.jsonl", "ocsf.jsonl", "entries.csv"} <= {
        path.name for path in folder.iterdir()
    }
    verdict = subprocess.run(
        [sys.executable, "-m", "ledger.verify", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr


def test_the_exports_made_are_listed_from_the_log(
    client_as: ClientAs,
    carol: User,
    bob: User,
    busy_log: datetime,
) -> None:
    _download(client_as(bob), since="1h")

    listed = client_as(carol).get("/api/v1/audit/exports").json()["results"]

    assert [record["exported_by"] for record in listed] == ["bob"]
    assert len(listed[0]["manifest_sha256"]) == 64
    assert listed[0]["count"] > 0


def test_alice_who_is_no_auditor_may_not_export(client_as: ClientAs, alice: User) -> None:
    assert client_as(alice).post("/api/v1/audit/exports", {}, format="json").status_code == 403
    assert client_as(alice).get("/api/v1/audit/exports").status_code == 403
    assert client_as(None).post("/api/v1/audit/exports", {}, format="json").status_code in (
        401,
        403,
    )


def test_a_period_too_large_for_the_api_points_to_the_command(
    client_as: ClientAs,
    carol: User,
    busy_log: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(archive, "API_EXPORT_MAX_ENTRIES", 2)  # a real limit, made small

    response = client_as(carol).post("/api/v1/audit/exports", {"since": "1h"}, format="json")

    assert response.status_code == 400
    assert "manage.py audit_export" in str(response.json())


def test_a_period_that_is_not_a_time_is_refused(client_as: ClientAs, carol: User) -> None:
    response = client_as(carol).post(
        "/api/v1/audit/exports", {"since": "last tuesday"}, format="json"
    )

    assert response.status_code == 400

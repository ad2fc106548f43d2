"""carol (auditors, signed in through the real OpenID provider in Chromium) opens the audit
explorer of a running control plane whose log signer signs checkpoints: the checkpoint's
signature shows valid, she verifies the newest range on the server, downloads the export
bundle, and the offline verifier (the auditor's own command) accepts it with the log key
the control plane publishes. Then she looks at the agents page."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.gatehouse import REPO, ControlPlane
from devstack.oidc_provider import OidcProvider, control_plane_client
from devstack.ports import free_port
from tests.integration.console import screenshot_and_axe, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OidcProvider, ControlPlane]]:
    root = tmp_path_factory.mktemp("audit-console")
    port = free_port()
    provider = OidcProvider(
        root / "provider", clients=[control_plane_client(f"http://127.0.0.1:{port}")]
    ).start()
    cp = ControlPlane(root / "controlplane", port=port, extra_env=provider.relying_party_env())
    try:
        cp.bootstrap()
        cp.start()
        cp.api("POST", "/api/v1/agents", {"name": "edge-audit"})
        for number in range(5):  # a little history to verify and export
            cp.api("POST", "/api/v1/service-accounts", {"name": f"audit-bot-{number}"})
        yield provider, cp
    finally:
        cp.stop()
        provider.stop()


def _wait_for_a_checkpoint(page: Page, cp: ControlPlane, *, min_size: int) -> None:
    """The log signer (a process of its own) signs within a second or two of the writes."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = page.request.get(cp.url + "/api/v1/audit/checkpoint")
        if response.status == 200 and int(response.text().split("\n")[1]) >= min_size:
            return
        time.sleep(0.2)
    pytest.fail("no checkpoint was signed in 30 s")


def test_carol_verifies_a_range_and_downloads_a_bundle_that_verifies_offline(
    browser: Browser, stack: tuple[OidcProvider, ControlPlane], tmp_path: Path
) -> None:
    provider, cp = stack
    page = sign_in(browser, cp_url=cp.url, provider=provider, username="carol", path="/audit/")
    _wait_for_a_checkpoint(page, cp, min_size=8)
    page.reload()
    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    expect(page.locator("#checkpoint-signature")).to_contain_text("Valid")
    size = int(page.locator("#checkpoint-size").inner_text().split()[0])
    assert size > 5

    # The form offers the newest entries the checkpoint covers; htmx swaps the verdict in.
    expect(page.get_by_label("Last seq")).to_have_value(str(size - 1))
    page.get_by_label("First seq").fill("0")
    page.get_by_role("button", name="Verify").click()
    verdict = page.locator("#verify-result")
    expect(verdict).to_have_attribute("data-ok", "true")
    expect(verdict).to_contain_text(f"VERIFIED: {size} entries, seq 0..{size - 1}")
    page.locator("#audit-events details").first.locator("summary").click()  # a payload, open
    findings = screenshot_and_axe(page, "carol-audit")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download bundle").click()
    archive = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(archive)
    assert archive.name.startswith("gatehouse-audit-") and archive.name.endswith(".tar.gz")
    with tarfile.open(archive, "r:gz") as bundle:
        bundle.extractall(tmp_path, filter="data")
    (folder,) = [path for path in tmp_path.iterdir() if path.is_dir()]
    keys = page.request.get(cp.url + "/api/v1/audit/keys").json()["keys"]
    log_keys = [arg for key in keys if key["role"] == "log" for arg in ("--log-key", key["vkey"])]
    checked = subprocess.run(
        [sys.executable, "-m", "ledger.verify", str(folder), "--quiet", *log_keys],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("VERIFIED")

    page.goto(cp.url + "/agents/")
    row = page.locator("#agent-edge-audit")
    expect(row).to_contain_text("Offline")
    expect(row).to_contain_text("never")
    findings += screenshot_and_axe(page, "carol-agents")
    assert not findings, "\n".join(findings)

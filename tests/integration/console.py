"""Browser tests of the console: people signing in through the real OpenID provider, axe-core
accessibility checks and full-page screenshots kept as test artifacts.

    person = sign_in(browser, cp_url=..., provider=..., username="alice", path="/")
    failures = screenshot_and_axe(person, "alice-home")  # var/test-artifacts/console/...png
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, ViewportSize, expect

from devstack.gatehouse import REPO
from devstack.oidc_provider import PERSONAS, OidcProvider

AXE_SCRIPT = REPO / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "var" / "test-artifacts" / "console"
DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)
PASSWORDS = {user.username: user.password for user in PERSONAS}
# WCAG 2.x A and AA rules; a "serious" or "critical" finding fails the page.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = {"serious", "critical"}


def sign_in(
    browser: Browser,
    *,
    cp_url: str,
    provider: OidcProvider,
    username: str,
    path: str = "/",
    viewport: ViewportSize = DESKTOP,
) -> Page:
    """A browser of the person's own (fresh cookies) signed in through the provider's login
    and consent pages, on ``path``."""
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(cp_url + path)
    page.get_by_role("link", name="Sign in with your organisation").click()
    expect(page).to_have_url(re.compile(re.escape(provider.issuer) + "/interaction/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(f"^({re.escape(cp_url)}/|.*/interaction/)"))
    allow = page.get_by_role("button", name="Allow")
    if page.url.startswith(provider.issuer) and allow.count():
        allow.click()
    page.wait_for_url(cp_url + path)
    return page


def axe_findings(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical WCAG A/AA violations on the page as it is now."""
    page.add_script_tag(path=str(AXE_SCRIPT))
    violations: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({target: n.target.join(" "),
                                            summary: n.failureSummary}))}));
        }""",
        AXE_TAGS,
    )
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]


def axe_report(findings: list[dict[str, Any]]) -> str:
    lines = []
    for finding in findings:
        lines.append(f"[{finding['impact']}] {finding['id']}: {finding['help']}")
        for node in finding["nodes"][:5]:
            summary = " ".join(str(node["summary"] or "").split())
            lines.append(f"    {node['target']} -- {summary[:300]}")
    return "\n".join(lines)


def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG under var/test-artifacts/console/ (kept after the run for people to
    look at; var/ is ignored by git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_failures(page: Page, what: str) -> list[str]:
    """axe-core's blocking findings on the page as one readable report (none: empty)."""
    findings = axe_findings(page)
    return [f"{what} ({page.url}):\n{axe_report(findings)}"] if findings else []


def screenshot_and_axe(page: Page, name: str) -> list[str]:
    """Screenshot the page as ``name`` and check it with axe-core (see axe_failures)."""
    screenshot(page, name)
    return axe_failures(page, name)


def horizontal_overflow(page: Page) -> list[str]:
    """Why the page scrolls sideways (on a phone), if it does: the elements reaching past
    the viewport's right edge outside a scrolling box (a .table-scroll), outermost first.
    An absolutely positioned element escapes a scrolling box without a positioned
    ancestor, so it counts even inside one."""
    culprits: list[str] = page.evaluate(
        """() => {
            const root = document.documentElement;
            const width = root.clientWidth;
            if (root.scrollWidth <= width + 1) return [];
            const scrolls = ["auto", "scroll", "hidden", "clip"];
            const escapes = (el) => ["absolute", "fixed"].includes(getComputedStyle(el).position);
            const clipped = (el) => {
                if (escapes(el)) return false;
                for (let up = el.parentElement; up && up !== document.body;
                     up = up.parentElement) {
                    if (scrolls.includes(getComputedStyle(up).overflowX)) return true;
                }
                return false;
            };
            const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
                (el.className && typeof el.className === "string"
                    ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
                ` "${(el.textContent || "").trim().slice(0, 30)}"`;
            const out = [];
            for (const el of document.body.querySelectorAll("*")) {
                const right = el.getBoundingClientRect().right;
                if (right > width + 1 && !clipped(el)) {
                    out.push(`${name(el)} reaches ${Math.round(right)}px`);
                }
            }
            return out.length ? out.slice(0, 10)
                              : [`the page is ${root.scrollWidth}px wide, the viewport ${width}px`];
        }"""
    )
    return culprits

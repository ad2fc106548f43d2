"""The loopback redirect listener (RFC 8252 §7.3), hit with real HTTP requests the way the
browser hits it after the provider's redirect."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from cli.loopback import LoopbackRedirect, RedirectTimeout
from cli.tokens import SignInError


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class Browser:
    """Requests made from another thread while the listener waits, answers kept in order."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, str]] = []
        self._threads: list[threading.Thread] = []

    def visit(self, *urls: str) -> None:
        thread = threading.Thread(target=lambda: self.answers.extend(map(get, urls)))
        thread.start()
        self._threads.append(thread)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Browser]:
    visitor = Browser()
    yield visitor
    visitor.join()


def test_it_listens_on_the_loopback_address_on_an_ephemeral_port() -> None:
    with LoopbackRedirect() as redirect:
        assert redirect.port > 0
        assert redirect.redirect_uri == f"http://127.0.0.1:{redirect.port}/callback"


def test_the_first_callback_is_handed_over_and_answered_with_a_close_the_tab_page(
    browser: Browser,
) -> None:
    with LoopbackRedirect() as redirect:
        browser.visit(redirect.redirect_uri + "?code=abc&state=xyz")
        outcome = redirect.wait(lambda query: ("tokens for", query))
    browser.join()

    assert outcome == ("tokens for", {"code": "abc", "state": "xyz"})
    status, page = browser.answers[0]
    assert status == 200 and "You can close this tab" in page


def test_other_paths_get_a_404_and_do_not_end_the_wait(browser: Browser) -> None:
    with LoopbackRedirect() as redirect:
        base = redirect.redirect_uri.removesuffix("/callback")
        browser.visit(base + "/favicon.ico", redirect.redirect_uri + "?code=c&state=s")
        outcome = redirect.wait(lambda query: query["code"])
    browser.join()

    assert outcome == "c"
    assert [status for status, _ in browser.answers] == [404, 200]


def test_a_refused_callback_shows_the_reason_in_the_tab_and_raises_it(browser: Browser) -> None:
    def refuse(_query: dict[str, str]) -> None:
        raise SignInError("the sign-in was refused at the identity provider")

    with LoopbackRedirect() as redirect:
        browser.visit(redirect.redirect_uri + "?error=access_denied&state=s")
        with pytest.raises(SignInError, match="refused at the identity provider"):
            redirect.wait(refuse)
    browser.join()

    status, page = browser.answers[0]
    assert status == 400 and "Sign-in failed" in page and "refused" in page


def test_an_unexpected_error_is_raised_in_the_command_not_lost_in_the_listener(
    browser: Browser,
) -> None:
    def crash(_query: dict[str, str]) -> None:
        raise RuntimeError("bug")

    with LoopbackRedirect() as redirect:
        browser.visit(redirect.redirect_uri + "?code=c&state=s")
        with pytest.raises(RuntimeError, match="bug"):
            redirect.wait(crash)
    browser.join()
    assert browser.answers[0][0] == 400


def test_the_listener_closes_after_one_callback(browser: Browser) -> None:
    redirect = LoopbackRedirect()
    browser.visit(redirect.redirect_uri + "?code=c&state=s")
    redirect.wait(lambda query: query)
    browser.join()

    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(redirect.redirect_uri + "?code=again&state=s", timeout=5)


def test_no_answer_before_the_deadline_ends_the_sign_in() -> None:
    redirect = LoopbackRedirect(timeout_seconds=0.2)
    with pytest.raises(RedirectTimeout, match="run `gatehouse login` again"):
        redirect.wait(lambda query: query)

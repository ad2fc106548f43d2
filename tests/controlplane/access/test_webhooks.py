"""Webhooks: a new request and every decision are POSTed, signed, to a real HTTP server;
a failing receiver is logged and never holds up or undoes the decision."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from controlplane.access.models import AccessRequest
from controlplane.access.services import access_request_approve, access_request_create
from controlplane.identities.models import User
from controlplane.jobs.config import webhook_from_env
from controlplane.jobs.webhooks import webhook_signature_valid
from controlplane.policies.models import Policy
from controlplane.resources.models import Resource

SECRET = "whsec-test-0123456789abcdef"
Delivery = tuple[dict[str, str], bytes]


class Receiver:
    """A real HTTP server on a free loopback port that records what it is sent."""

    def __init__(self, status: int) -> None:
        self.deliveries: queue.Queue[Delivery] = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.deliveries.put((dict(self.headers), body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/gatehouse"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next(self) -> tuple[dict[str, str], dict[str, Any], bytes]:
        headers, body = self.deliveries.get(timeout=10)
        return headers, json.loads(body), body


@pytest.fixture
def receiver_with(settings: Any) -> Iterator[Callable[[int], Receiver]]:
    started: list[Receiver] = []

    def start(status: int = 204) -> Receiver:
        receiver = Receiver(status)
        settings.GATEHOUSE_WEBHOOK_URL, settings.GATEHOUSE_WEBHOOK_SECRET = receiver.url, SECRET
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.server.shutdown()
        receiver.server.server_close()


def _ask(alice: User, appdb: Resource) -> AccessRequest:
    return access_request_create(
        actor=alice, resource=appdb, duration=timedelta(minutes=2), reason="INC-7 <!channel>"
    )


def _join_webhook_threads() -> None:
    for thread in threading.enumerate():
        if thread.name == "webhook":
            thread.join(timeout=10)


def test_a_new_request_and_its_approval_are_posted_signed_and_slack_compatible(
    appdb_policy: Policy, developer_alice: User, erin: User, appdb: Resource,
    receiver_with: Callable[[int], Receiver], django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    receiver = receiver_with(204)
    with django_capture_on_commit_callbacks(execute=True):
        request = _ask(developer_alice, appdb)
    headers, created, raw = receiver.next()
    assert webhook_signature_valid(
        secret=SECRET,
        timestamp=headers["X-Gatehouse-Timestamp"],
        body=raw,
        signature=headers["X-Gatehouse-Signature"],
    )
    assert not webhook_signature_valid(
        secret="someone-elses-secret", timestamp=headers["X-Gatehouse-Timestamp"],
        body=raw, signature=headers["X-Gatehouse-Signature"],
    )  # fmt: skip
    assert created["gatehouse"]["event"] == "access_request.created"
    assert created["gatehouse"]["request_id"] == str(request.pk)
    assert "alice requests *appdb* (read-only)" in created["text"]
    assert "&lt;!channel&gt;" in created["text"]  # a reason cannot ping the channel
    assert created["blocks"][0]["text"]["type"] == "mrkdwn"

    with django_capture_on_commit_callbacks(execute=True):
        access_request_approve(actor=erin, request=request, comment="go ahead")
    _, approved, _ = receiver.next()
    assert approved["gatehouse"]["event"] == "access_request.approved"
    assert approved["gatehouse"]["actor"] == "erin"
    assert approved["gatehouse"]["grant_id"] == str(request.grant.pk)
    assert SECRET not in json.dumps(approved)


def test_a_failing_receiver_is_logged_and_the_decision_stands(
    appdb_policy: Policy, developer_alice: User, appdb: Resource,
    receiver_with: Callable[[int], Receiver], django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    receiver = receiver_with(500)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        request = _ask(developer_alice, appdb)
    receiver.next()
    _join_webhook_threads()
    assert AccessRequest.objects.get(pk=request.pk).status == "pending"
    assert "webhook not delivered" in caplog.text and "HTTP 500" in caplog.text


def test_nothing_is_sent_when_the_transaction_rolls_back(
    appdb_policy: Policy, developer_alice: User, appdb: Resource,
    receiver_with: Callable[[int], Receiver], django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    receiver = receiver_with(204)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _ask(developer_alice, appdb)
        raise RuntimeError("the caller's transaction fails after the request")
    assert callbacks == [] and receiver.deliveries.empty()
    assert not AccessRequest.objects.exists()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GATEHOUSE_WEBHOOK_URL": "https://hooks.example/x"}, "SECRET"),
        (
            {"GATEHOUSE_WEBHOOK_URL": "ftp://hooks.example/x", "GATEHOUSE_WEBHOOK_SECRET": SECRET},
            "http",
        ),
    ],
)
def test_a_webhook_url_without_a_secret_or_of_another_scheme_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=message):
        webhook_from_env()

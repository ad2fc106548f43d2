"""Signing and posting webhook messages.

A message is Slack-compatible JSON (``text`` and ``blocks``) plus a ``gatehouse`` object
with ids for machines. Receivers verify ``X-Gatehouse-Signature: sha256=<hex>``, the
HMAC-SHA256 under the shared secret of ``<X-Gatehouse-Timestamp>.<body>``: binding the
timestamp into the MAC lets them refuse replays of old messages (reject timestamps more
than a few minutes away from their clock).
"""

from __future__ import annotations

import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

SIGNATURE_HEADER = "X-Gatehouse-Signature"
TIMESTAMP_HEADER = "X-Gatehouse-Timestamp"
TIMEOUT_SECONDS = 5.0


class WebhookDeliveryFailed(Exception):
    """The receiver could not be reached or answered with an error status."""


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Gatehouse-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, "sha256")
    return f"sha256={mac.hexdigest()}"


def webhook_signature_valid(*, secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does: compare in constant time."""
    expected = webhook_signature(secret=secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected, signature)


def webhook_post(*, url: str, secret: str, message: Mapping[str, Any]) -> int:
    """POST ``message`` signed to ``url``; returns the HTTP status or raises
    WebhookDeliveryFailed. Redirects are not followed (a 3xx counts as a failure)."""
    body = json.dumps(message, separators=(",", ":"), sort_keys=True).encode("utf-8")
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "gatehouse-webhook/1",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: webhook_signature(secret=secret, timestamp=timestamp, body=body),
        },
    )
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise WebhookDeliveryFailed(f"{url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise WebhookDeliveryFailed(f"{url}: {exc}") from None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)

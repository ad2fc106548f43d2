"""Webhook delivery as a Celery task, and the one call services make to send one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from controlplane.jobs.app import app
from controlplane.jobs.webhooks import WebhookDeliveryFailed, webhook_post

logger = logging.getLogger(__name__)

WEBHOOK_MAX_RETRIES = 5


@app.task(
    bind=True,
    name="controlplane.jobs.notifications.webhook_deliver",
    max_retries=WEBHOOK_MAX_RETRIES,
)
def webhook_deliver(self: Any, message: dict[str, Any]) -> None:
    """POST one notification; retried with backoff, then logged and dropped."""
    url, secret = settings.GATEHOUSE_WEBHOOK_URL, settings.GATEHOUSE_WEBHOOK_SECRET
    if not url:
        return
    try:
        webhook_post(url=url, secret=secret, message=message)
    except WebhookDeliveryFailed as exc:
        if self.request.is_eager or self.request.retries >= WEBHOOK_MAX_RETRIES:
            logger.warning("webhook not delivered: %s", exc)
            return
        raise self.retry(countdown=2**self.request.retries * 5) from exc


def webhook_enqueue(message: Mapping[str, Any]) -> None:
    """Send ``message`` to the webhook, if one is configured, without waiting for it.

    The message is built by the caller (from committed data) rather than refetched by the
    task: it describes the moment of the decision, and an eager run on a thread need not
    touch the database. With a real broker the worker retries; eagerly, one try is made
    on a short-lived thread and a failure is logged.
    """
    if not settings.GATEHOUSE_WEBHOOK_URL:
        return
    if settings.CELERY_TASK_ALWAYS_EAGER:
        thread = threading.Thread(
            target=webhook_deliver.apply, args=((dict(message),),), name="webhook", daemon=True
        )
        thread.start()
        return
    try:
        webhook_deliver.delay(dict(message))
    except Exception:  # a broker outage must not fail a committed decision
        logger.exception("webhook not queued")

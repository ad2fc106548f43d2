"""Reading the webhook settings from the environment (called by controlplane.settings)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from controlplane.config.env import env_secret, env_str


def webhook_from_env() -> tuple[str, str]:
    """``(GATEHOUSE_WEBHOOK_URL, GATEHOUSE_WEBHOOK_SECRET)``; both empty when webhooks are
    off. A URL needs a secret (receivers must be able to verify what they get)."""
    url = env_str("GATEHOUSE_WEBHOOK_URL").strip()
    secret = env_secret("GATEHOUSE_WEBHOOK_SECRET")
    if not url:
        return "", ""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ImproperlyConfigured(f"GATEHOUSE_WEBHOOK_URL must be an http(s) URL, not {url!r}")
    if len(secret) < 16:
        raise ImproperlyConfigured(
            "GATEHOUSE_WEBHOOK_SECRET (or _FILE) of at least 16 characters is required "
            "when GATEHOUSE_WEBHOOK_URL is set"
        )
    return url, secret

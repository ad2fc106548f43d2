"""Reading the job settings from the environment (called by controlplane.settings): the
webhook, the broker's transport options, the housekeeping interval."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from controlplane.config.env import env_int, env_secret, env_str


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


def broker_transport_options(broker_url: str) -> dict[str, str]:
    """Kombu transport options the broker URL implies.

    ``filesystem:///abs/dir`` is a broker that needs no server (``make run`` uses it): every
    process that sends or runs tasks reads and writes messages as files in ``dir/queue``,
    so producers and the worker must agree on that one folder; the URL carries it so that
    one variable configures both sides.
    """
    parts = urlsplit(broker_url)
    if parts.scheme != "filesystem":
        return {}
    if not parts.path.startswith("/") or parts.path == "/":
        raise ImproperlyConfigured(
            "GATEHOUSE_CELERY_BROKER_URL filesystem:// needs an absolute folder, "
            f"e.g. filesystem:///var/lib/gatehouse/broker, not {broker_url!r}"
        )
    folder = Path(parts.path)
    for sub in ("queue", "control", "processed"):
        (folder / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "processed_folder": str(folder / "processed"),
    }


def housekeeping_interval_from_env() -> float:
    """``GATEHOUSE_HOUSEKEEPING_INTERVAL_SECONDS``: how often beat runs housekeeping."""
    return float(env_int("GATEHOUSE_HOUSEKEEPING_INTERVAL_SECONDS", 30, minimum=1, maximum=3600))

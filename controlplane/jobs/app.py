"""The Celery application: ``celery -A controlplane.jobs.app worker --beat``."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")

app = Celery("gatehouse", include=["controlplane.jobs.tasks", "controlplane.jobs.notifications"])
# CELERY_* settings from controlplane.settings (broker, eager mode, beat schedule).
app.config_from_object("django.conf:settings", namespace="CELERY")

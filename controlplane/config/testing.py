"""Throwaway keys for test runs.

pytest-django imports the settings while pytest starts, before any ``conftest.py`` runs,
so a conftest cannot put keys into the environment in time. Under pytest only, keys that
are unset get throwaway values here; a developer's or CI's own values still win, and any
other process (manage.py, uvicorn) keeps failing loudly without them.
"""

from __future__ import annotations

import os
import sys

from cryptography.fernet import Fernet


def running_under_pytest_django() -> bool:
    return "pytest_django" in sys.modules


def test_key_defaults_apply() -> None:
    """Give unset GATEHOUSE_SECRET_KEY / GATEHOUSE_ENCRYPTION_KEY throwaway values."""
    if not os.environ.get("GATEHOUSE_SECRET_KEY_FILE"):
        os.environ.setdefault("GATEHOUSE_SECRET_KEY", "tests-only-" + os.urandom(24).hex())
    if not os.environ.get("GATEHOUSE_ENCRYPTION_KEY_FILE"):
        os.environ.setdefault("GATEHOUSE_ENCRYPTION_KEY", Fernet.generate_key().decode("ascii"))

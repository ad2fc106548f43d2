"""Static files (htmx, the console's script) served by the app process through WhiteNoise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, quiet about an uncollected ``STATIC_ROOT``: with
    ``WHITENOISE_USE_FINDERS`` the files come from the apps and ``STATICFILES_DIRS``, so
    running without ``collectstatic`` is normal, not worth a warning at every start."""

    def add_files(self, root: Any, prefix: str | None = None) -> None:
        if Path(root) == Path(settings.STATIC_ROOT) and not Path(root).is_dir():
            return
        super().add_files(root, prefix)

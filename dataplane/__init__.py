"""Gatehouse data plane: asyncio agents that proxy protocols near the resources.

Never imports Django or the control plane (checked by import-linter)."""

__version__ = "0.1.0"

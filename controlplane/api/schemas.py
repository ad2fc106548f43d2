"""OpenAPI descriptions for views written once for several kinds (scoped rules, held work):
each concrete subclass gets its own operations, named by its ``operations`` prefix."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_view
from rest_framework.views import APIView


class KindApi(APIView):
    """A view shared by several kinds. A subclass that names ``operations`` (the kind's
    operation prefix) is described by what its ``schemas()`` returns: method name ->
    ``extend_schema(...)``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if hasattr(cls, "operations"):
            extend_schema_view(**cls.schemas())(cls)

    @classmethod
    def schemas(cls) -> dict[str, Any]:
        return {}

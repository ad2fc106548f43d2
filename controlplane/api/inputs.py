"""Validating request input with a serializer, the one way every API view does it."""

from __future__ import annotations

from typing import Any

from rest_framework.serializers import Serializer


def validated_input(
    serializer_class: type[Serializer[Any]], data: Any, *, partial: bool = False
) -> dict[str, Any]:
    """``data`` checked by ``serializer_class`` (only the fields given when ``partial``);
    raises DRF's ValidationError (400)."""
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)

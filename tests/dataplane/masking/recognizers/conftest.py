"""Find entities with the real registry and the pure-Python scanner (present everywhere)."""

from collections.abc import Callable

import pytest

from dataplane.masking.engine import MaskingEngine
from dataplane.masking.recognizers import RECOGNIZERS
from dataplane.masking.scanner import PythonScanner

Found = Callable[[str], list[tuple[str, str]]]


@pytest.fixture(scope="session")
def found() -> Found:
    """(entity, exact matched text) for every span the engine keeps in a text."""
    engine = MaskingEngine(RECOGNIZERS, scanner=PythonScanner(RECOGNIZERS))

    def spans(text: str) -> list[tuple[str, str]]:
        return [(s.entity, text[s.start : s.end]) for s in engine.scan(text)]

    return spans

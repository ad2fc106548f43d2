"""Find entities with the real registry, through every scanner that runs here.

The pure-Python scanner runs everywhere; the Hyperscan one joins where `hyperscan`
imports, so every entity and hard-negative test also checks the two agree.
"""

from collections.abc import Callable

import pytest

from dataplane.masking.engine import MaskingEngine
from dataplane.masking.recognizers import RECOGNIZERS
from dataplane.masking.scanner import HyperscanScanner, PythonScanner, Scanner, hyperscan_available

Found = Callable[[str], list[tuple[str, str]]]


def _scanners() -> list[str]:
    return ["python", "hyperscan"] if hyperscan_available() else ["python"]


def _scanner(kind: str) -> Scanner:
    if kind == "hyperscan":
        return HyperscanScanner(RECOGNIZERS)
    return PythonScanner(RECOGNIZERS)


@pytest.fixture(scope="session", params=_scanners())
def found(request: pytest.FixtureRequest) -> Found:
    """(entity, exact matched text) for every span the engine keeps in a text."""
    engine = MaskingEngine(RECOGNIZERS, scanner=_scanner(request.param))

    def spans(text: str) -> list[tuple[str, str]]:
        return [(s.entity, text[s.start : s.end]) for s in engine.scan(text)]

    return spans

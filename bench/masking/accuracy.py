"""`python -m bench masking-accuracy`: precision and recall per entity, Gatehouse vs Presidio.

Both engines read the same seeded corpus (bench/masking/corpus.py). A labelled span counts as
found when a predicted span of the same entity overlaps it; a predicted span that overlaps no
label of its entity is a false positive. Hard negatives carry no labels, so every span found
in them is a false mask, reported per 100 KB of text. Presidio runs only its predefined
pattern recognizers behind a no-op NLP engine, so no model is downloaded.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bench.masking.corpus import CORPUS_VERSION, ENTITIES, hard_negatives, positives

SEED = 5
PER_ENTITY = 200
NEGATIVE_BYTES = 200_000
RESULTS = Path(__file__).resolve().parent.parent / "results"

# Presidio has no DATE_OF_BIRTH; its DATE_TIME recognizer is the nearest and is scored as such.
PRESIDIO_ENTITY = {"DATE_TIME": "DATE_OF_BIRTH"}

Span = tuple[str, int, int]
Scan = Callable[[str], list[Span]]


def gatehouse_scan() -> Scan:
    from dataplane.masking.engine import MaskingEngine

    engine = MaskingEngine()
    return lambda text: [(s.entity, s.start, s.end) for s in engine.scan(text)]


def presidio_analyzer() -> Any:
    """An AnalyzerEngine over the predefined pattern recognizers only, with a no-op NLP engine."""
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""  # never fetch the suffix list
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        DateRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        MacAddressRecognizer,
        PhoneRecognizer,
        UrlRecognizer,
        UsItinRecognizer,
        UsLicenseRecognizer,
        UsPassportRecognizer,
        UsSsnRecognizer,
    )

    class NoOpNlpEngine(NlpEngine):  # type: ignore[misc]
        """No tokens, no lemmas, no entities: pattern recognizers only, no spaCy model."""

        def load(self) -> None:
            return None

        def is_loaded(self) -> bool:
            return True

        def process_text(self, text: str, language: str) -> NlpArtifacts:
            return NlpArtifacts([], [], [], [], self, language)

        def process_batch(self, texts: Iterable[str], language: str, **_: Any) -> Any:
            return ((text, self.process_text(text, language)) for text in texts)

        def is_stopword(self, word: str, language: str) -> bool:
            return False

        def is_punct(self, word: str, language: str) -> bool:
            return False

        def get_supported_entities(self) -> list[str]:
            return []

        def get_supported_languages(self) -> list[str]:
            return ["en"]

    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (
        CreditCardRecognizer, DateRecognizer, EmailRecognizer, IbanRecognizer, IpRecognizer,
        MacAddressRecognizer, PhoneRecognizer, UrlRecognizer, UsItinRecognizer,
        UsLicenseRecognizer, UsPassportRecognizer, UsSsnRecognizer,
    ):  # fmt: skip
        registry.add_recognizer(recognizer())
    return AnalyzerEngine(registry=registry, nlp_engine=NoOpNlpEngine(), supported_languages=["en"])


def presidio_scan() -> Scan:
    analyzer = presidio_analyzer()

    def scan(text: str) -> list[Span]:
        results = analyzer.analyze(text=text, language="en")
        return [
            (PRESIDIO_ENTITY.get(r.entity_type, r.entity_type), r.start, r.end) for r in results
        ]

    return scan


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def score(scan: Scan, corpus: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per entity: labels, found, predicted, true positives, precision, recall."""
    found: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    for record in corpus:
        gold = [(s["entity"], s["start"], s["end"]) for s in record["spans"]]
        spans = scan(record["text"])
        for label in gold:
            labels[label[0]] += 1
            found[label[0]] += any(_overlaps(label, s) for s in spans)
        for span in spans:
            predicted[span[0]] += 1
            correct[span[0]] += any(_overlaps(span, g) for g in gold)
    return {
        e: _ratios(labels[e], found[e], predicted[e], correct[e])
        for e in sorted(set(labels) | set(predicted))
    }


def _ratios(labels: int, found: int, predicted: int, correct: int) -> dict[str, float]:
    return {
        "labels": labels,
        "predicted": predicted,
        "precision": correct / predicted if predicted else (1.0 if not labels else 0.0),
        "recall": found / labels if labels else 1.0,
    }


def false_masks(scan: Scan, negatives: list[dict[str, Any]]) -> dict[str, Any]:
    """Spans found in the hard negatives, per 100 KB of their UTF-8 text, with examples."""
    size = sum(len(r["text"].encode()) for r in negatives)
    hits = [(e, r["text"][s:t]) for r in negatives for e, s, t in scan(r["text"])]
    by_entity = Counter(e for e, _ in hits)
    return {
        "bytes": size,
        "false_masks": len(hits),
        "per_100kb": len(hits) * 100_000 / size,
        "by_entity": dict(by_entity),
        "examples": hits[:20],
    }


def misses(scan: Scan, corpus: list[dict[str, Any]], limit: int = 5) -> dict[str, list[str]]:
    """Per entity, a few labelled values the engine did not find, for the recognizer owners."""
    out: dict[str, list[str]] = {}
    for record in corpus:
        spans = scan(record["text"])
        for s in record["spans"]:
            label = (s["entity"], s["start"], s["end"])
            if (
                not any(_overlaps(label, p) for p in spans)
                and len(out.setdefault(s["entity"], [])) < limit
            ):
                out[s["entity"]].append(record["text"][max(0, s["start"] - 30) : s["end"] + 10])
    return out


def _table(ours: dict[str, dict[str, float]], theirs: dict[str, dict[str, float]]) -> str:
    rows = [f"{'entity':<20} {'gh P':>6} {'gh R':>6} {'pr P':>6} {'pr R':>6}  better"]
    for entity in ENTITIES:
        g, p = ours.get(entity, _ratios(0, 0, 0, 0)), theirs.get(entity, _ratios(0, 0, 0, 0))
        better = g["precision"] >= p["precision"] and g["recall"] >= p["recall"]
        rows.append(
            f"{entity:<20} {g['precision']:6.3f} {g['recall']:6.3f} "
            f"{p['precision']:6.3f} {p['recall']:6.3f}  {'yes' if better else 'NO'}"
        )
    return "\n".join(rows)


def main() -> dict[str, Any]:
    corpus = list(positives(SEED, PER_ENTITY))
    negatives = list(hard_negatives(SEED, NEGATIVE_BYTES))
    ours, theirs = gatehouse_scan(), presidio_scan()
    result = {
        "benchmark": "masking-accuracy",
        "format_version": 1,
        "corpus_version": CORPUS_VERSION,
        "seed": SEED,
        "records": len(corpus),
        "presidio_threshold": 0.0,  # Presidio's shipped default score threshold
        "gatehouse": {
            "per_entity": score(ours, corpus),
            "hard_negatives": false_masks(ours, negatives),
        },
        "presidio": {
            "per_entity": score(theirs, corpus),
            "hard_negatives": false_masks(theirs, negatives),
        },
        "gatehouse_misses": misses(ours, corpus),
    }
    print(_table(result["gatehouse"]["per_entity"], result["presidio"]["per_entity"]))
    for name in ("gatehouse", "presidio"):
        neg = result[name]["hard_negatives"]
        print(
            f"{name}: {neg['false_masks']} false masks in {neg['bytes']} B"
            f" = {neg['per_100kb']:.2f} per 100 KB"
        )
    _write(result)
    return result


def _write(result: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"masking-accuracy-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

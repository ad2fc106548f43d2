"""`python -m bench masking-speed`: scan MB/s on one core, hyperscan vs Python fallback vs Presidio.

Two workloads from the seeded corpus generator: realistic result rows (one text per row, the
way DataRow values reach the engine, with a PII column now and then) and prose paragraphs.
Each scanner runs single-threaded in this process, so MB/s is per core. Presidio is timed on
a smaller slice of the same texts (it is orders of magnitude slower) and scaled by bytes.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

from faker import Faker

from bench.masking.accuracy import RESULTS, presidio_analyzer
from bench.masking.corpus import CorpusBuilder

SEED = 5
TARGET_BYTES = 4_000_000
PRESIDIO_BYTES = 200_000


def result_rows(seed: int, target: int) -> list[str]:
    """Tab-joined customer rows: id, name, email, phone, city, timestamp, amount, note."""
    fake, rng = Faker("en_US"), random.Random(seed)
    fake.seed_instance(seed)
    rows: list[str] = []
    size = 0
    while size < target:
        amount = f"{rng.randint(1, 99999)}.{rng.randint(0, 99):02d}"
        note = fake.sentence() if rng.random() < 0.5 else fake.credit_card_number()
        when = fake.date_time_this_decade().isoformat()
        row = [str(rng.randint(1, 10**7)), fake.name(), fake.email(), fake.phone_number()]
        rows.append("\t".join([*row, fake.city(), when, amount, note]))
        size += len(rows[-1])
    return rows


def prose(seed: int, target: int) -> list[str]:
    """Paragraphs of about 1 KB, one in four carrying a labelled value from the corpus."""
    fake, builder, rng = Faker("en_US"), CorpusBuilder(seed), random.Random(seed)
    fake.seed_instance(seed)
    texts: list[str] = []
    size = 0
    while size < target:
        text = fake.paragraph(nb_sentences=12)
        if rng.random() < 0.25:
            text += " " + str(
                builder.positive(rng.choice(["EMAIL_ADDRESS", "US_SSN", "CREDIT_CARD"]))["text"]
            )
        texts.append(text)
        size += len(text)
    return texts


def measure(scan: Callable[[str], object], texts: list[str]) -> dict[str, float]:
    """Best of three passes (the machine is shared), in MB/s of UTF-8 text."""
    size = sum(len(t.encode()) for t in texts)
    best = min(_timed(scan, texts) for _ in range(3))
    return {"bytes": size, "seconds": best, "mb_per_s": size / best / 1e6}


def _timed(scan: Callable[[str], object], texts: list[str]) -> float:
    start = time.process_time()  # CPU time of this process: per core, not wall clock
    for text in texts:
        scan(text)
    return time.process_time() - start


def scanners() -> dict[str, Callable[[str], object]]:
    from dataplane.masking.engine import MaskingEngine
    from dataplane.masking.recognizers import RECOGNIZERS
    from dataplane.masking.scanner import PythonScanner

    out: dict[str, Callable[[str], object]] = {}
    try:
        from dataplane.masking.scanner import HyperscanScanner

        out["hyperscan"] = MaskingEngine(scanner=HyperscanScanner(RECOGNIZERS)).scan
    except ImportError as error:  # hyperscan missing on this machine: report it, keep going
        print(f"hyperscan unavailable: {error}")
    out["python-fallback"] = MaskingEngine(scanner=PythonScanner(RECOGNIZERS)).scan
    analyzer = presidio_analyzer()
    out["presidio"] = lambda text: analyzer.analyze(text=text, language="en")
    return out


def _slice(texts: list[str], limit: int) -> list[str]:
    out: list[str] = []
    size = 0
    for text in texts:
        if size >= limit:
            break
        out.append(text)
        size += len(text)
    return out


def main() -> dict[str, Any]:
    workloads = {"result-rows": result_rows(SEED, TARGET_BYTES), "prose": prose(SEED, TARGET_BYTES)}
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for name, scan in scanners().items():
        limit = PRESIDIO_BYTES if name == "presidio" else TARGET_BYTES
        figures[name] = {w: measure(scan, _slice(texts, limit)) for w, texts in workloads.items()}
        print(
            f"{name:<16} "
            + "  ".join(f"{w}: {f['mb_per_s']:8.2f} MB/s" for w, f in figures[name].items())
        )
    result = {"benchmark": "masking-speed", "format_version": 1, "seed": SEED, "per_core": figures}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"masking-speed-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()

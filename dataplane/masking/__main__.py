"""`python -m dataplane.masking scan|mask [--config FILE]` over JSON lines on stdin.

Each input line is `{"text": ...}`. `scan` writes `{"spans": [...]}` (character offsets),
`mask` writes `{"text": ...}`. A bad line gets `{"error": ...}` and processing continues.

Config file (JSON, versioned):
    {"version": 1, "min_score": 0.5,
     "policy": {"default": "redact", "per_entity": {"EMAIL_ADDRESS": "hash"}, "key": "<hex>"},
     "custom": {"regexes": [{"entity": "...", "name": "...", "pattern": "...", "score": 0.9}],
                "deny_list": ["..."], "column_rules": {...}, "json_key_rules": {...}}}
"""

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dataplane.masking.custom import CustomRules
from dataplane.masking.engine import MaskingEngine
from dataplane.masking.recognizer import Recognizer
from dataplane.masking.strategies import MaskingPolicy, Strategy

CONFIG_VERSION = 1


def policy_from(config: dict[str, Any]) -> MaskingPolicy:
    per_entity = {e: Strategy(k) for e, k in config.get("per_entity", {}).items()}
    key = bytes.fromhex(config.get("key", ""))
    return MaskingPolicy(Strategy(config.get("default", "redact")), per_entity, key)


def custom_from(config: dict[str, Any]) -> CustomRules:
    regexes = [Recognizer(**r) for r in config.get("regexes", [])]
    return CustomRules(
        regexes,
        list(config.get("deny_list", [])),
        dict(config.get("column_rules", {})),
        dict(config.get("json_key_rules", {})),
    )


def load_config(path: str | None) -> dict[str, Any]:
    if path is None:
        return {"version": CONFIG_VERSION}
    config: dict[str, Any] = json.loads(Path(path).read_text())
    if config.get("version") != CONFIG_VERSION:
        raise SystemExit(f"unsupported masking config version {config.get('version')!r}")
    return config


def line_handler(command: str, config: dict[str, Any]) -> Callable[[str], dict[str, Any]]:
    custom = custom_from(config.get("custom", {}))
    engine = MaskingEngine(custom=custom, min_score=float(config.get("min_score", 0.5)))
    policy = policy_from(config.get("policy", {}))

    def scan(text: str) -> dict[str, Any]:
        spans = engine.scan(text)
        keys = ("entity", "start", "end", "score")
        return {"spans": [{k: getattr(s, k) for k in keys} for s in spans]}

    def mask(text: str) -> dict[str, Any]:
        return {"text": engine.mask(text, policy).text}

    return scan if command == "scan" else mask


def input_text(line: bytes) -> str:
    record = json.loads(line.decode("utf-8"))
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError('expected a JSON object {"text": "..."}')
    return str(record["text"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dataplane.masking")
    parser.add_argument("command", choices=["scan", "mask"])
    parser.add_argument("--config")
    args = parser.parse_args(argv)
    handle = line_handler(args.command, load_config(args.config))
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        try:
            out = handle(input_text(line))
        except ValueError as error:  # bad JSON, bad UTF-8 or not {"text": str}
            out = {"error": str(error)}
        except Exception as error:  # a detection bug: report it, never echo the text
            out = {"error": f"masking failed: {type(error).__name__}"}
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

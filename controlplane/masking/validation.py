"""Checking a masking profile before it is stored: every name an agent will read must be
one it knows. An agent refuses a snapshot with an unknown strategy (fail closed), so a
bad policy caught here is an error for the administrator instead of an outage for every
session on the agent."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from dataplane.contract import MaskingFailure
from dataplane.contract.masking import (
    BUILTIN_ENTITIES,
    CUSTOM_PATTERN_VALIDATORS,
    DENY_LIST_ENTITY,
    STRATEGIES,
    pattern_problem,
)

# A custom entity's name: like the built-in ones (CREDIT_CARD, US_SSN).
ENTITY_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,62}")
CUSTOM_PATTERN_KEYS = frozenset(
    {"name", "entity", "regex", "score", "validator", "context", "context_required"}
)
MAX_DENY_TERM = 200

Errors = dict[str, list[str]]


def masking_profile_errors(profile: Mapping[str, Any]) -> Errors:
    """Problems with the profile fields of a policy (``MaskingPolicy`` field names), by
    field; empty when it is sound."""
    errors: Errors = {}
    patterns = profile.get("custom_patterns", [])
    _add(errors, "custom_patterns", custom_pattern_problems(patterns))
    known = {*BUILTIN_ENTITIES, DENY_LIST_ENTITY, *_custom_entities(patterns)}
    _add(errors, "default_strategy", _strategy_problems([profile.get("default_strategy")]))
    strategies = profile.get("strategies", {})
    _add(errors, "strategies", _entity_problems(_keys(strategies), known))
    _add(errors, "strategies", _strategy_problems(_values(strategies)))
    _add(errors, "entities", _entity_problems(profile.get("entities", []), known))
    for field in ("column_rules", "json_key_rules"):
        rules = profile.get(field, {})
        _add(errors, field, _rule_key_problems(rules))
        _add(errors, field, _entity_problems(_values(rules), known))
    _add(errors, "deny_list", _deny_list_problems(profile.get("deny_list", [])))
    if profile.get("on_failure") not in {f.value for f in MaskingFailure}:
        _add(errors, "on_failure", [f"must be one of {sorted(f.value for f in MaskingFailure)}"])
    return errors


def custom_pattern_problems(patterns: Any) -> list[str]:
    """Each pattern is an object of CustomPattern's fields whose regex Python compiles."""
    if not isinstance(patterns, list):
        return ["must be a list"]
    problems: list[str] = []
    names: set[str] = set()
    for index, pattern in enumerate(patterns):
        problems += [f"[{index}] {p}" for p in _pattern_problems(pattern)]
        name = pattern.get("name") if isinstance(pattern, dict) else None
        if name in names:
            problems.append(f"[{index}] the name {name!r} appears twice")
        names.add(name)
    return problems


def _pattern_problems(pattern: Any) -> list[str]:
    if not isinstance(pattern, dict):
        return ["must be an object"]
    problems = [f"unknown field {key!r}" for key in sorted(set(pattern) - CUSTOM_PATTERN_KEYS)]
    problems += [f"{key} is required" for key in ("name", "entity", "regex") if key not in pattern]
    if not isinstance(pattern.get("name", ""), str) or not pattern.get("name", "x"):
        problems.append("name must be a non-empty string")
    entity = pattern.get("entity", "X")
    if not isinstance(entity, str) or not ENTITY_NAME.fullmatch(entity):
        problems.append(f"entity {entity!r} must be UPPER_CASE letters, digits and _")
    problems += _regex_problems(pattern.get("regex", ""))
    score = pattern.get("score", 0.8)
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 < score <= 1:
        problems.append("score must be a number in (0, 1]")
    if pattern.get("validator", "") not in ("", *CUSTOM_PATTERN_VALIDATORS):
        problems.append(f"validator must be one of {list(CUSTOM_PATTERN_VALIDATORS)} or empty")
    context = pattern.get("context", [])
    if not isinstance(context, list) or not all(isinstance(w, str) for w in context):
        problems.append("context must be a list of words")
    if not isinstance(pattern.get("context_required", False), bool):
        problems.append("context_required must be true or false")
    return problems


def _regex_problems(regex: Any) -> list[str]:
    if not isinstance(regex, str) or not regex:
        return ["regex must be a non-empty string"]
    # The agent's own rule: what it would refuse (and redact everything for) is refused here.
    problem = pattern_problem(regex)
    return [problem] if problem else []


def _custom_entities(patterns: Any) -> set[str]:
    if not isinstance(patterns, list):
        return set()
    return {
        p["entity"] for p in patterns if isinstance(p, dict) and isinstance(p.get("entity"), str)
    }


def _strategy_problems(values: Sequence[Any]) -> list[str]:
    return [
        f"unknown strategy {v!r} (one of {list(STRATEGIES)})" for v in values if v not in STRATEGIES
    ]


def _entity_problems(names: Any, known: set[str]) -> list[str]:
    if not isinstance(names, list):
        return ["must be a list"]
    return [f"unknown entity {name!r}" for name in names if name not in known]


def _rule_key_problems(rules: Any) -> list[str]:
    if not isinstance(rules, dict):
        return []  # _keys/_values report the shape
    return [f"rule {key!r} must be a non-empty name" for key in rules if not str(key).strip()]


def _deny_list_problems(terms: Any) -> list[str]:
    if not isinstance(terms, list):
        return ["must be a list"]
    return [
        f"term {term!r} must be non-empty text of at most {MAX_DENY_TERM} characters"
        for term in terms
        if not isinstance(term, str) or not term.strip() or len(term) > MAX_DENY_TERM
    ]


def _keys(mapping: Any) -> list[Any]:
    return list(mapping) if isinstance(mapping, dict) else [f"<not an object: {mapping!r}>"]


def _values(mapping: Any) -> list[Any]:
    return list(mapping.values()) if isinstance(mapping, dict) else []


def _add(errors: Errors, field: str, problems: list[str]) -> None:
    if problems:
        errors.setdefault(field, []).extend(problems)

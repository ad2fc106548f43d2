"""A guardrail policy as a versioned JSON document, for snapshots, the API and simulation files.

    {"format_version": 1, "unparseable": "deny", "max_rows": 10000,
     "trusted_procedures": ["refresh_totals"],
     "rules": [{"kind": "deny_statements", "name": "no-drop", "verdict": "deny",
                "classes": ["drop"]},
               {"kind": "relation_access", "name": "no-hr", "deny": ["hr.*"],
                "search_path": ["public"]}]}

Unknown kinds, keys and versions are refused with a message: a policy that cannot be read
must not become a weaker one.
"""

from __future__ import annotations

from typing import Any

from dataplane.guardrails.rules import (
    Decision,
    DeniedFunctions,
    DenyStatements,
    GuardrailPolicy,
    ReadOnly,
    RelationAccess,
    RelationPattern,
    Rule,
    WhereRequired,
)

FORMAT_VERSION = 1
_KINDS: dict[str, type[Rule]] = {
    "deny_statements": DenyStatements,
    "read_only": ReadOnly,
    "where_required": WhereRequired,
    "relation_access": RelationAccess,
    "denied_functions": DeniedFunctions,
}
_KIND_OF = {cls: kind for kind, cls in _KINDS.items()}
_POLICY_KEYS = {"format_version", "rules", "unparseable", "max_rows", "trusted_procedures"}


def policy_from_document(document: dict[str, Any]) -> GuardrailPolicy:
    """Read a policy document; raises ValueError naming what is wrong."""
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"guardrail policy format_version {version!r} is not {FORMAT_VERSION}")
    _refuse_unknown_keys("guardrail policy", document, _POLICY_KEYS)
    return GuardrailPolicy(
        rules=tuple(_rule_from(item) for item in document.get("rules", [])),
        unparseable=Decision(document.get("unparseable", "deny")),
        max_rows=document.get("max_rows"),
        trusted_procedures=frozenset(document.get("trusted_procedures", [])),
    )


def policy_to_document(policy: GuardrailPolicy) -> dict[str, Any]:
    """The document `policy_from_document` reads back to an equal policy."""
    return {
        "format_version": FORMAT_VERSION,
        "unparseable": policy.unparseable.value,
        "max_rows": policy.max_rows,
        "trusted_procedures": sorted(policy.trusted_procedures),
        "rules": [_rule_to(rule) for rule in policy.rules],
    }


def _rule_from(item: dict[str, Any]) -> Rule:
    kind = item.get("kind")
    if kind not in _KINDS:
        raise ValueError(f"guardrail rule kind {kind!r} is unknown; choose from {list(_KINDS)}")
    fields = {k: v for k, v in item.items() if k != "kind"}
    allowed = {"name", "verdict", *_LIST_FIELDS.get(kind, ())}
    _refuse_unknown_keys(f"guardrail rule {item.get('name')!r}", fields, allowed)
    fields["verdict"] = Decision(fields.get("verdict", "deny"))
    if kind == "deny_statements":
        fields["classes"] = frozenset(fields.get("classes", []))
        fields["parameters"] = frozenset(p.lower() for p in fields.get("parameters", []))
    elif kind == "relation_access":
        fields["deny"] = tuple(RelationPattern.parse(p) for p in fields.get("deny", []))
        if fields.get("allow") is not None:
            fields["allow"] = tuple(RelationPattern.parse(p) for p in fields["allow"])
        if fields.get("search_path") is not None:
            fields["search_path"] = tuple(fields["search_path"])
    elif kind == "denied_functions" and "functions" in fields:
        fields["functions"] = tuple(fields["functions"])
    rule: Rule = _KINDS[kind](**fields)
    return rule


_LIST_FIELDS = {
    "deny_statements": ("classes", "parameters"),
    "relation_access": ("deny", "allow", "search_path"),
    "denied_functions": ("functions",),
}


def _rule_to(rule: Rule) -> dict[str, Any]:
    document: dict[str, Any] = {"kind": _KIND_OF[type(rule)], "name": rule.name}
    document["verdict"] = Decision(rule.verdict).value
    if isinstance(rule, DenyStatements):
        document["classes"] = sorted(rule.classes)
        document["parameters"] = sorted(rule.parameters)
    elif isinstance(rule, RelationAccess):
        document["deny"] = [_pattern_text(p) for p in rule.deny]
        document["allow"] = None if rule.allow is None else [_pattern_text(p) for p in rule.allow]
        document["search_path"] = None if rule.search_path is None else list(rule.search_path)
    elif isinstance(rule, DeniedFunctions):
        document["functions"] = list(rule.functions)
    return document


def _pattern_text(pattern: RelationPattern) -> str:
    parts = [p for p in (pattern.schema, pattern.table) if p is not None]
    return ".".join(p if p == "*" else '"' + p.replace('"', '""') + '"' for p in parts)


def _refuse_unknown_keys(what: str, document: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(document) - allowed)
    if unknown:
        raise ValueError(f"{what}: unknown keys {unknown}")

"""Per-deployment rules: extra regexes, a deny list, column rules and JSON key-path rules."""

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from dataplane.masking.recognizer import Recognizer

DENY_LIST_ENTITY = "DENY_LIST"


@dataclass(frozen=True)
class CustomRules:
    regexes: list[Recognizer] = field(default_factory=list)
    deny_list: list[str] = field(default_factory=list)
    column_rules: Mapping[str, str] = field(default_factory=dict)
    json_key_rules: Mapping[str, str] = field(default_factory=dict)

    def deny_list_pattern(self) -> re.Pattern[str] | None:
        """Literal terms, case-insensitive and whole word.

        Run by Python `re` beside the multi-pattern scan: lookarounds keep adjacent terms
        ("acme acme") both matched, which boundary classes in a Hyperscan pattern would not.
        """
        if not self.deny_list:
            return None
        terms = "|".join(re.escape(t) for t in sorted(self.deny_list, key=len, reverse=True))
        return re.compile(f"(?i)(?<![A-Za-z0-9_])(?:{terms})(?![A-Za-z0-9_])")

    def column_entity(self, column: str) -> str | None:
        """The entity a whole column is masked as, whatever its content (case-insensitive)."""
        wanted = column.lower()
        return next((e for c, e in self.column_rules.items() if c.lower() == wanted), None)

    def key_entity(self, path: str) -> str | None:
        """The entity for a dotted JSON key path; `*` spans any keys, `*.ssn` also top level."""
        for rule, entity in self.json_key_rules.items():
            if fnmatch.fnmatchcase(path, rule) or (rule.startswith("*.") and path == rule[2:]):
                return entity
        return None

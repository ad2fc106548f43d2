"""A snapshot's masking profile compiled into a ready engine and policy.

Compiling builds a Hyperscan database (tens of milliseconds), so compiled profiles are
cached by their content and key: every session on a grant shares one, and a new snapshot
that carries the same profile reuses it.

Fail closed: a profile that cannot be compiled (an unknown validator or entity, an unsafe
regex, a bad key) raises ProfileError; `compiled_or_unusable` turns that into a profile
whose maskers fail every value (redacted, or the statement ended under on_failure
"error"), so a session never runs with less masking than its grant asks for.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from dataplane.contract import MaskingProfile
from dataplane.contract.masking import BUILTIN_ENTITIES, DENY_LIST_ENTITY, pattern_problem
from dataplane.contract.snapshot import CustomPattern, MaskingFailure
from dataplane.masking.custom import CustomRules
from dataplane.masking.engine import MaskingEngine, registry
from dataplane.masking.precheck import Precheck
from dataplane.masking.recognizer import Recognizer
from dataplane.masking.recognizers import validators
from dataplane.masking.strategies import MaskingPolicy, Strategy, StrategyKind

log = logging.getLogger("gatehouse.masking")

CACHE_SIZE = 32  # distinct (profile, key) pairs an agent keeps compiled
# A custom pattern's validator name -> (check, normalise applied to the match first).
Check = Callable[[str], bool]
VALIDATORS: dict[str, tuple[Check, Callable[[str], str] | None]] = {
    "luhn": (validators.luhn, validators.digits_only),
    "credit_card": (validators.credit_card, validators.digits_only),
    "iban": (validators.iban_mod97, validators.without_spaces),
    "ssn": (validators.ssn, validators.digits_only),
    "itin": (validators.itin, validators.digits_only),
    "ipv4": (validators.ipv4, None),
    "ipv6": (validators.ipv6, None),
    "mac": (validators.mac, None),
    "jwt": (validators.jwt, None),
    "email": (validators.email, None),
    "phone": (validators.phone, None),
    "date_of_birth": (validators.date_of_birth, None),
}


class ProfileError(ValueError):
    """The profile cannot be compiled; its sessions must fail closed."""


@dataclass(frozen=True)
class CompiledProfile:
    """Everything a session masker needs, built once per (profile, key)."""

    name: str
    engine: MaskingEngine
    policy: MaskingPolicy
    precheck: Precheck
    on_failure: str
    statement_budget_s: float
    max_value_bytes: int
    # False: the profile failed to compile and every value fails (see module docstring).
    usable: bool = True

    @property
    def fails_with_error(self) -> bool:
        return self.on_failure == MaskingFailure.ERROR


def compile_profile(profile: MaskingProfile, key_hex: str) -> CompiledProfile:
    """The profile's engine and policy; raises ProfileError when it cannot be honoured."""
    custom = CustomRules(
        regexes=[custom_recognizer(p) for p in profile.custom_patterns],
        deny_list=list(profile.deny_list),
        column_rules=dict(profile.column_rules),
        json_key_rules=dict(profile.json_key_rules),
    )
    engine = MaskingEngine(builtin_recognizers(profile), custom=custom)
    return CompiledProfile(
        name=profile.name,
        engine=engine,
        policy=_policy(profile, key_hex),
        precheck=Precheck(engine.recognizers, custom.deny_list_pattern()),
        on_failure=_on_failure(profile),
        statement_budget_s=profile.statement_budget_ms / 1000,
        max_value_bytes=profile.max_value_bytes,
    )


def builtin_recognizers(profile: MaskingProfile) -> tuple[Recognizer, ...]:
    """The built-in recognisers of the profile's entities (all of them when none named)."""
    if not profile.entities:
        return registry()
    own = {DENY_LIST_ENTITY, *(p.entity for p in profile.custom_patterns)}
    unknown = set(profile.entities) - set(BUILTIN_ENTITIES) - own
    if unknown:
        raise ProfileError(f"profile {profile.name!r}: unknown entities {sorted(unknown)}")
    return tuple(r for r in registry() if r.entity in profile.entities)


def custom_recognizer(pattern: CustomPattern) -> Recognizer:
    """A custom pattern as a Recognizer, its regex checked and its validator looked up."""
    check_pattern(pattern.regex)
    validator, normalise = None, None
    if pattern.validator:
        if pattern.validator not in VALIDATORS:
            raise ProfileError(
                f"custom pattern {pattern.name!r}: unknown validator {pattern.validator!r}"
            )
        validator, normalise = VALIDATORS[pattern.validator]
    return Recognizer(
        entity=pattern.entity,
        name=f"custom:{pattern.name}",
        pattern=pattern.regex,
        validator=validator,
        normalise=normalise,
        score=pattern.score,
        context=tuple(pattern.context),
        context_required=pattern.context_required,
    )


def check_pattern(regex: str) -> None:
    """Refuse a regex the contract calls unsafe (one rule for both halves)."""
    problem = pattern_problem(regex)
    if problem:
        raise ProfileError(problem)


def _policy(profile: MaskingProfile, key_hex: str) -> MaskingPolicy:
    try:
        key = bytes.fromhex(key_hex)
        return MaskingPolicy(
            default=Strategy(_kind(profile.default_strategy)),
            per_entity={e: Strategy(_kind(k)) for e, k in profile.strategies.items()},
            key=key,
        )
    except ValueError as exc:
        raise ProfileError(f"profile {profile.name!r}: {exc}") from exc


def _on_failure(profile: MaskingProfile) -> str:
    if profile.on_failure not in set(MaskingFailure):
        raise ProfileError(f"profile {profile.name!r}: unknown on_failure {profile.on_failure!r}")
    return str(profile.on_failure)


def _kind(name: str) -> StrategyKind:
    return Strategy(name).kind  # type: ignore[arg-type]  # Strategy refuses unknown kinds


# The unusable profile: every value fails.


def unusable_profile(profile: MaskingProfile) -> CompiledProfile:
    """A profile that could not be compiled: its maskers fail every non-empty value."""
    failure = profile.on_failure if profile.on_failure in set(MaskingFailure) else "redact"
    return CompiledProfile(
        name=profile.name,
        engine=_bare_engine(),
        policy=MaskingPolicy(),
        precheck=Precheck((), None),
        on_failure=failure,
        statement_budget_s=0.0,
        max_value_bytes=0,
        usable=False,
    )


def _bare_engine() -> MaskingEngine:
    """An engine with no recognisers (never asked: an unusable profile scans nothing)."""
    return MaskingEngine((), scanner=_NO_SCANNER)


class _NoScanner:
    def candidates(self, text: str, skip: Any = frozenset()) -> Any:
        return iter(())


_NO_SCANNER = _NoScanner()


# The cache.


class ProfileCache:
    """Compiled profiles by (canonical profile JSON, key digest), least recently used out."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._compiled: OrderedDict[tuple[str, str], CompiledProfile] = OrderedDict()
        self.compilations = 0
        # warm() runs in a worker thread while sessions look profiles up on the loop.
        self._lock = threading.Lock()

    def get(self, profile: MaskingProfile, key_hex: str) -> CompiledProfile:
        """The compiled profile, compiling it on first use; raises ProfileError."""
        cache_key = (canonical(profile), hashlib.sha256(key_hex.encode()).hexdigest())
        with self._lock:
            if cache_key in self._compiled:
                self._compiled.move_to_end(cache_key)
                return self._compiled[cache_key]
        compiled = compile_profile(profile, key_hex)  # outside the lock: it takes a while
        with self._lock:
            self.compilations += 1
            self._compiled[cache_key] = compiled
            if len(self._compiled) > self._size:
                self._compiled.popitem(last=False)
        return compiled

    def warm(self, profiles: Sequence[MaskingProfile], key_hex: str) -> None:
        """Compile a snapshot's profiles ahead of their first session (compiling every
        built-in recogniser takes about half a second); failures wait for that session."""
        for profile in profiles:
            self.compiled_or_unusable(profile, key_hex)

    def compiled_or_unusable(self, profile: MaskingProfile, key_hex: str) -> CompiledProfile:
        """Like `get`, but a profile that fails to compile becomes the unusable profile."""
        try:
            return self.get(profile, key_hex)
        except Exception as exc:  # fail closed whatever went wrong
            log.error("masking profile %r is unusable, every value fails: %s", profile.name, exc)
            return unusable_profile(profile)


def canonical(profile: MaskingProfile) -> str:
    """The profile as sorted-key JSON: a hashable identity for its content."""
    return json.dumps(asdict(profile), sort_keys=True, separators=(",", ":"))


PROFILES = ProfileCache()

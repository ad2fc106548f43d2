"""How a detected value is replaced: redact, partial, keyed hash or format-preserving."""

import hashlib
import hmac
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

StrategyKind = Literal["redact", "partial", "hash", "format_preserving"]
KINDS: tuple[StrategyKind, ...] = ("redact", "partial", "hash", "format_preserving")
REDACTED = "[REDACTED]"


@dataclass(frozen=True)
class Strategy:
    kind: StrategyKind = "redact"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown masking strategy {self.kind!r}")


@dataclass(frozen=True)
class MaskingPolicy:
    default: Strategy = Strategy("redact")
    per_entity: Mapping[str, Strategy] = field(default_factory=dict)
    key: bytes = b""

    def __post_init__(self) -> None:
        # Keyed strategies with no key would be guessable pseudonyms: refuse at build time.
        keyed = {"hash", "format_preserving"}
        kinds = {self.default.kind, *(s.kind for s in self.per_entity.values())}
        if kinds & keyed and not self.key:
            raise ValueError("hash and format_preserving strategies need a per-deployment key")

    @classmethod
    def default_policy(cls) -> "MaskingPolicy":
        return cls()

    def strategy_for(self, entity: str) -> Strategy:
        return self.per_entity.get(entity, self.default)

    def apply(self, entity: str, value: str) -> str:
        """The replacement for `value`, detected as `entity`, under this policy."""
        kind = self.strategy_for(entity).kind
        if kind == "partial":
            return partial(entity, value)
        if kind == "hash":
            return pseudonym(entity, value, self.key)
        if kind == "format_preserving":
            return format_preserving(entity, value, self.key)
        return f"[{entity}]"


def partial(entity: str, value: str) -> str:
    """Keep the last 4 letters or digits; star the others. Short values are redacted."""
    alnum = [i for i, ch in enumerate(value) if ch.isalnum()]
    if len(alnum) <= 4:
        return f"[{entity}]"
    hidden = set(alnum[:-4])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


def _digest(entity: str, value: str, key: bytes) -> bytes:
    return hmac.new(key, f"{entity}\x00{value}".encode(), hashlib.sha256).digest()


def pseudonym(entity: str, value: str, key: bytes) -> str:
    """`<ENTITY_1a2b3c4d>`: the same value and key always give the same token."""
    return f"<{entity}_{_digest(entity, value, key).hex()[:8]}>"


def _keystream(entity: str, value: str, key: bytes) -> Iterator[int]:
    block = _digest(entity, value, key)
    counter = 0
    while True:
        yield from block
        counter += 1
        block = hmac.new(key, block + counter.to_bytes(4, "big"), hashlib.sha256).digest()


def _replace_char(ch: str, byte: int) -> str:
    if ch.isascii() and ch.isdigit():
        return str(byte % 10)
    if ch.isascii() and ch.isupper():
        return chr(ord("A") + byte % 26)
    if ch.isascii() and ch.islower():
        return chr(ord("a") + byte % 26)
    return ch


def format_preserving(entity: str, value: str, key: bytes) -> str:
    """Same length and character classes, keyed and deterministic; cards stay Luhn-valid."""
    stream = _keystream(entity, value, key)
    out = "".join(_replace_char(ch, next(stream)) for ch in value)
    return _luhn_fixed(out) if entity == "CREDIT_CARD" else out


def _luhn_fixed(card: str) -> str:
    digits = [i for i, ch in enumerate(card) if ch.isdigit()]
    if not digits:
        return card
    body = [int(card[i]) for i in digits[:-1]]
    total = sum(_luhn_double(d) if n % 2 == 0 else d for n, d in enumerate(reversed(body)))
    check = (10 - total % 10) % 10
    last = digits[-1]
    return card[:last] + str(check) + card[last + 1 :]


def _luhn_double(digit: int) -> int:
    doubled = digit * 2
    return doubled - 9 if doubled > 9 else doubled

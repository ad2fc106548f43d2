"""Seeded labelled corpus for the masking benchmark (generated at bench time, never committed).

Each record is `{"text": ..., "spans": [{"entity", "start", "end"}]}` with character offsets.
Positives put one value of every entity inside prose, a JSON object, a CSV row, or a
line-wrapped paragraph; hard negatives are look-alikes (UUIDs, hashes, timestamps, order
numbers, Luhn-failing cards, invalid-range SSNs, out-of-range IPs, versions) labelled empty.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from faker import Faker

CORPUS_VERSION = 2  # 2: grouped IBANs, more API key shapes


@dataclass
class Sample:
    """Text built piece by piece so every labelled span's offsets are known exactly."""

    text: str = ""
    spans: list[dict[str, object]] = field(default_factory=list)

    def add(self, piece: str, entity: str | None = None) -> Sample:
        if entity is not None:
            self.spans.append(
                {"entity": entity, "start": len(self.text), "end": len(self.text) + len(piece)}
            )
        self.text += piece
        return self

    def record(self) -> dict[str, object]:
        return {"text": self.text, "spans": self.spans}


class Values:
    """One generator per entity; every value is one the design says must be detected."""

    def __init__(self, fake: Faker, rng: random.Random) -> None:
        self.fake, self.rng = fake, rng

    def _chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def _b64url(self, raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def email_address(self) -> str:
        return self.fake.email()

    def phone_number(self) -> str:
        area, exch, line = (
            self.rng.randint(201, 989),
            self.rng.randint(201, 999),
            self.rng.randint(0, 9999),
        )
        shapes = [
            "({a}) {e}-{l:04d}",
            "{a}-{e}-{l:04d}",
            "+1 {a} {e} {l:04d}",
            "+1-{a}-{e}-{l:04d}",
        ]
        return self.rng.choice(shapes).format(a=area, e=exch, l=line)

    def credit_card(self) -> str:
        number = self.fake.credit_card_number(
            card_type=self.rng.choice(["visa16", "mastercard", "amex"])
        )
        if len(number) == 16 and self.rng.random() < 0.4:
            sep = self.rng.choice([" ", "-"])
            return sep.join(number[i : i + 4] for i in range(0, 16, 4))
        return number

    def iban_code(self) -> str:
        iban = self.fake.iban()
        if self.rng.random() < 0.4:  # printed in groups of four, as on statements
            return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
        return iban

    def us_ssn(self) -> str:
        return self.fake.ssn()

    def us_itin(self) -> str:
        return self.fake.itin()

    def us_passport(self) -> str:
        # Current US passport books: nine digits, or a letter and eight digits (Next Gen).
        letter = self.rng.choice(["", "A", "C"])
        return letter + self._chars(string.digits, 8 if letter else 9)

    def us_driver_license(self) -> str:
        return self.rng.choice(string.ascii_uppercase) + self._chars(string.digits, 7)

    def ip_address(self) -> str:
        return self.fake.ipv4_public() if self.rng.random() < 0.7 else self.fake.ipv6()

    def mac_address(self) -> str:
        mac = self.fake.mac_address()
        return mac.upper().replace(":", "-") if self.rng.random() < 0.3 else mac

    def url(self) -> str:
        scheme = self.rng.choice(["https", "postgres", "mysql", "ftp"])
        user, password = (
            self.fake.user_name(),
            self._chars(string.ascii_letters + string.digits, 12),
        )
        return f"{scheme}://{user}:{password}@{self.fake.domain_name()}/{self.fake.word()}"

    def date_of_birth(self) -> str:
        born = self.fake.date_of_birth(minimum_age=18, maximum_age=90)
        return born.strftime(self.rng.choice(["%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y"]))

    def aws_access_key(self) -> str:
        return "AKIA" + self._chars(string.ascii_uppercase + string.digits, 16)

    def private_key(self) -> str:
        body = base64.b64encode(self.rng.randbytes(240)).decode()
        lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        kind = self.rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY"])
        return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----"

    def jwt(self) -> str:
        header = self._b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {
            "sub": self.fake.user_name(),
            "iat": self.rng.randint(1_600_000_000, 1_800_000_000),
        }
        payload = self._b64url(json.dumps(claims).encode())
        return f"{header}.{payload}.{self._b64url(self.rng.randbytes(32))}"

    def bearer_token(self) -> str:
        return self._chars(string.ascii_letters + string.digits + "-._~", 40)

    def api_key(self) -> str:
        alnum = string.ascii_letters + string.digits
        shapes: list[Callable[[], str]] = [
            lambda: "ghp_" + self._chars(alnum, 36),
            lambda: (
                "xoxb-"
                + "-".join(self._chars(string.digits, 12) for _ in range(2))
                + "-"
                + self._chars(alnum, 24)
            ),
            lambda: "sk_live_" + self._chars(alnum, 24),
            lambda: "sk-ant-api03-" + self._chars(alnum + "_-", 48),
            lambda: "sk-proj-" + self._chars(alnum, 48),
            lambda: "AIza" + self._chars(alnum + "_-", 35),
            lambda: "glpat-" + self._chars(alnum + "_-", 20),
            lambda: "npm_" + self._chars(alnum, 36),
            lambda: "hf_" + self._chars(alnum, 34),
            lambda: "shpat_" + self._chars(string.hexdigits.lower()[:16], 32),
        ]
        return self.rng.choice(shapes)()


# Entity -> (generator name, the words a person would write before it). Context words are
# part of realistic text; they are required for passports, licences and dates of birth.
ENTITIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "EMAIL_ADDRESS": ("email_address", ("email", "contact", "reply to")),
    "PHONE_NUMBER": ("phone_number", ("phone", "call", "mobile")),
    "CREDIT_CARD": ("credit_card", ("card", "card number", "paid with")),
    "IBAN_CODE": ("iban_code", ("IBAN", "account", "wire to")),
    "US_SSN": ("us_ssn", ("SSN", "social security number")),
    "US_ITIN": ("us_itin", ("ITIN", "taxpayer id")),
    "US_PASSPORT": ("us_passport", ("passport number", "passport no")),
    "US_DRIVER_LICENSE": ("us_driver_license", ("driver's license", "driver license number")),
    "IP_ADDRESS": ("ip_address", ("from IP", "client address", "host")),
    "MAC_ADDRESS": ("mac_address", ("MAC", "hardware address")),
    "URL": ("url", ("dsn", "connect to", "endpoint")),
    "DATE_OF_BIRTH": ("date_of_birth", ("date of birth", "DOB", "born on")),
    "AWS_ACCESS_KEY": ("aws_access_key", ("aws_access_key_id", "access key")),
    "PRIVATE_KEY": ("private_key", ("key", "deploy key")),
    "JWT": ("jwt", ("token", "id_token")),
    "BEARER_TOKEN": ("bearer_token", ("Authorization: Bearer",)),
    "API_KEY": ("api_key", ("api key", "secret")),
}


class CorpusBuilder:
    """Positive and hard-negative records, deterministic for a seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.values = Values(self.fake, self.rng)

    def positive(self, entity: str) -> dict[str, object]:
        generator, contexts = ENTITIES[entity]
        value = getattr(self.values, generator)()
        context = self.rng.choice(contexts)
        layout = self.rng.choice([self._prose, self._json, self._csv, self._wrapped])
        return layout(entity, context, value).record()

    def _value(self, sample: Sample, entity: str, context: str, value: str) -> Sample:
        # A bearer token is written after the word "Bearer"; the label covers the token.
        return (
            sample.add(f"{context} ").add(value, entity)
            if entity == "BEARER_TOKEN"
            else sample.add(f"{context}: ").add(value, entity)
        )

    def _prose(self, entity: str, context: str, value: str) -> Sample:
        sample = Sample().add(self.fake.sentence() + " " + self.fake.name() + " gave ")
        return self._value(sample, entity, context, value).add(
            " " + self.fake.paragraph(nb_sentences=2)
        )

    def _json(self, entity: str, context: str, value: str) -> Sample:
        head = json.dumps({"id": self.rng.randint(1, 10**6), "name": self.fake.name()})[:-1]
        sample = Sample().add(head + ', "note": "')
        if entity == "PRIVATE_KEY":  # JSON escapes the newlines of a PEM block
            value = value.replace("\n", "\\n")
        return self._value(sample, entity, context, value).add(
            '", "city": ' + json.dumps(self.fake.city()) + "}"
        )

    def _csv(self, entity: str, context: str, value: str) -> Sample:
        sample = Sample().add(f"{self.rng.randint(1, 99999)},{self.fake.last_name()},")
        sample = (
            self._value(sample, entity, context, value)
            if entity == "BEARER_TOKEN"
            else sample.add(f"{context},").add(value, entity)
        )
        return sample.add(f",{self.fake.date_this_decade().isoformat()},{self.fake.city()}\n")

    def _wrapped(self, entity: str, context: str, value: str) -> Sample:
        # The value sits at the start of a new line, its context word on the line before.
        sample = Sample().add(self.fake.sentence() + "\n")
        if entity == "BEARER_TOKEN":
            sample.add(f"{context} ")
            return sample.add(value, entity).add("\n" + self.fake.sentence())
        return sample.add(f"{context}:\n").add(value, entity).add("\n" + self.fake.sentence())

    def negative(self) -> dict[str, object]:
        makers = [
            lambda: str(self.fake.uuid4()),
            lambda: hashlib.sha1(self.rng.randbytes(16)).hexdigest(),
            lambda: hashlib.sha256(self.rng.randbytes(16)).hexdigest(),
            lambda: self.fake.date_time_this_decade().isoformat() + "Z",
            lambda: f"ORD-{self.rng.randint(10**7, 10**8 - 1)}",
            lambda: f"order #{self.rng.randint(10**5, 10**6 - 1)}",
            self._bad_luhn,
            self._bad_ssn,
            lambda: ".".join(str(self.rng.randint(256, 999)) for _ in range(4)),
            lambda: (
                f"v{self.rng.randint(0, 20)}.{self.rng.randint(0, 40)}.{self.rng.randint(0, 99)}"
            ),
            lambda: f"${self.rng.randint(1, 99999)}.{self.rng.randint(0, 99):02d}",
        ]
        words = [self.rng.choice(makers)() for _ in range(4)]
        text = (
            f"{self.fake.sentence()} ref {words[0]}, build {words[1]}; at {words[2]} - {words[3]}."
        )
        return {"text": text, "spans": []}

    def _bad_luhn(self) -> str:
        digits = [int(d) for d in self.fake.credit_card_number(card_type="visa16")]
        digits[-1] = (digits[-1] + self.rng.randint(1, 9)) % 10
        return "".join(map(str, digits))

    def _bad_ssn(self) -> str:
        # Area 000, 666 or 9xx; a 9xx area takes a group below 50 so it is no valid ITIN either.
        area = self.rng.choice(["000", "666", str(self.rng.randint(900, 999))])
        group = self.rng.randint(1, 49) if area.startswith("9") else self.rng.randint(1, 99)
        return f"{area}-{group:02d}-{self.rng.randint(1, 9999):04d}"


def positives(seed: int, per_entity: int = 200) -> Iterator[dict[str, object]]:
    """`per_entity` labelled records for every entity, in a seed-determined order."""
    builder = CorpusBuilder(seed)
    for _ in range(per_entity):
        for entity in ENTITIES:
            yield builder.positive(entity)


def hard_negatives(seed: int, target_bytes: int = 200_000) -> Iterator[dict[str, object]]:
    """Look-alike records with no labels, about `target_bytes` of UTF-8 text in all."""
    builder = CorpusBuilder(seed + 1)
    total = 0
    while total < target_bytes:
        record = builder.negative()
        total += len(str(record["text"]).encode())
        yield record


def main() -> None:
    """`python -m bench.masking.corpus [SEED]`: the positive corpus as JSON lines on stdout."""
    import sys

    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for record in positives(seed):
        print(json.dumps(record))


if __name__ == "__main__":
    main()

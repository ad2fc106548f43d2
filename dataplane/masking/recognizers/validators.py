"""Checks that turn a pattern match into a confident detection (or reject it).

Each validator takes the matched text (after the recognizer's `normalise`) and answers
whether it is really the entity: checksums, issuer prefixes, allocation ranges, structure.
"""

import base64
import binascii
import ipaddress
import json
import re
from datetime import date

# Per-country IBAN lengths (ISO 13616 registry); a country not listed is rejected.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

# (prefix range low, high, allowed lengths): Visa, Mastercard, Amex, Discover, Diners,
# JCB, UnionPay. Prefixes compared on the same number of leading digits.
CARD_ISSUERS = (
    ("4", "4", (13, 16, 19)),
    ("51", "55", (16,)),
    ("2221", "2720", (16,)),
    ("34", "34", (15,)),
    ("37", "37", (15,)),
    ("6011", "6011", (16, 19)),
    ("644", "649", (16, 19)),
    ("65", "65", (16, 19)),
    ("300", "305", (14, 16, 19)),
    ("36", "36", (14, 16, 19)),
    ("38", "39", (16, 19)),
    ("3528", "3589", (16, 19)),
    ("62", "62", (16, 17, 18, 19)),
)

# Numbers published as examples (advertising, documentation) and never issued.
SSN_NEVER_ISSUED = frozenset({"078051120", "219099999", "123456789"})

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def digits_only(value: str) -> str:
    """The value with every separator (space, dash, dot, slash...) removed.

    Every card, SSN and phone candidate passes through here: ASCII text (all of them, in
    practice) drops its usual separators with `replace` and anything else with
    `translate`; only other text needs the per-character Unicode test."""
    if value.isascii():
        compact = value.replace(" ", "").replace("-", "")
        return compact if compact.isdigit() else compact.translate(_ASCII_NON_DIGITS)
    return "".join(c for c in value if c.isdigit())


# Every ASCII character but 0-9, for str.translate to delete.
_ASCII_NON_DIGITS: dict[int, None] = dict.fromkeys(c for c in range(128) if not chr(c).isdigit())


def without_spaces(value: str) -> str:
    """The value with spaces removed (IBANs are printed in groups of four)."""
    return value.replace(" ", "")


def luhn(number: str) -> bool:
    """The Luhn mod-10 checksum over a string of digits."""
    if not number.isdigit():
        return False
    if number.isascii():
        return _ascii_luhn_total(number) % 10 == 0
    total = 0  # other Unicode digits: int() reads them (or raises, as it always has)
    for position, char in enumerate(reversed(number)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


# The Luhn doubling of each digit, digits summed: 5 -> 10 -> 1.
_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")


def _ascii_luhn_total(number: str) -> int:
    """The Luhn sum of ASCII digits without a Python loop: every second digit from the
    right doubled by translation, the code points summed in C (48 is `0`)."""
    kept, doubled = number[-1::-2], number[-2::-2].translate(_LUHN_DOUBLED)
    return sum(kept.encode()) + sum(doubled.encode()) - 48 * len(number)


def card_issuer(number: str) -> bool:
    """A known issuer prefix with a length that issuer uses."""
    if number.isascii() and number.isdigit() and len(number) >= _ISSUER_PREFIX:
        return number[:_ISSUER_PREFIX] in _ISSUER_PREFIXES.get(len(number), ())
    return any(
        low <= number[: len(low)] <= high and len(number) in lengths
        for low, high, lengths in CARD_ISSUERS
    )


_ISSUER_PREFIX = 4  # the longest issuer prefix


def _issuer_prefixes() -> dict[int, frozenset[str]]:
    """Card length -> every 4-digit prefix an issuer of that length has: one set lookup
    instead of thirteen range comparisons (the same answer for a number of ASCII digits)."""
    by_length: dict[int, set[str]] = {}
    for low, high, lengths in CARD_ISSUERS:
        spare = _ISSUER_PREFIX - len(low)
        prefixes = {
            f"{lead:0{len(low)}d}{rest:0{spare}d}" if spare else f"{lead:0{len(low)}d}"
            for lead in range(int(low), int(high) + 1)
            for rest in range(10**spare)
        }
        for length in lengths:
            by_length.setdefault(length, set()).update(prefixes)
    return {length: frozenset(p) for length, p in by_length.items()}


_ISSUER_PREFIXES = _issuer_prefixes()


def credit_card(number: str) -> bool:
    """Digits only, a known issuer and length, and a valid Luhn checksum."""
    return number.isdigit() and card_issuer(number) and luhn(number)


def iban_mod97(iban: str) -> bool:
    """ISO 13616: the country's length and the mod-97 check (moved prefix, letters as 10..35)."""
    iban = iban.upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def ssn(value: str) -> bool:
    """US SSN: area not 000, 666 or 900-999; group not 00; serial not 0000; not an example."""
    if len(value) != 9 or not value.isdigit() or value in SSN_NEVER_ISSUED:
        return False
    area, group, serial = value[:3], value[3:5], value[5:]
    if len(set(value)) == 1:  # 111-11-1111 and the like: placeholders, never issued
        return False
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def itin(value: str) -> bool:
    """US ITIN: area 9xx, group 50-65, 70-88, 90-92 or 94-99."""
    if len(value) != 9 or not value.isdigit() or value[0] != "9":
        return False
    group = int(value[3:5])
    return 50 <= group <= 65 or 70 <= group <= 88 or 90 <= group <= 92 or 94 <= group <= 99


def ipv4(value: str) -> bool:
    """A dotted-quad IPv4 address (each octet 0-255, no leading zeros)."""
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def ipv6(value: str) -> bool:
    """An IPv6 address with at least two groups written or a leading `::` (e.g. `::1`)."""
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    written = [g for g in value.split(":") if g]
    return len(written) >= 2 or value.startswith("::")


def mac(value: str) -> bool:
    """Six octets with one consistent separator, or Cisco's three dotted groups of four."""
    if re.fullmatch(r"[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}", value):
        return True
    separators = {value[i] for i in range(2, len(value), 3)}
    return len(value) == 17 and len(separators) == 1 and separators <= {":", "-"}


def jwt(value: str) -> bool:
    """Three base64url parts whose header decodes to a JSON object naming an `alg`."""
    parts = value.split(".")
    if len(parts) != 3:
        return False
    header = _base64url_json(parts[0])
    return isinstance(header, dict) and isinstance(header.get("alg"), str)


def _base64url_json(part: str) -> object:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError):
        return None


def email(value: str) -> bool:
    """No empty, leading-dot or trailing-dot local part; no domain label starting or ending `-`."""
    local, _, domain = value.rpartition("@")
    if not local or local[0] == "." or local[-1] == "." or ".." in local:
        return False
    labels = domain.split(".")
    if not labels[-1].isalpha() or "" in labels:
        return False
    # Every label is non-empty: one starts or ends with `-` where the domain does or a dot
    # touches a dash (string tests in C rather than a loop over the labels).
    return domain[0] != "-" and domain[-1] != "-" and ".-" not in domain and "-." not in domain


_PHONE_CHARS = re.compile(r"\+?[0-9 .()-]+")
_DOUBLE_SEPARATOR = re.compile(r"[ .()-]{2}")


def phone(value: str) -> bool:
    """International (`+`): 8-15 digits. Otherwise NANP: area and exchange start 2-9."""
    digits = digits_only(value)
    if _PHONE_CHARS.fullmatch(value) is None:
        return False
    if value.startswith("+"):
        return 8 <= len(digits) <= 15 and _DOUBLE_SEPARATOR.search(value) is None
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    return len(digits) == 10 and digits[0] in "23456789" and digits[3] in "23456789"


def date_of_birth(value: str) -> bool:
    """A real date from 1900 to today, read as ISO, D/M/Y, M/D/Y or with a month name."""
    return any(_plausible_birth(d) for d in _date_readings(value))


def _plausible_birth(candidate: tuple[int, int, int]) -> bool:
    year, month, day = candidate
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date.today()


def _date_readings(value: str) -> list[tuple[int, int, int]]:
    numbers = [int(n) for n in re.findall(r"\d+", value)]
    month_named = [i + 1 for i, m in enumerate(_MONTHS) if m in value.lower()]
    if month_named and len(numbers) == 2:
        day, year = (numbers[0], numbers[1]) if numbers[1] > 31 else (numbers[1], numbers[0])
        return [(year, month_named[0], day)]
    if len(numbers) != 3:
        return []
    first, second, third = numbers
    if first > 31:  # ISO: year first
        return [(first, second, third)]
    return [(third, first, second), (third, second, first)]


def has_letters_and_digits(value: str) -> bool:
    """Random key material mixes letters and digits; hyphenated words do not."""
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def key_material(value: str) -> bool:
    """At least two of lower case, upper case and digits: random keys, not words.

    Digits alone are not required: a 24-character random Stripe key has no digit about
    one time in seventy (`sk_live_uzaurhYkcUGsUNcqRdqMxkEd`), and hyphenated lower-case
    words (`sk-this-is-just-a-long-sentence-of-words`) still fail.
    """
    kinds = (str.islower, str.isupper, str.isdigit)
    return sum(any(kind(c) for c in value) for kind in kinds) >= 2

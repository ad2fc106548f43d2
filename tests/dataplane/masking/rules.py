"""A few local recognizers built from the agreed Recognizer fields, so these tests do not
depend on the shared registry (owned and tested by the recognizers engineer)."""

from dataplane.masking.recognizer import Recognizer


def luhn(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    total = 0
    for n, d in enumerate(reversed(digits)):
        total += (d * 2 - 9 if d * 2 > 9 else d * 2) if n % 2 else d
    return len(digits) >= 13 and total % 10 == 0


EMAIL = Recognizer("EMAIL_ADDRESS", "email", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
CARD = Recognizer("CREDIT_CARD", "card", r"[0-9](?:[ -]?[0-9]){12,18}", validator=luhn, score=0.9)
SSN = Recognizer("US_SSN", "ssn", r"[0-9]{3}-[0-9]{2}-[0-9]{4}", score=0.6, context=("ssn",))
PASSPORT = Recognizer(
    "US_PASSPORT", "passport", r"[A-Z][0-9]{8}", context=("passport",), context_required=True
)
PHONE = Recognizer("PHONE_NUMBER", "phone", r"[0-9]{3}-[0-9]{3}-[0-9]{4}", score=0.5)
LOCAL = (EMAIL, CARD, SSN, PASSPORT, PHONE)

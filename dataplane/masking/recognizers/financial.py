"""Financial identifiers: CREDIT_CARD (issuer and Luhn) and IBAN_CODE (mod-97, length)."""

from dataplane.masking.recognizer import Recognizer
from dataplane.masking.recognizers import validators
from dataplane.masking.recognizers.boundaries import exactly, word_bounded

# 13-19 digits, optionally grouped by single spaces or dashes.
CARD = r"[0-9](?:[ -]?[0-9]){12,18}"


def _bban(length: int) -> str:
    """A BBAN of exactly `length` characters, compact or in groups of four."""
    groups = rf"(?: [A-Z0-9]{{4}}){{{length // 4}}}"
    rest = rf" [A-Z0-9]{{{length % 4}}}" if length % 4 else ""
    return rf"(?:[A-Z0-9]{{{length}}}|{groups}{rest})"


def _iban() -> str:
    """Country, check digits and a BBAN of exactly that country's length.

    Exact lengths keep a grouped IBAN from running on into the next word: with any length
    allowed, `BE71 0961 2345 6769 Hi` took ` Hi` as a last short group, and the whole run
    then failed validation, so the IBAN was missed.
    """
    by_length: dict[int, list[str]] = {}
    for country, length in sorted(validators.IBAN_LENGTHS.items()):
        by_length.setdefault(length - 4, []).append(country)
    shapes = [f"(?:{'|'.join(c)})[0-9]{{2}}{_bban(n)}" for n, c in sorted(by_length.items())]
    return "|".join(shapes)


IBAN = _iban()

RECOGNIZERS = (
    Recognizer(
        entity="CREDIT_CARD",
        name="credit_card",
        pattern=word_bounded(CARD),
        validator=exactly(CARD, validators.credit_card, validators.digits_only),
        score=0.9,
        context=("card", "visa", "mastercard", "amex", "credit", "debit", "cc"),
    ),
    Recognizer(
        entity="IBAN_CODE",
        name="iban",
        pattern=word_bounded(IBAN),
        validator=exactly(IBAN, validators.iban_mod97, validators.without_spaces),
        score=0.9,
        context=("iban", "bank", "account"),
    ),
)

"""Financial identifiers: CREDIT_CARD (issuer and Luhn) and IBAN_CODE (mod-97, length)."""

from dataplane.masking.recognizer import Recognizer
from dataplane.masking.recognizers import validators
from dataplane.masking.recognizers.boundaries import exactly, word_bounded

# 13-19 digits, optionally grouped by single spaces or dashes.
CARD = r"[0-9](?:[ -]?[0-9]){12,18}"
# Country, check digits, then the BBAN printed compact or in groups of four.
IBAN = r"[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)"

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

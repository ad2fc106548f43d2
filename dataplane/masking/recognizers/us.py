"""US identifiers: US_SSN, US_ITIN, US_PASSPORT and US_DRIVER_LICENSE.

Nine-digit runs without separators are everywhere (order numbers, ids), so the undashed
forms, passports and driver's licences only count with a context word before them.
"""

from dataplane.masking.recognizer import Recognizer
from dataplane.masking.recognizers import validators
from dataplane.masking.recognizers.boundaries import exactly, word_bounded

SSN_CONTEXT = ("ssn", "social security", "social sec", "ss#", "ss #")
ITIN_CONTEXT = ("itin", "taxpayer", "tax id", "tin")
SSN = r"[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4}"
NINE_DIGITS = r"[0-9]{9}"
ITIN = r"9[0-9]{2}-[5-9][0-9]-[0-9]{4}|9[0-9]{2} [5-9][0-9] [0-9]{4}"
# Nine digits, or a letter and eight digits (next-generation passports).
PASSPORT = r"[0-9]{9}|[A-Z][0-9]{8}"
# The shapes states issue: one or two letters then digits, or digits alone.
DRIVER_LICENSE = r"[A-Z]{1,2}[0-9]{4,13}|[0-9]{7,12}"

RECOGNIZERS = (
    Recognizer(
        entity="US_SSN",
        name="us_ssn",
        pattern=word_bounded(SSN),
        validator=exactly(SSN, validators.ssn, validators.digits_only),
        score=0.85,
        context=SSN_CONTEXT,
    ),
    Recognizer(
        entity="US_SSN",
        name="us_ssn_undashed",
        pattern=word_bounded(NINE_DIGITS),
        validator=exactly(NINE_DIGITS, validators.ssn),
        score=0.7,
        context=SSN_CONTEXT,
        context_required=True,
    ),
    Recognizer(
        entity="US_ITIN",
        name="us_itin",
        pattern=word_bounded(ITIN),
        validator=exactly(ITIN, validators.itin, validators.digits_only),
        score=0.85,
        context=ITIN_CONTEXT,
    ),
    Recognizer(
        entity="US_ITIN",
        name="us_itin_undashed",
        pattern=word_bounded(NINE_DIGITS),
        validator=exactly(NINE_DIGITS, validators.itin),
        score=0.7,
        context=ITIN_CONTEXT,
        context_required=True,
    ),
    Recognizer(
        entity="US_PASSPORT",
        name="us_passport",
        pattern=word_bounded(PASSPORT),
        validator=exactly(PASSPORT),
        score=0.75,
        context=("passport",),
        context_required=True,
    ),
    Recognizer(
        entity="US_DRIVER_LICENSE",
        name="us_driver_license",
        pattern=word_bounded(DRIVER_LICENSE),
        validator=exactly(DRIVER_LICENSE),
        score=0.75,
        context=("driver", "licence", "license", "dl#", "dl #", "dl:", "dln"),
        context_required=True,
    ),
)

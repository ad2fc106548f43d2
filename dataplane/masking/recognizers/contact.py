"""Contact details: EMAIL_ADDRESS and PHONE_NUMBER."""

from dataplane.masking.recognizer import Recognizer
from dataplane.masking.recognizers import validators
from dataplane.masking.recognizers.boundaries import exactly, word_bounded

PHONE_CONTEXT = ("phone", "tel", "mobile", "cell", "call", "fax", "contact")
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}"
# `+`, country code, then digits and single separators; the validator counts digits.
PHONE_INTERNATIONAL = r"\+[1-9][0-9 .()-]{6,20}[0-9]"
PHONE_NANP = r"(?:1[ .-]?)?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .-])[2-9][0-9]{2}[.-][0-9]{4}"

RECOGNIZERS = (
    Recognizer(
        entity="EMAIL_ADDRESS",
        name="email",
        pattern=word_bounded(EMAIL),
        validator=exactly(EMAIL, validators.email),
        score=0.9,
    ),
    Recognizer(
        entity="PHONE_NUMBER",
        name="phone_international",
        pattern=word_bounded(PHONE_INTERNATIONAL),
        validator=exactly(PHONE_INTERNATIONAL, validators.phone),
        score=0.75,
        context=PHONE_CONTEXT,
    ),
    Recognizer(
        entity="PHONE_NUMBER",
        name="phone_nanp",
        pattern=word_bounded(PHONE_NANP),
        validator=exactly(PHONE_NANP, validators.phone),
        score=0.7,
        context=PHONE_CONTEXT,
    ),
)

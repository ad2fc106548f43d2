"""DATE_OF_BIRTH: a plausible past date, counted only after a birth context word."""

from dataplane.masking.recognizer import Recognizer
from dataplane.masking.recognizers import validators
from dataplane.masking.recognizers.boundaries import exactly, word_bounded

MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]{0,6}\.?"
DATE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"|[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{4}"
    rf"|[0-9]{{1,2}} {MONTH} [0-9]{{4}}"
    rf"|{MONTH} [0-9]{{1,2}},? [0-9]{{4}}"
)

RECOGNIZERS = (
    Recognizer(
        entity="DATE_OF_BIRTH",
        name="date_of_birth",
        pattern=word_bounded(DATE),
        validator=exactly(DATE, validators.date_of_birth),
        score=0.8,
        context=("birth", "born", "dob", "d.o.b", "birthday"),
        context_required=True,
    ),
)

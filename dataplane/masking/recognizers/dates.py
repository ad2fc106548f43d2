"""DATE_OF_BIRTH: a plausible past date, counted only right after a birth context word."""

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

DOB_LABEL_GAP = 32  # "born in Springfield, Illinois on " still labels the date

RECOGNIZERS = (
    Recognizer(
        entity="DATE_OF_BIRTH",
        name="date_of_birth",
        pattern=word_bounded(DATE),
        validator=exactly(DATE, validators.date_of_birth),
        score=0.8,
        context=("birth", "born", "dob", "d.o.b", "birthday"),
        context_required=True,
        # The label of this value ("dob: ", "born on ", `"date_of_birth": "`), not a date in
        # a neighbouring field: a signup date in the next CSV column is no birth date.
        context_gap=DOB_LABEL_GAP,
    ),
)

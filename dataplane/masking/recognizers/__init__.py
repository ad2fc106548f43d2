"""The one ordered registry of built-in recognizers, one module per entity family.

Order matters only for ties: overlapping spans of equal score and length go to the
earlier recognizer's name order in the engine, so keep families grouped as listed.
"""

from dataplane.masking.recognizer import Recognizer
from dataplane.masking.recognizers import contact, dates, financial, network, secrets, us

RECOGNIZERS: tuple[Recognizer, ...] = (
    *secrets.RECOGNIZERS,
    *contact.RECOGNIZERS,
    *financial.RECOGNIZERS,
    *us.RECOGNIZERS,
    *network.RECOGNIZERS,
    *dates.RECOGNIZERS,
)

"""Network identifiers: IP_ADDRESS (v4 and v6), MAC_ADDRESS, URL with credentials.

The IPv4 and MAC patterns also consume extra trailing groups (`1.2.3.4.5`), so the
validator rejects the whole run instead of matching an address inside a longer one.
"""

from dataplane.masking.recognizer import Recognizer
from dataplane.masking.recognizers import validators
from dataplane.masking.recognizers.boundaries import exactly, word_bounded

HEX = "[0-9A-Fa-f]"
IP_CONTEXT = ("ip", "address", "host", "client", "server")
IPV4 = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}"
IPV4_RUN = IPV4 + r"(?:\.[0-9]+)*"
IPV6 = rf"(?:{HEX}{{1,4}}|:)(?::{HEX}{{0,4}}){{1,7}}"
MAC_RUN = rf"{HEX}{{2}}(?:[:-]{HEX}{{2}}){{5,}}|{HEX}{{4}}\.{HEX}{{4}}\.{HEX}{{4}}"
MAC = rf"{HEX}{{2}}(?:[:-]{HEX}{{2}}){{5}}|{HEX}{{4}}\.{HEX}{{4}}\.{HEX}{{4}}"

RECOGNIZERS = (
    Recognizer(
        entity="IP_ADDRESS",
        name="ipv4",
        pattern=word_bounded(IPV4_RUN),
        validator=exactly(IPV4, validators.ipv4),
        score=0.85,
        context=IP_CONTEXT,
    ),
    Recognizer(
        entity="IP_ADDRESS",
        name="ipv6",
        pattern=word_bounded(IPV6),
        validator=exactly(IPV6, validators.ipv6),
        score=0.85,
        context=IP_CONTEXT,
    ),
    Recognizer(
        entity="MAC_ADDRESS",
        name="mac",
        pattern=word_bounded(MAC_RUN),
        validator=exactly(MAC, validators.mac),
        score=0.85,
        context=("mac", "hardware", "ether"),
    ),
    Recognizer(
        entity="URL",
        name="url_with_credentials",
        # scheme://user:password@host[:port]: the authority is masked, the path is kept.
        pattern=(
            r"[A-Za-z][A-Za-z0-9+.-]{1,19}://[^\s:/@\"'<>]+:[^\s/@\"'<>]+@"
            r"[A-Za-z0-9._-]*[A-Za-z0-9](?::[0-9]{1,5})?"
        ),
        score=0.95,
    ),
)

"""StreamMasker: a value split across chunks is still caught, with bounded hold-back."""

from dataplane.masking.engine import MaskingEngine
from dataplane.masking.recognizer import Recognizer
from dataplane.masking.stream import StreamMasker

from .rules import LOCAL


def stream(hold_back: int = 32) -> StreamMasker:
    return StreamMasker(MaskingEngine(LOCAL), hold_back=hold_back)


def masked_in_chunks(text: str, size: int, hold_back: int = 32) -> str:
    masker = stream(hold_back)
    out = [masker.feed(text[i : i + size]) for i in range(0, len(text), size)]
    return "".join(out) + masker.flush()


def test_an_email_split_across_chunks_is_masked() -> None:
    text = "$ cat users\nalice@example.com\nbob@example.org\n" * 3
    expected = MaskingEngine(LOCAL).mask(text).text
    for size in (1, 3, 7, 16, 100):
        assert masked_in_chunks(text, size) == expected


def test_nothing_raw_is_released_before_the_value_completes() -> None:
    masker = stream(hold_back=32)
    released = masker.feed("x" * 40 + "alice@exa")
    released += masker.feed("mple.com and more text " + "y" * 40)
    assert "alice" not in released and "[EMAIL_ADDRESS]" in released + masker.flush()


def test_the_hold_back_is_bounded() -> None:
    masker = stream(hold_back=16)
    for _ in range(50):
        masker.feed("plain terminal output without secrets\n")
    assert len(masker._buffer) <= 16


def test_counts_accumulate_across_chunks() -> None:
    masker = stream()
    masker.feed("a@b.io " * 10)
    masker.flush()
    assert masker.counts == {"EMAIL_ADDRESS": 10}


def test_a_failing_recognizer_redacts_the_held_text_and_says_so() -> None:
    def broken(value: str) -> bool:
        raise RuntimeError("validator bug")

    bad = Recognizer("EMAIL_ADDRESS", "broken", r"[a-z]+@[a-z]+\.com", validator=broken)
    masker = StreamMasker(MaskingEngine((bad,)), hold_back=4)
    out = masker.feed("mail bob@corp.com now") + masker.flush()
    assert "bob@corp.com" not in out and masker.failed >= 1


KEY_BLOCK = "-----BEGIN RSA PRIVATE KEY-----\n" + "MIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn\n" * 40
PRIVATE_KEY = Recognizer(
    "PRIVATE_KEY",
    "pem",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[A-Za-z0-9+/=\s]+-----END [A-Z ]*PRIVATE KEY-----",
)


def test_a_private_key_block_longer_than_the_hold_back_is_never_released_raw() -> None:
    masker = StreamMasker(MaskingEngine((*LOCAL, PRIVATE_KEY)), hold_back=32)
    text = "$ cat id_rsa\n" + KEY_BLOCK + "-----END RSA PRIVATE KEY-----\n$ "
    out = "".join(masker.feed(text[i : i + 50]) for i in range(0, len(text), 50))
    out += masker.flush()
    assert "MIIE" not in out
    assert out == "$ cat id_rsa\n[PRIVATE_KEY]\n$ "


def test_an_unterminated_key_block_is_redacted_once_it_outgrows_the_hold() -> None:
    from dataplane.masking.stream import MAX_HOLD

    masker = StreamMasker(MaskingEngine((*LOCAL, PRIVATE_KEY)), hold_back=32)
    out = masker.feed("ok\n" + KEY_BLOCK)
    while len(out) < 4 and masker.failed == 0:
        out += masker.feed("A" * (MAX_HOLD // 4))
    out += masker.feed("tail\n") + masker.flush()
    assert "MIIE" not in out and out.startswith("ok\n[REDACTED]")
    assert masker.failed == 1

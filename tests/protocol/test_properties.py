"""Property tests (hypothesis): serialize -> chunked framing -> parse round-trips."""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")  # optional: not yet in the test extra

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from amilab.protocol.buffer import ReceiveBuffer  # noqa: E402
from amilab.protocol.serialize import Action, encode_pairs, normalize_headers  # noqa: E402

GREETING = b"Asterisk Call Manager/11.0.0\r\n"
# Values may hold any character but the three that end a line or a string (NUL).
VALUE = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\r\n\x00"), max_size=20
)
KEY = st.text(
    st.characters(exclude_categories=("Cs", "Zs", "Cc"), exclude_characters="\r\n:"),
    min_size=1,
    max_size=12,
)
MESSAGE = st.tuples(
    st.sampled_from(["Newchannel", "VarSet", "Hangup"]), st.lists(st.tuples(KEY, VALUE), max_size=8)
)


@settings(max_examples=200, deadline=None)
@given(messages=st.lists(MESSAGE, min_size=1, max_size=5), cuts=st.lists(st.integers(0, 4000)))
def test_round_trip_under_any_chunking(
    messages: list[tuple[str, list[tuple[str, str]]]], cuts: list[int]
) -> None:
    """Encoded messages come back with identical pairs however the bytes are chunked."""
    blocks = [normalize_headers([("Event", name), *pairs]) for name, pairs in messages]
    data = GREETING + b"".join(encode_pairs(b) for b in blocks)
    points = sorted({c % (len(data) + 1) for c in cuts})
    buf = ReceiveBuffer()
    got = []
    for start, end in zip([0, *points], [*points, len(data)], strict=True):
        got.extend(m.items() for m in buf.feed(data[start:end]))
    assert got == blocks
    assert buf.decode_errors == 0 and buf.buffered == 0


@settings(max_examples=200, deadline=None)
@given(prefix=VALUE, newline=st.sampled_from(["\r", "\n", "\r\n", "\x00"]), suffix=VALUE)
def test_any_cr_or_lf_in_a_value_is_refused(prefix: str, newline: str, suffix: str) -> None:
    """A value containing CR, LF or NUL anywhere raises ValueError."""
    with pytest.raises(ValueError):
        Action("Ping", Channel=prefix + newline + suffix)

"""amilab.frames.to_frame: column order, NA vs "", duplicates, exact numeric conversion."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

from amilab import frames
from amilab.frames import STRING_DTYPE, to_frame
from amilab.protocol import Message

FIXTURES = Path(__file__).parent / "fixtures" / "asterisk22"


def msg(text: str) -> Message:
    return Message(text.replace("\n", "\r\n").encode())


def test_columns_in_first_seen_order_merged_case_insensitively():
    """Columns are the union in first-seen order; a later spelling merges into the first."""
    df = to_frame([msg("Event: A\nChannel: x"), msg("event: B\nUniqueid: 1\nCHANNEL: y")])
    assert list(df.columns) == ["Event", "Channel", "Uniqueid"]
    assert df["Channel"].tolist() == ["x", "y"]
    assert df["Event"].tolist() == ["A", "B"]


def test_missing_is_na_and_empty_is_empty_string():
    """An absent header is pd.NA; a header sent with no value is ""."""
    df = to_frame([msg("Event: A\nAccountCode: "), msg("Event: B")])
    assert df.loc[0, "AccountCode"] == ""
    assert df.loc[1, "AccountCode"] is pd.NA


def test_string_dtype_with_na_semantics():
    """Every plain column uses pandas' NA-semantics string dtype, never parsing numbers."""
    df = to_frame([msg("Event: A\nExten: 0012")])
    assert all(dtype == STRING_DTYPE for dtype in df.dtypes)
    assert STRING_DTYPE.na_value is pd.NA
    assert df.loc[0, "Exten"] == "0012"


def test_duplicate_header_becomes_tuple_cell():
    """A header repeated in one message keeps every value, as a tuple, in an object column."""
    df = to_frame(
        [msg("Event: TestEvent\nState: a\nState: b"), msg("Event: X\nState: c"), msg("Event: Y")]
    )
    assert df["State"].dtype == object
    assert df["State"].tolist()[:2] == [("a", "b"), "c"]
    assert df.loc[2, "State"] is pd.NA


def test_values_split_on_first_colon_keep_further_spaces():
    """Values keep later colons and all but one leading space, as Message does."""
    raw = msg("Event: A\nAppData: a: b:c\nPad:   two")
    df = to_frame([raw])
    assert df.loc[0, "AppData"] == "a: b:c"
    assert df.loc[0, "Pad"] == raw["Pad"] == "  two"


@pytest.mark.parametrize(
    "raw",
    [
        b"Event: A\nLF: only",
        b"Event: A\r\nNoSpace:x\r\nbare line\r\n",
        b"Response: Follows\r\nPrivilege: Command\r\nline one\nline: two\n--END COMMAND--",
        b"Event: A\r\nBad: \xff\xfe",
        b"Event: A\r\nCR: x\ry",
    ],
)
def test_bulk_path_matches_message_headers(raw):
    """Whatever the bulk parser meets, cells equal what Message.headers gives."""
    df = to_frame([Message(raw), Message(b"Event: B\r\nX: 1")])
    expected = to_frame([Message(raw).headers, Message(b"Event: B\r\nX: 1").headers])
    pd.testing.assert_frame_equal(df, expected)
    for key, value in Message(raw).to_dict().items():
        assert df.loc[0, key] == (tuple(value) if isinstance(value, list) else value)


def test_bulk_chunks_and_slow_fallback_agree(monkeypatch):
    """Chunk boundaries and a chunk that falls back to the slow parser change nothing."""
    rows = [msg(f"Event: E{i}\nN: {i}") for i in range(7)] + [msg("Event: odd\nno colon here")]
    whole = to_frame(rows)
    monkeypatch.setattr(frames, "_CHUNK", 3)
    pd.testing.assert_frame_equal(to_frame(rows), whole)
    assert whole.loc[7, ""] == "no colon here"


def test_dict_and_pair_rows():
    """Plain dicts and (key, value) lists are rows too; lists repeat a key, None is absent."""
    df = to_frame(
        [{"Event": "A", "Count": 3, "Skip": None}, [("Event", "B"), ("V", "1"), ("V", "2")]]
    )
    assert df["Count"].tolist() == ["3", pd.NA]
    assert df["V"].tolist() == [pd.NA, ("1", "2")]
    assert "Skip" not in df


def test_numeric_true_converts_only_exact_integers():
    """numeric=True makes Int64 only of columns whose every value round-trips exactly."""
    rows = [
        {"A": "12", "B": "0044", "C": "1795669599.10", "D": "+1", "E": " 1", "F": "-0", "G": "-7"},
        {"A": "0", "B": "1", "C": "2", "D": "2", "E": "2", "F": "1", "G": ""},
        {"A": None, "H": "99999999999999999999"},
    ]
    df = to_frame(rows, numeric=True)
    assert df["A"].dtype == "Int64"
    assert df["A"].tolist() == [12, 0, pd.NA]
    for name in "BCDEFGH":
        assert df[name].dtype == STRING_DTYPE, name
    assert df.loc[0, "B"] == "0044"


def test_default_converts_nothing():
    """numeric=False (the default) leaves even Cause and ChannelState as strings."""
    df = to_frame([{"Cause": "16", "ChannelState": "6"}])
    assert (df.dtypes == STRING_DTYPE).all()


def test_numeric_known_converts_only_known_fields():
    """numeric="known" converts the curated fields and never identifiers like Exten."""
    df = to_frame(
        [{"Cause": "16", "ChannelState": "6", "Exten": "100", "Uniqueid": "1", "Priority": "x"}],
        numeric="known",
    )
    assert df["Cause"].dtype == "Int64" and df.loc[0, "Cause"] == 16
    assert df["ChannelState"].dtype == "Int64"
    assert df["Exten"].dtype == STRING_DTYPE and df["Uniqueid"].dtype == STRING_DTYPE
    assert df["Priority"].dtype == STRING_DTYPE
    for never in ("exten", "calleridnum", "uniqueid", "linkedid", "timestamp"):
        assert never not in frames.KNOWN_NUMERIC_FIELDS


def test_columns_argument_selects_and_orders():
    """columns= picks and orders columns case-insensitively; unknown ones are all NA."""
    df = to_frame([msg("Event: A\nChannel: x")], columns=["channel", "Event", "Nope"])
    assert list(df.columns) == ["channel", "Event", "Nope"]
    assert df.loc[0, "channel"] == "x"
    assert df.loc[0, "Nope"] is pd.NA


def test_empty_input_gives_empty_frame():
    """No rows gives an empty frame, with the requested columns when given."""
    assert to_frame([]).shape == (0, 0)
    assert list(to_frame([], columns=["Event"]).columns) == ["Event"]


def test_action_result_to_frame_uses_frames():
    """The client's ActionResult.to_frame goes through frames (numeric passed along)."""
    from amilab.results import ActionResult

    result = ActionResult(
        [
            msg("Response: Success\nEventList: start"),
            msg("Event: Item\nCount: 5"),
            msg("Event: ItemComplete\nEventList: Complete"),
        ]
    )
    df = result.to_frame(numeric=True)
    assert df["Count"].tolist() == [5]


def test_raw_bytes_rows_equal_message_rows():
    """A raw bytes block is a row too, parsed exactly as its Message would be."""
    raws = [b"Event: A\r\nX: 1", b"Response: Follows\r\nPrivilege: Command\r\nout\n--END COMMAND--"]
    pd.testing.assert_frame_equal(to_frame(raws), to_frame([Message(r) for r in raws]))


# -- the vectorised path (amilab._fastframe) against the reference path --------
_KEYS = [
    "Event",
    "event",
    "EVENT",
    "Channel",
    "channel",
    "State",
    "X",
    "Uniqueid",
    "Cause",
    "ConnectedLineName",
    "DestConnectedLineName",
    "AVeryLongHeaderNameIndeed",
    "Twelve_Bytes",
    "Thirteen_Byte",
    "Ab",
    "K",
    "Ünïcode",
    "Ke y",
    "a\rb",
    "",
]
_VALUES = [
    "",
    "x",
    "16",
    "0044",
    "-0",
    "Local/200@amilab-00000010;1",
    "a: b:c",
    " lead",
    "  two",
    "trail\r",
    "mid\rcr",
    "é ünï",
    "99999999999999999999",
    "-7",
    "1795669599.10",
    "twelve bytes",
    "thirteen byte",
    "x" * 40,
]


def _random_block(rng: random.Random) -> bytes:
    """A block mixing every odd thing a raw AMI block may hold."""
    kind = rng.random()
    if kind < 0.04:
        return b""
    if kind < 0.08:
        body = "\n".join(rng.choice(_VALUES) for _ in range(rng.randint(0, 3)))
        return f"Response: Follows\r\nPrivilege: Command\r\n{body}\n--END COMMAND--".encode()
    lines = []
    for _ in range(rng.randint(1, 8)):
        key, value = rng.choice(_KEYS), rng.choice(_VALUES)
        shape = rng.random()
        if shape < 0.05:
            lines.append(value.encode())  # no colon (or an empty line)
        elif shape < 0.1:
            lines.append(f"{key}:{value}".encode())
        else:
            lines.append(f"{key}: {value}".encode())
    raw = rng.choice([b"\r\n", b"\n"]).join(lines)
    extra = rng.random()
    if extra < 0.05:
        raw += b"\r\nBad: \xff\xfe\xc3"
    elif extra < 0.1:
        raw += rng.choice([b"\r", b"\r\n", b"\n\n", b"\r\r"])
    return raw


def _both_paths(rows, numeric=False, columns=None):
    raws = [row.raw if isinstance(row, Message) else row for row in rows]
    fast = frames._fast_frame(raws, numeric, columns)
    assert fast is not None
    return fast, frames._reference_frame(rows, numeric, columns)


def _assert_identical(fast, ref):
    assert list(fast.columns) == list(ref.columns)
    assert list(fast.dtypes) == list(ref.dtypes)
    assert fast.equals(ref)
    pd.testing.assert_frame_equal(fast, ref)


@pytest.mark.parametrize(("slab", "window"), [(16 << 20, 1 << 18), (300, 64)])
def test_fast_path_equals_reference_on_random_blocks(monkeypatch, slab, window):
    """Random odd blocks (cases, CR/LF, no colon, Follows, bad UTF-8, repeats) frame identically."""
    from amilab import _fastframe

    monkeypatch.setattr(_fastframe, "SLAB", slab)
    monkeypatch.setattr(_fastframe, "WINDOW", window)
    monkeypatch.setattr(_fastframe, "_LINE_GUESS", 4096)  # start too small: arrays must grow
    rng = random.Random(20261126)
    for _ in range(150):
        rows = [_random_block(rng) for _ in range(rng.randint(1, 40))]
        rows = [Message(r) if rng.random() < 0.3 else r for r in rows]
        numeric = rng.choice([False, "known", True])
        columns = None
        if rng.random() < 0.2:
            columns = rng.sample([*_KEYS, "Nope"], 3)
        _assert_identical(*_both_paths(rows, numeric=numeric, columns=columns))


def test_fast_path_equals_reference_on_real_asterisk_capture():
    """Every block of the real Asterisk 22 transcripts frames identically on both paths."""
    from amilab.protocol import ReceiveBuffer

    rows = []
    for name in ("originate_async_call.ami", "queue_call.ami", "command_core_show_help.ami"):
        buffer = ReceiveBuffer(expect_greeting=True)
        rows += buffer.feed((FIXTURES / name).read_bytes())
    for numeric in (False, "known", True):
        _assert_identical(*_both_paths(rows, numeric=numeric))


def test_to_frame_takes_fast_path_for_raw_rows(monkeypatch):
    """Messages and bytes rows never reach the reference path; dict rows still do."""

    def refuse(*args):
        raise AssertionError("reference path used")

    monkeypatch.setattr(frames, "_reference_frame", refuse)
    df = to_frame([msg("Event: A\nX: 1"), b"Event: B\r\nX: 2"])
    assert df["X"].tolist() == ["1", "2"]
    with pytest.raises(AssertionError, match="reference path used"):
        to_frame([{"Event": "A"}])


def test_fast_path_canonicalises_only_special_blocks():
    """A Follows block, or one that is not UTF-8, is re-encoded from Message.headers first."""
    from amilab import _fastframe

    follows = b"Response: Follows\r\nPrivilege: Command\r\nline: one\n--END COMMAND--"
    joined = _fastframe._joined([b"Event: A", follows, b"K: \xff", "\u00dc: \u00e9".encode()])
    assert joined.data == (
        b"Event: A\r\n"
        + b"Response: Follows\r\nPrivilege: Command\r\nOutput: line: one\r\n\r\n"
        + "K: \ufffd\r\n\r\n".encode()
        + "\u00dc: \u00e9\r\n".encode()
        + bytes(16)
    )


def test_fast_path_repeat_first_seen_in_a_later_slab(monkeypatch):
    """A header repeated only in a later slab still makes one object column of str/tuple/NA."""
    from amilab import _fastframe

    monkeypatch.setattr(_fastframe, "SLAB", 64)
    rows = [f"Event: E{i}\r\nState: s{i}".encode() for i in range(6)]
    rows += [b"Event: T\r\nState: a\r\nState: b", b"Event: U"]
    fast, ref = _both_paths(rows)
    _assert_identical(fast, ref)
    assert fast["State"].tolist() == [*(f"s{i}" for i in range(6)), ("a", "b"), pd.NA]


def test_fast_path_blocks_without_headers():
    """Empty blocks are rows without cells, on both paths, even when no block has a header."""
    _assert_identical(*_both_paths([b"", b"\r\n"]))
    _assert_identical(*_both_paths([b"", b"Event: A", b""]))

"""ReceiveBuffer: framing, greeting, chunking, decoding and limits, fed bytes directly."""

from __future__ import annotations

import random

import pytest

from amilab.errors import ProtocolError
from amilab.protocol.buffer import MAX_GREETING_SIZE, ReceiveBuffer
from amilab.protocol.message import Message

GREETING = b"Asterisk Call Manager/11.0.0\r\n"

STREAM = (
    GREETING
    + b"Response: Success\r\nActionID: a-1\r\nMessage: Authentication accepted\r\n\r\n"
    + b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 62\r\nStatus: Fully Booted\r\n\r\n"
    + b"Response: Success\r\nActionID: a-2\r\nEventList: start\r\nMessage: will follow\r\n\r\n"
    + "Event: Newchannel\r\nChannel: PJSIP/100-0000002a\r\nCallerIDName: Zoë € 📞\r\n"
    "AccountCode: \r\nExten: 0044\r\nUniqueid: 1795669599.10\r\n\r\n".encode()
    + b"\r\n\r\n"  # stray blank lines between messages
    + b"Event: TestEvent\r\nState: one\r\nState: two\r\n\r\n"
    + b"Event: CoreShowChannelsComplete\r\nActionID: a-2\r\nEventList: Complete\r\n"
    + b"ListItems: 1\r\n\r\n"
)

FOLLOWS_GLUED = (
    b"Response: Follows\r\nPrivilege: Command\r\nActionID: c-1\r\n"
    b"Channel              Location\r\n"
    b"\r\n"
    b"Key: value with: colons\r\n"
    b"\r\n"
    b"1 active channel--END COMMAND--\r\n\r\n"
)
FOLLOWS_OWN_LINE = (
    b"Response: Follows\r\nPrivilege: Command\r\nActionID: c-2\r\n"
    b"line one\r\n"
    b"\r\n"
    b"\r\n"
    b"Name: Value\r\n"
    b"last line\r\n"
    b"--END COMMAND--\r\n\r\n"
)
FOLLOWS_STREAM = (
    GREETING
    + b"Event: Ping\r\nX: 1\r\n\r\n"
    + FOLLOWS_GLUED
    + b"Event: Between\r\nY: 2\r\n\r\n"
    + FOLLOWS_OWN_LINE
    + b"Response: Success\r\nActionID: c-3\r\n\r\n"
)


def feed_chunks(chunks: list[bytes], **kwargs: object) -> tuple[ReceiveBuffer, list[Message]]:
    """Feed chunks in order into a fresh client-side buffer; return it and all messages."""
    buf = ReceiveBuffer(**kwargs)  # type: ignore[arg-type]
    out: list[Message] = []
    for chunk in chunks:
        out.extend(buf.feed(chunk))
    return buf, out


def snapshot(messages: list[Message]) -> list[tuple[bytes, list[tuple[str, str]]]]:
    return [(m.raw, m.headers) for m in messages]


def random_chunks(data: bytes, rng: random.Random, top: int = 40) -> list[bytes]:
    chunks, pos = [], 0
    while pos < len(data):
        size = rng.randint(1, top)
        chunks.append(data[pos : pos + size])
        pos += size
    return chunks


# -- greeting -----------------------------------------------------------------
def test_greeting_is_one_crlf_line_not_a_block() -> None:
    """The greeting completes on its single CRLF, with no blank line after it."""
    buf = ReceiveBuffer()
    assert buf.feed(GREETING) == []
    assert buf.greeting == "Asterisk Call Manager/11.0.0"
    assert buf.buffered == 0


def test_greeting_split_across_chunks() -> None:
    """A greeting arriving in pieces is recognised only once its line ends."""
    buf = ReceiveBuffer()
    for i in range(len(GREETING) - 1):
        buf.feed(GREETING[i : i + 1])
        assert buf.greeting is None
    buf.feed(GREETING[-1:])
    assert buf.greeting == "Asterisk Call Manager/11.0.0"


def test_greeting_followed_by_message_in_same_chunk() -> None:
    """Bytes after the greeting line in the same chunk are framed as messages."""
    buf = ReceiveBuffer()
    msgs = buf.feed(GREETING + b"Response: Success\r\nActionID: 1\r\n\r\n")
    assert buf.greeting is not None
    assert [m.headers for m in msgs] == [[("Response", "Success"), ("ActionID", "1")]]


@pytest.mark.parametrize(
    "first_line",
    [b"HTTP/1.1 400 Bad Request\r\n", b"SSH-2.0-OpenSSH_9.6p1 Debian-4\r\n", b"\r\n"],
)
def test_non_ami_first_line_raises_naming_it(first_line: bytes) -> None:
    """A first line that is not an AMI greeting raises ProtocolError quoting what was seen."""
    buf = ReceiveBuffer()
    with pytest.raises(ProtocolError) as info:
        buf.feed(first_line)
    seen = first_line.rstrip(b"\r\n").decode()
    assert repr(seen) in str(info.value)


def test_no_newline_within_greeting_limit_raises() -> None:
    """A peer that sends more than MAX_GREETING_SIZE bytes without a newline is refused."""
    buf = ReceiveBuffer()
    prefix = b"Asterisk Call Manager/"
    assert buf.feed(prefix + b"A" * (MAX_GREETING_SIZE - len(prefix))) == []
    with pytest.raises(ProtocolError, match="greeting line in the first"):
        buf.feed(b"A")


def test_lf_only_greeting_and_messages() -> None:
    """An LF-only server (greeting ended by LF) is framed on a bare blank line."""
    buf = ReceiveBuffer()
    msgs = buf.feed(b"Asterisk Call Manager/1.1\nResponse: Success\nActionID: 7\n\nEvent: X\n\n")
    assert buf.greeting == "Asterisk Call Manager/1.1"
    assert [m.headers for m in msgs] == [
        [("Response", "Success"), ("ActionID", "7")],
        [("Event", "X")],
    ]


def test_server_side_detects_separator_without_greeting() -> None:
    """expect_greeting=False frames from the first byte, detecting CRLF vs LF."""
    crlf = ReceiveBuffer(expect_greeting=False)
    assert [m.name for m in crlf.feed(b"Action: Ping\r\nActionID: 1\r\n\r\n")] == ["Ping"]
    lf = ReceiveBuffer(expect_greeting=False)
    assert [m.name for m in lf.feed(b"Action: Ping\nActionID: 1\n\n")] == ["Ping"]
    assert crlf.greeting is None and lf.greeting is None


# -- chunking -----------------------------------------------------------------
@pytest.mark.parametrize("stream", [STREAM, FOLLOWS_STREAM], ids=["events", "follows"])
def test_every_two_way_split_equals_one_shot(stream: bytes) -> None:
    """Splitting the stream at any byte gives exactly the messages of one-shot feeding."""
    whole_buf, whole = feed_chunks([stream])
    expected = snapshot(whole)
    assert len(whole) > 3
    for cut in range(len(stream) + 1):
        buf, msgs = feed_chunks([stream[:cut], stream[cut:]])
        assert snapshot(msgs) == expected, cut
        assert buf.decode_errors == whole_buf.decode_errors
        assert buf.buffered == 0


@pytest.mark.parametrize("stream", [STREAM, FOLLOWS_STREAM], ids=["events", "follows"])
def test_byte_by_byte_equals_one_shot(stream: bytes) -> None:
    """Feeding one byte at a time gives exactly the messages of one-shot feeding."""
    _, whole = feed_chunks([stream])
    _, msgs = feed_chunks([stream[i : i + 1] for i in range(len(stream))])
    assert snapshot(msgs) == snapshot(whole)


@pytest.mark.parametrize("seed", range(20))
def test_random_chunking_equals_one_shot(seed: int) -> None:
    """Random chunk sizes (seeded) over both streams give the one-shot messages."""
    rng = random.Random(seed)
    for stream in (STREAM, FOLLOWS_STREAM, STREAM + FOLLOWS_STREAM[len(GREETING) :]):
        _, whole = feed_chunks([stream])
        _, msgs = feed_chunks(random_chunks(stream, rng))
        assert snapshot(msgs) == snapshot(whole)


def test_one_shot_stream_content() -> None:
    """The realistic stream frames into the expected messages, blank lines ignored."""
    buf, msgs = feed_chunks([STREAM])
    assert [m.name for m in msgs] == [
        "Success",
        "FullyBooted",
        "Success",
        "Newchannel",
        "TestEvent",
        "CoreShowChannelsComplete",
    ]
    assert buf.decode_errors == 0
    assert msgs[3]["CallerIDName"] == "Zoë € 📞"
    assert msgs[4].getall("State") == ["one", "two"]


def test_extra_blank_lines_between_messages_yield_no_empty_messages() -> None:
    """Any number of blank lines between messages produces no empty Message."""
    for n in range(0, 6):
        data = GREETING + b"Event: A\r\n\r\n" + b"\r\n" * n + b"Event: B\r\n\r\n"
        for cut in range(len(data) + 1):
            _, msgs = feed_chunks([data[:cut], data[cut:]])
            assert [m.headers for m in msgs] == [[("Event", "A")], [("Event", "B")]], (n, cut)


# -- decoding -----------------------------------------------------------------
@pytest.mark.parametrize("char", ["é", "€", "📞"])
def test_multibyte_char_split_across_chunks(char: str) -> None:
    """A UTF-8 character cut between two reads is decoded intact, with no decode error."""
    data = GREETING + f"Event: Newchannel\r\nCallerIDName: Ab{char}cd\r\n\r\n".encode()
    start = data.index(char.encode())
    for cut in range(start + 1, start + len(char.encode())):
        buf, msgs = feed_chunks([data[:cut], data[cut:]])
        assert msgs[0]["CallerIDName"] == f"Ab{char}cd"
        assert buf.decode_errors == 0


def test_undecodable_bytes_become_replacement_and_are_counted() -> None:
    """Invalid UTF-8 becomes U+FFFD, is counted, and the rest of the message survives."""
    data = GREETING + b"Event: X\r\nName: a\xffb\xfe\r\nOther: ok\r\n\r\nEvent: Y\r\n\r\n"
    buf, msgs = feed_chunks([data])
    assert msgs[0]["Name"] == "a\ufffdb\ufffd"
    assert msgs[0]["Other"] == "ok"
    assert msgs[1].name == "Y"
    assert buf.decode_errors == 2


def test_literal_replacement_char_is_not_counted_as_error() -> None:
    """A U+FFFD sent on purpose, next to a real bad byte, counts only the bad byte."""
    data = GREETING + "Event: X\r\nName: \ufffd".encode() + b"\xff\r\n\r\n"
    buf, msgs = feed_chunks([data])
    assert msgs[0]["Name"] == "\ufffd\ufffd"
    assert buf.decode_errors == 1


# -- pre-14 Command output --------------------------------------------------------
def test_follows_block_glued_marker() -> None:
    """Response: Follows with the marker glued to the last line keeps every body line."""
    _, msgs = feed_chunks([GREETING + FOLLOWS_GLUED])
    (msg,) = msgs
    assert msg.name == "Follows"
    assert msg.action_id == "c-1"
    assert msg["Privilege"] == "Command"
    assert msg.getall("Output") == [
        "Channel              Location",
        "",
        "Key: value with: colons",
        "",
        "1 active channel",
    ]


def test_follows_block_marker_on_own_line() -> None:
    """Response: Follows with the marker on its own line keeps blank and ': ' body lines."""
    _, msgs = feed_chunks([GREETING + FOLLOWS_OWN_LINE])
    (msg,) = msgs
    assert msg.getall("Output") == ["line one", "", "", "Name: Value", "last line"]
    assert "Name" not in msg


def test_follows_block_then_messages_frame_normally() -> None:
    """Messages around Follows blocks are framed on blank lines as usual."""
    _, msgs = feed_chunks([FOLLOWS_STREAM])
    assert [(m.name, m.action_id) for m in msgs] == [
        ("Ping", None),
        ("Follows", "c-1"),
        ("Between", None),
        ("Follows", "c-2"),
        ("Success", "c-3"),
    ]


def test_follows_block_lf_only() -> None:
    """An LF-only old server's Follows block is framed on its marker too."""
    data = (
        b"Asterisk Call Manager/1.0\n"
        b"Response: Follows\nPrivilege: Command\nActionID: z\nfoo\n\nbar--END COMMAND--\n\n"
        b"Event: After\n\n"
    )
    for cut in range(len(data) + 1):
        _, msgs = feed_chunks([data[:cut], data[cut:]])
        assert [m.getall("Output") for m in msgs] == [["foo", "", "bar"], []], cut
        assert msgs[1].name == "After"


# -- limits -------------------------------------------------------------------
def test_oversized_whole_message_raises() -> None:
    """A complete message larger than max_message_size raises ProtocolError."""
    buf = ReceiveBuffer(max_message_size=1000)
    buf.feed(GREETING)
    with pytest.raises(ProtocolError, match="max_message_size"):
        buf.feed(b"Event: Big\r\nData: " + b"x" * 1000 + b"\r\n\r\n")


def test_message_at_limit_is_accepted() -> None:
    """A message of exactly max_message_size bytes is accepted."""
    buf = ReceiveBuffer(max_message_size=1000)
    buf.feed(GREETING)
    head = b"Event: Big\r\nData: "
    block = head + b"x" * (1000 - len(head))
    (msg,) = buf.feed(block + b"\r\n\r\n")
    assert len(msg.raw) == 1000


def test_growing_message_without_terminator_raises_and_stays_bounded() -> None:
    """A message growing with no end raises once past the limit; memory stays bounded."""
    buf = ReceiveBuffer(max_message_size=1000)
    buf.feed(GREETING + b"Event: Endless\r\n")
    with pytest.raises(ProtocolError, match="max_message_size"):
        for _ in range(200):
            buf.feed(b"Data: 0123456789\r\n")
            assert buf.buffered <= 1000
    assert buf.buffered == 0


def test_growing_follows_block_without_marker_raises() -> None:
    """A Follows block that never sends --END COMMAND-- is bounded by max_message_size."""
    buf = ReceiveBuffer(max_message_size=1000)
    buf.feed(GREETING + b"Response: Follows\r\nPrivilege: Command\r\n")
    with pytest.raises(ProtocolError):
        for _ in range(200):
            buf.feed(b"output line\r\n\r\n")
            assert buf.buffered <= 1000


@pytest.mark.parametrize("line", [b"Key: value", b"a:1", b"x"])
def test_too_many_header_lines_raises(line: bytes) -> None:
    """A message with more than max_headers lines raises, however short the lines are."""
    ok = ReceiveBuffer(expect_greeting=False, max_headers=10)
    (msg,) = ok.feed(b"\n".join([b"Event: X"] + [line] * 9) + b"\n\n")
    assert len(msg.headers) == 10
    buf = ReceiveBuffer(expect_greeting=False, max_headers=10)
    with pytest.raises(ProtocolError, match="max_headers"):
        buf.feed(b"\n".join([b"Event: X"] + [line] * 10) + b"\n\n")


def test_errors_are_sticky() -> None:
    """After a ProtocolError every further feed raises, even with valid bytes."""
    buf = ReceiveBuffer()
    with pytest.raises(ProtocolError) as first:
        buf.feed(b"HTTP/1.1 400 Bad Request\r\n")
    with pytest.raises(ProtocolError) as again:
        buf.feed(GREETING)
    assert again.value is first.value
    assert buf.buffered == 0


def test_ended_cleanly_reports_partial_message() -> None:
    """ended_cleanly is False while a partial message waits, True after it completes."""
    buf = ReceiveBuffer()
    buf.feed(GREETING + b"Event: X\r\n")
    assert not buf.ended_cleanly
    buf.feed(b"\r\n")
    assert buf.ended_cleanly

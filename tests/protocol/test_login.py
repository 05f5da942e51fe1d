"""login_flow driven by hand: the actions it yields and how it treats each answer."""

from __future__ import annotations

import hashlib
import pickle

import pytest

from amilab.errors import ActionError, AuthenticationError
from amilab.protocol.login import Credentials, Secret, challenge_key, login_flow, setup_flow
from amilab.protocol.message import Message
from amilab.protocol.result import ActionResult
from amilab.protocol.serialize import Action

SECRET = "amilab-s3cret-value"


def answer(**headers: str) -> ActionResult:
    return ActionResult([Message.from_pairs(list(headers.items()))])


def finish(flow, result: ActionResult) -> ActionResult:  # type: ignore[no-untyped-def]
    with pytest.raises(StopIteration) as stop:
        flow.send(result)
    value: ActionResult = stop.value.value
    return value


@pytest.mark.parametrize(
    ("challenge", "secret", "digest"),
    [
        # RFC 1321 appendix A.5 test vectors, split between challenge and secret.
        ("a", "bc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message ", "digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        ("", "", "d41d8cd98f00b204e9800998ecf8427e"),
    ],
)
def test_challenge_key_known_vectors(challenge: str, secret: str, digest: str) -> None:
    """challenge_key is lowercase hex md5(challenge + secret)."""
    assert challenge_key(challenge, secret) == digest


def test_md5_path() -> None:
    """auto sends Challenge, then Login with Key = md5(challenge + secret) and no Secret."""
    flow = login_flow("admin", SECRET)
    first = next(flow)
    assert first == Action("Challenge", AuthType="md5")
    login = flow.send(answer(Response="Success", Challenge="840415273"))
    expected = hashlib.md5(("840415273" + SECRET).encode()).hexdigest()
    assert login.name == "Login"
    assert dict(login.headers) == {"AuthType": "md5", "Username": "admin", "Key": expected}
    assert SECRET not in login.to_bytes().decode()
    ok = answer(Response="Success", Message="Authentication accepted")
    assert finish(flow, ok) is ok


def test_plain_path() -> None:
    """auth='plain' sends one Login with Username and Secret."""
    flow = login_flow("admin", SECRET, auth="plain")
    login = next(flow)
    assert login == Action("Login", Username="admin", Secret=SECRET)
    ok = answer(Response="Success", Message="Authentication accepted")
    assert finish(flow, ok) is ok


def test_auto_falls_back_to_plain_when_challenge_refused() -> None:
    """auto falls back to a plain Login when Challenge answers Error."""
    flow = login_flow("admin", SECRET)
    assert next(flow).name == "Challenge"
    login = flow.send(answer(Response="Error", Message="Must specify AuthType"))
    assert login == Action("Login", Username="admin", Secret=SECRET)
    ok = answer(Response="Success")
    assert finish(flow, ok) is ok


def test_md5_only_raises_when_challenge_refused() -> None:
    """auth='md5' raises AuthenticationError when Challenge is refused."""
    flow = login_flow("admin", SECRET, auth="md5")
    next(flow)
    with pytest.raises(AuthenticationError, match="plain"):
        flow.send(answer(Response="Error", Message="Must specify AuthType"))


@pytest.mark.parametrize("auth", ["plain", "md5"])
def test_refusal_raises_without_secret(auth: str) -> None:
    """A refused Login raises AuthenticationError naming the user and reason, never the secret."""
    flow = login_flow("admin", SECRET, auth=auth)  # type: ignore[arg-type]
    next(flow)
    if auth == "md5":
        flow.send(answer(Response="Success", Challenge="123"))
    with pytest.raises(AuthenticationError) as info:
        flow.send(answer(Response="Error", Message="Authentication failed"))
    text = str(info.value) + repr(info.value)
    assert SECRET not in text
    assert challenge_key("123", SECRET) not in text
    assert "admin" in text and "Authentication failed" in text


@pytest.mark.parametrize(
    ("events", "mask"),
    [("off", "off"), ("call,system", "call,system"), (True, "on"), (False, "off")],
)
def test_event_mask(events: str | bool, mask: str) -> None:
    """events= sets the Login's Events header; True/False become on/off."""
    flow = login_flow("admin", SECRET, auth="plain", events=events)
    assert next(flow).headers[-1] == ("Events", mask)


def test_no_event_mask_by_default() -> None:
    """Without events=, the Login carries no Events header."""
    flow = login_flow("admin", SECRET, auth="plain")
    assert "Events" not in dict(next(flow).headers)


def test_login_repr_masks_secret() -> None:
    """The yielded Login action's repr hides the secret and the key."""
    flow = login_flow("admin", SECRET, auth="plain")
    assert SECRET not in repr(next(flow))
    md5 = login_flow("admin", SECRET, auth="md5")
    next(md5)
    login = md5.send(answer(Response="Success", Challenge="42"))
    assert challenge_key("42", SECRET) not in repr(login)


@pytest.mark.parametrize("char", ["\x00", "\r", "\n"])
def test_credentials_with_control_characters_are_refused_at_once(char):
    """A username or secret with CR, LF or NUL is refused when built, never echoing the secret."""
    from amilab.protocol.login import Credentials

    with pytest.raises(ValueError, match="Username"):
        Credentials(f"ad{char}min", "pw")
    secret = f"Sx7-secret{char}tail"
    with pytest.raises(ValueError, match="Secret") as info:
        Credentials("admin", secret)
    assert "Sx7-secret" not in str(info.value) and "tail" not in str(info.value)


def test_secret_refuses_pickling_saying_why() -> None:
    """Pickling a Secret is a TypeError that says it would write the secret out in clear."""
    with pytest.raises(TypeError, match=r"cannot be pickled .*in clear"):
        pickle.dumps(Secret(SECRET))


def test_refusal_without_a_message_says_no_reason_was_given() -> None:
    """A refused Login that carries no Message says so instead of an empty reason."""
    flow = login_flow("admin", SECRET, auth="plain")
    next(flow)
    with pytest.raises(AuthenticationError, match=r"refused by the server: no reason given\."):
        flow.send(answer(Response="Error"))


def test_setup_flow_sends_the_credentials_event_mask() -> None:
    """setup_flow logs in with the Credentials' event mask (Events: off), not without one."""
    flow = setup_flow(Credentials("admin", SECRET, auth="plain", events=False))
    login = next(flow)
    assert login.name == "Login" and ("Events", "off") in login.headers


def test_setup_flow_refused_filter_raises_with_the_answer() -> None:
    """A refused Filter raises ActionError carrying the server's answer and naming the filter."""
    flow = setup_flow(Credentials("admin", SECRET, auth="plain"), ["Event: Hangup"])
    next(flow)
    add = flow.send(answer(Response="Success"))
    assert add.name == "Filter" and ("Filter", "Event: Hangup") in add.headers
    refusal = answer(Response="Error", Message="Permission denied")
    with pytest.raises(ActionError, match="'Event: Hangup': Permission denied") as refused:
        flow.send(refusal)
    assert refused.value.result is refusal

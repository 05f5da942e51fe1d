"""Connection details pinned after mutation testing (mutmut on amilab/connection.py)."""

from __future__ import annotations

import asyncio

import pytest

import amilab
import amilab.sim
from amilab import AMIClient
from amilab.connection import format_seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(4.999998635999873, "5.0s"), (0.1, "0.1s"), (0.05, "0.05s"), (0.004, "0.00s")],
)
def test_format_seconds_rounds_for_messages(seconds: float, text: str) -> None:
    """Durations in messages: one decimal from 0.1s up, two below (never 0.0s for 50 ms)."""
    assert format_seconds(seconds) == text


async def test_request_checks_the_answer_by_default() -> None:
    """Connection.request raises ActionError for Response: Error unless check=False, and the
    error carries the whole result."""
    sim = amilab.sim.start()
    try:
        async with AMIClient(
            sim.host,
            sim.port,
            username="admin",
            secret=amilab.sim.DEFAULT_SECRET,
            ping_interval=None,
        ) as ami:
            conn = ami.connection
            assert conn is not None
            deadline = asyncio.get_running_loop().time() + 5
            bogus = amilab.Action("NoSuchAction")
            with pytest.raises(amilab.ActionError) as refused:
                await conn.request(bogus, deadline=deadline, budget=5)
            assert refused.value.result is not None and not refused.value.result.ok
            assert str(refused.value).startswith("NoSuchAction failed: ")
            answer = await conn.request(bogus, deadline=deadline, budget=5, check=False)
            assert not answer.ok
    finally:
        sim.stop()

"""Fixtures for the simulator tests: the simulator on port 0 and raw clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sim_helpers import RawClient

from amilab.sim import SimulatorServer


@pytest.fixture
async def server() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(seed=1) as srv:
        yield srv


@pytest.fixture
async def connect(server: SimulatorServer):
    clients: list[RawClient] = []

    async def make(login: str | None = "admin", secret: str = "amilab") -> RawClient:
        client = await RawClient().connect(server.host, server.port)
        clients.append(client)
        if login:
            result = await client.login(login, secret)
            assert result.ok, result
        return client

    yield make
    for client in clients:
        await client.close()

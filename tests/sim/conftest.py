"""Fixtures for the simulator tests: the simulator on port 0 and raw clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sim_helpers import RawClient

from amilab.sim import PBX, SimulatorServer, VirtualClock


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


@pytest.fixture
async def vserver():
    """A simulator on a virtual clock: calls advance only with pbx.clock.run_for()."""
    async with SimulatorServer(pbx=PBX(clock=VirtualClock(), seed=1)) as srv:
        yield srv


@pytest.fixture
async def admin(vserver):
    """A raw client logged in as admin on the virtual-clock simulator."""
    client = await RawClient().connect(vserver.host, vserver.port)
    await client.login("admin", "amilab")
    yield client
    await client.close()

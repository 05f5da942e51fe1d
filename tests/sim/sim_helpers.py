"""A raw AMI test client: asyncio streams plus ClientProtocol (no amilab.client)."""

from __future__ import annotations

import asyncio
import contextlib

from amilab.protocol import Action, ActionResult, ClientProtocol, Completed, Greeting, Message

TIMEOUT = 5.0


class RawClient:
    """One AMI connection: send actions, collect their results and the events."""

    def __init__(self) -> None:
        self.proto = ClientProtocol(id_prefix="t-", raw=True)
        self.events: list[Message] = []
        self.greeting: str | None = None
        self.closed = asyncio.Event()
        self._results: dict[str, asyncio.Future[ActionResult]] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter

    async def connect(self, host: str, port: int) -> RawClient:
        self.reader, self.writer = await asyncio.open_connection(host, port)
        self._task = asyncio.create_task(self._read())
        await self.wait_for(lambda: self.greeting is not None)
        return self

    async def _read(self) -> None:
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                for item in self.proto.receive_data(data):
                    if isinstance(item, Greeting):
                        self.greeting = item.line
                    elif isinstance(item, Completed):
                        fut = self._results.pop(item.action_id, None)
                        if fut is not None and not fut.done():
                            fut.set_result(item.result)
                    elif isinstance(item, Message):  # a Stray is no event
                        self.events.append(item)
                self._changed.set()
        except (ConnectionError, OSError):
            pass
        finally:
            self.closed.set()
            self._changed.set()

    async def action(self, name: str, **headers: object) -> ActionResult:
        action_id, data = self.proto.send(Action(name, headers))
        fut: asyncio.Future[ActionResult] = asyncio.get_running_loop().create_future()
        self._results[action_id] = fut
        self.writer.write(data)
        return await asyncio.wait_for(fut, TIMEOUT)

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def login(self, username: str = "admin", secret: str = "amilab", **kw: object):
        result = await self.action("Login", Username=username, Secret=secret, **kw)
        if result.ok:
            self.proto.state = self.proto.state.__class__.READY
        return result

    async def wait_for(self, predicate, timeout: float = TIMEOUT) -> None:
        async def loop() -> None:
            while not predicate():
                self._changed.clear()
                if self.closed.is_set() and not predicate():
                    raise ConnectionError("closed while waiting")
                await self._changed.wait()

        await asyncio.wait_for(loop(), timeout)

    async def wait_event(self, name: str, timeout: float = TIMEOUT, **match: str) -> Message:
        def find() -> Message | None:
            for e in self.events:
                if e.name == name and all(e.get(k) == v for k, v in match.items()):
                    return e
            return None

        await self.wait_for(lambda: find() is not None, timeout)
        found = find()
        assert found is not None
        return found

    def names(self) -> list[str]:
        return [e.name or "" for e in self.events]

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()
        if self._task is not None:
            await asyncio.wait_for(self._task, TIMEOUT)

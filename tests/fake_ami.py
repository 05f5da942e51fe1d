"""FakeAMI: a small scriptable AMI server for the client's failure-case tests.

Built on ServerProtocol, so its framing is the library's own; its behaviour is
set per test: how slowly it greets and answers the login, whether it answers
Ping, whether it floods events after login. It counts what a test needs to
prove: connections accepted, logins, and connections still logged in.
"""

from __future__ import annotations

import asyncio
import contextlib

from amilab.protocol import ServerProtocol


class FakeAMI:
    """``async with FakeAMI(...) as server``; connect clients to ``server.port``."""

    def __init__(
        self,
        *,
        greeting_delay: float = 0.0,
        login_delay: float = 0.0,
        answer_ping: bool = True,
        flood_every: float | None = None,
        secret: str = "s",
    ) -> None:
        self.greeting_delay = greeting_delay
        self.login_delay = login_delay
        self.answer_ping = answer_ping
        self.flood_every = flood_every
        self.secret = secret
        self.accepted = 0
        self.logins = 0
        self.logged_in: set[asyncio.StreamWriter] = set()
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> FakeAMI:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.transport.abort()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def logged_in_now(self) -> int:
        """Connections that logged in and are still open."""
        return sum(1 for w in self.logged_in if not w.is_closing())

    def drop_all(self) -> None:
        for w in self.writers:
            w.transport.abort()

    async def _flood(self, writer: asyncio.StreamWriter, every: float) -> None:
        n = 0
        while not writer.is_closing():
            n += 1
            writer.write(ServerProtocol.event("Flood", {"N": n}))
            await asyncio.sleep(every)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.writers.append(writer)
        task = asyncio.current_task()
        assert task is not None
        self.tasks.append(task)
        sp = ServerProtocol()
        try:
            await asyncio.sleep(self.greeting_delay)
            writer.write(sp.greeting())
            while data := await reader.read(65536):
                for act in sp.receive_data(data):
                    await self._answer(sp, act, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.logged_in.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, sp: ServerProtocol, act, writer: asyncio.StreamWriter) -> None:  # type: ignore[no-untyped-def]
        name = (act.get("Action") or "").lower()
        if name == "login":
            await asyncio.sleep(self.login_delay)
            if act.get("Secret") != self.secret:
                writer.write(sp.response(act, "Error", "Authentication failed"))
                return
            self.logins += 1
            self.logged_in.add(writer)
            writer.write(sp.response(act, message="Authentication accepted"))
            if self.flood_every is not None:
                self.tasks.append(asyncio.create_task(self._flood(writer, self.flood_every)))
        elif name == "logoff":
            writer.write(sp.response(act, "Goodbye", "Thanks for all the fish."))
            self.logged_in.discard(writer)
            writer.close()
        elif name == "ping" and not self.answer_ping:
            return
        else:
            writer.write(sp.response(act, message="ok"))

"""Turns for requests that write to SQLite.

SQLite lets one transaction write at a time. A request's dependencies and its route run
in different worker threads, so a request holding the write lock may need a free thread
to finish; if every thread were taken by requests waiting for that lock, it would wait
for them as they wait for it. Writing requests therefore wait for a turn here, in the
event loop, before they take a thread or a pooled connection. PostgreSQL needs no turns.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from laoke.errors import N_, Conflict

TURNS_AT_ONCE = 4


class Busy(Conflict):
    code = "busy_retry"
    default_message = N_("Someone else is changing the same records. Please try again.")


class WriteTurns:
    def __init__(self, at_once: int, timeout_s: float) -> None:
        self.at_once = at_once
        self.timeout_s = timeout_s
        # One semaphore per event loop: test clients run each app on loops of their own.
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._by_loop = weakref.WeakKeyDictionary()

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        found = self._by_loop.get(loop)
        if found is None:
            found = self._by_loop[loop] = asyncio.Semaphore(self.at_once)
        return found

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        semaphore = self._semaphore()
        try:
            await asyncio.wait_for(semaphore.acquire(), self.timeout_s)
        except TimeoutError:
            raise Busy() from None
        try:
            yield
        finally:
            semaphore.release()

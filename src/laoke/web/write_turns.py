"""Turns for requests that write.

A request's dependencies, its route and the closing of its session run in different
worker threads, so a request holding a lock (SQLite's write lock, or a PostgreSQL row
lock such as the tenant's ledger head) may need a free thread, or its connection back,
to finish. Were every thread and pooled connection taken by requests waiting for that
lock, it would wait for them as they wait for it. Writing requests therefore wait for a
turn here, in the event loop, before they take a thread or a connection: a few at a time
on SQLite, which writes one transaction at a time anyway, more on PostgreSQL, always
fewer than the worker threads.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from laoke.errors import N_, Conflict

SQLITE_TURNS = 4
POSTGRES_TURNS = 16  # of 40 worker threads and 30 pooled connections
POSTGRES_TURN_WAIT_S = 30.0  # as long as a request would wait for a pooled connection


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

    @classmethod
    def for_database(cls, is_sqlite: bool, sqlite_busy_timeout_s: float) -> WriteTurns:
        if is_sqlite:
            return cls(SQLITE_TURNS, sqlite_busy_timeout_s)
        return cls(POSTGRES_TURNS, POSTGRES_TURN_WAIT_S)

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

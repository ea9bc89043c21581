"""Writing requests take turns in the event loop, before they hold a thread."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from laoke.web.write_turns import POSTGRES_TURNS, SQLITE_TURNS, Busy, WriteTurns


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    """asyncio.run in a thread of its own: this one may already run a loop (the browser
    tests' Playwright leaves one behind)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, scenario()).result()


def test_turns_admit_so_many_at_once_and_the_rest_wait() -> None:
    async def scenario() -> list[str]:
        turns = WriteTurns(at_once=2, timeout_s=5)
        log: list[str] = []

        async def request(name: str, hold: float) -> None:
            async with turns.turn():
                log.append(f"+{name}")
                await asyncio.sleep(hold)
                log.append(f"-{name}")

        await asyncio.gather(request("a", 0.05), request("b", 0.05), request("c", 0.0))
        return log

    log = run(scenario)
    assert log.index("+c") > min(log.index("-a"), log.index("-b"))
    assert log.count("+a") == log.count("+b") == log.count("+c") == 1


def test_a_turn_not_given_in_time_is_busy() -> None:
    async def scenario() -> None:
        turns = WriteTurns(at_once=1, timeout_s=0.05)
        async with turns.turn():
            with pytest.raises(Busy) as busy:
                async with turns.turn():
                    pass
            assert busy.value.code == "busy_retry" and busy.value.status == 409
        async with turns.turn():  # given back
            pass

    run(scenario)


def test_each_event_loop_has_turns_of_its_own() -> None:
    turns = WriteTurns(at_once=1, timeout_s=0.05)

    async def one_turn() -> None:
        async with turns.turn():
            await asyncio.sleep(0)

    run(one_turn)
    run(one_turn)  # a semaphore bound to the first loop would refuse this one


def test_sqlite_takes_a_few_turns_postgresql_more_both_fewer_than_the_threads(
    app, database
) -> None:
    turns = app.state.write_turns
    assert turns.at_once == (SQLITE_TURNS if database.is_sqlite else POSTGRES_TURNS)
    assert turns.at_once < 40  # anyio's worker threads

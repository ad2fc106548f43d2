"""A clean stop waits, bounded, for the tasks marked finish_before_exit, including the cleanup
they start while it waits; everything else is left alone."""

from __future__ import annotations

import asyncio

from dataplane.core.tasks import hold_current_task, running_tasks, spawn, wait_for_unfinished


def test_the_wait_covers_cleanup_started_by_a_task_that_is_ending() -> None:
    finished: list[str] = []

    async def drop_role() -> None:
        await asyncio.sleep(0.05)
        finished.append("role dropped")

    async def session() -> None:
        try:
            await asyncio.sleep(0.05)
        finally:
            spawn(drop_role(), name="pg-drop-role-x", finish_before_exit=True)
        finished.append("session ended")

    async def scenario() -> None:
        spawn(session(), name="pg-connection", finish_before_exit=True)
        assert await wait_for_unfinished(2.0) == frozenset()

    asyncio.run(scenario())
    assert finished == ["session ended", "role dropped"]


def test_the_wait_is_bounded_and_names_what_is_left() -> None:
    async def scenario() -> None:
        stuck = spawn(asyncio.sleep(10), name="stuck-cleanup", finish_before_exit=True)
        started = asyncio.get_running_loop().time()
        assert await wait_for_unfinished(0.1) == frozenset({stuck})
        assert asyncio.get_running_loop().time() - started < 1.0
        stuck.cancel()

    asyncio.run(scenario())


def test_ordinary_tasks_are_not_waited_for() -> None:
    async def scenario() -> None:
        background = spawn(asyncio.sleep(10), name="control-plane-link")
        assert await wait_for_unfinished(5.0) == frozenset()
        background.cancel()

    asyncio.run(scenario())


def test_a_task_asyncio_started_can_be_held_and_waited_for() -> None:
    async def scenario() -> None:
        async def handler() -> None:
            hold_current_task(name="postgres-connection", finish_before_exit=True)
            await asyncio.sleep(0.05)

        task = asyncio.get_running_loop().create_task(handler())
        await asyncio.sleep(0)
        assert task.get_name() == "postgres-connection"
        assert task in running_tasks()
        assert await wait_for_unfinished(2.0) == frozenset()
        assert task.done()

    asyncio.run(scenario())

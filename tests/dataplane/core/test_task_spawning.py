"""spawn keeps tasks alive and reports how they died; cancel_and_wait really waits."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from dataplane.core.tasks import cancel_and_wait, running_tasks, spawn


def test_a_spawned_task_is_named_and_held_until_done() -> None:
    async def scenario() -> None:
        release = asyncio.Event()

        async def work() -> str:
            await release.wait()
            return "done"

        task = spawn(work(), name="worker-1")
        gc.collect()
        assert task.get_name() == "worker-1"
        assert task in running_tasks()
        release.set()
        assert await task == "done"
        assert task not in running_tasks()

    asyncio.run(scenario())


def test_a_task_that_dies_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async def fail() -> None:
            raise ValueError("kaput")

        task = spawn(fail(), name="doomed")
        await asyncio.wait({task})

    asyncio.run(scenario())

    records = [r for r in caplog.records if r.name == "gatehouse.tasks"]
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert "doomed" in records[0].getMessage()


def test_a_cancelled_task_is_not_reported(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        task = spawn(asyncio.sleep(10), name="sleeper")
        await asyncio.sleep(0)
        await cancel_and_wait(task)
        assert task.cancelled()

    asyncio.run(scenario())

    assert not [r for r in caplog.records if r.name == "gatehouse.tasks"]


def test_cancel_and_wait_lets_cleanup_finish() -> None:
    async def scenario() -> None:
        cleaned = asyncio.Event()

        async def with_cleanup() -> None:
            try:
                await asyncio.sleep(10)
            finally:
                await asyncio.sleep(0.01)
                cleaned.set()

        task = spawn(with_cleanup(), name="tidy")
        await asyncio.sleep(0)
        await cancel_and_wait(task)
        assert cleaned.is_set()

    asyncio.run(scenario())


def test_cancel_and_wait_does_not_swallow_the_callers_cancellation() -> None:
    async def scenario() -> None:
        async def stubborn() -> None:
            try:
                await asyncio.sleep(10)
            finally:
                await asyncio.sleep(10)

        task = spawn(stubborn(), name="stubborn")
        await asyncio.sleep(0)
        caller = asyncio.ensure_future(cancel_and_wait(task))
        await asyncio.sleep(0.01)
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        task.cancel()
        await asyncio.wait({task})

    asyncio.run(scenario())

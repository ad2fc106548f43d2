"""The one way the data plane starts background tasks.

asyncio keeps only a weak reference to a task, so a task nobody holds can be garbage-collected
mid-flight, and an exception in a task nobody awaits is reported late or never. ``spawn``
fixes both: it keeps a strong reference until the task is done and logs how it died.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger("gatehouse.tasks")

T = TypeVar("T")

# Strong references to every running task started through ``spawn``.
_running: set[asyncio.Task[Any]] = set()
# The subset a clean stop waits for: session endings and the cleanup they start.
_finish_before_exit: set[asyncio.Task[Any]] = set()


def spawn(
    coro: Coroutine[Any, Any, T], *, name: str, finish_before_exit: bool = False
) -> asyncio.Task[T]:
    """Start ``coro`` as a named task on the running loop and keep it alive until done.

    A task that dies with an exception (other than cancellation) is logged at ERROR with its
    traceback; whoever awaits the task still receives the exception. With
    ``finish_before_exit``, a clean stop waits for it (see ``wait_for_unfinished``) instead of
    cancelling it: for work whose loss leaves something behind, like a role to drop.
    """
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _hold(task, finish_before_exit=finish_before_exit)
    return task


def hold_current_task(*, name: str, finish_before_exit: bool = False) -> None:
    """Name and hold the running task as ``spawn`` would, for a task asyncio started itself
    (a listener's connection handler)."""
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("hold_current_task() needs a running task")
    task.set_name(name)
    _hold(task, finish_before_exit=finish_before_exit)


async def wait_for_unfinished(timeout_s: float) -> frozenset[asyncio.Task[Any]]:
    """Wait up to ``timeout_s`` until every ``finish_before_exit`` task is done, including
    those started while waiting (a session that ends starts its cleanup); returns the tasks
    still running at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (pending := _unfinished()) and (left := deadline - loop.time()) > 0:
        await asyncio.wait(pending, timeout=left)
    return _unfinished()


def _unfinished() -> frozenset[asyncio.Task[Any]]:
    current = asyncio.current_task()
    return frozenset(t for t in _finish_before_exit if not t.done() and t is not current)


def _hold(task: asyncio.Task[Any], *, finish_before_exit: bool) -> None:
    _running.add(task)
    if finish_before_exit:
        _finish_before_exit.add(task)
    task.add_done_callback(_task_done)


def running_tasks() -> frozenset[asyncio.Task[Any]]:
    """The tasks started through ``spawn`` that have not finished yet (for diagnostics)."""
    return frozenset(_running)


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel the tasks and wait until every one of them has finished.

    The tasks' own outcomes (cancellation, exceptions) are not raised here: ``spawn`` has
    already logged them. If the *caller* is cancelled while waiting, that CancelledError
    propagates as usual.
    """
    pending = {task for task in tasks if not task.done()}
    for task in pending:
        task.cancel()
    if pending:
        # asyncio.wait never raises the tasks' exceptions, only the caller's cancellation.
        await asyncio.wait(pending)


def _task_done(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    _finish_before_exit.discard(task)
    if task.cancelled():
        return
    exc = task.exception()  # also marks the exception as retrieved
    if exc is not None:
        log.error("task %s died: %r", task.get_name(), exc, exc_info=exc)

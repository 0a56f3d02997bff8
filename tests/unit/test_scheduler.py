"""Push dispatch in-process: a FakeClock, a scripted deliver, every storage backend, no sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from engine_harness import PARENT, QUEUE, ScriptedDeliver, start_engine

from cloudtasks_emu.clock import FakeClock
from cloudtasks_emu.engine.storage import Storage
from cloudtasks_emu.errors import EmuError
from cloudtasks_emu.model import Queue, QueueState, RateLimits, RetryPolicy


def make_queue(store: Storage, clock: FakeClock, deliver: ScriptedDeliver | None = None, **retry: float):  # type: ignore[no-untyped-def]
    engine = start_engine(store, clock, deliver)
    engine.service.create_queue(PARENT, Queue(name=QUEUE, retry=RetryPolicy(**retry)))  # type: ignore[arg-type]
    return engine


async def test_a_task_goes_out_when_due_and_leaves_a_tombstone(store: Storage) -> None:
    engine = make_queue(store, FakeClock(1000.0))
    engine.push_task("later", delay_s=10)
    await engine.drain()
    assert engine.deliver.names() == []
    engine.clock.advance(10)
    await engine.drain()
    assert engine.deliver.names() == ["later"]
    assert store.get_task(f"{QUEUE}/tasks/later") is None
    assert store.task_tombstoned(f"{QUEUE}/tasks/later")


async def test_a_failed_attempt_is_written_back_and_retried_after_its_backoff(store: Storage) -> None:
    engine = make_queue(store, FakeClock(1000.0), ScriptedDeliver(statuses=[500]), min_backoff_s=5)
    engine.push_task("t")
    await engine.drain()
    stored = store.get_task(f"{QUEUE}/tasks/t")
    assert stored is not None
    assert (stored.dispatch_count, stored.response_count, stored.previous_response) == (1, 1, 500)
    assert stored.schedule_us == 1005 * 1_000_000
    engine.clock.advance(5)
    await engine.drain()
    assert engine.deliver.names() == ["t", "t"]
    assert engine.deliver.seen[1][1].retry_count == 1
    assert store.get_task(stored.name) is None


async def test_a_task_deleted_while_in_flight_is_not_brought_back(store: Storage) -> None:
    hold = asyncio.Event()
    engine = make_queue(store, FakeClock(1000.0), ScriptedDeliver(statuses=[500], hold=hold))
    engine.push_task("t")
    for _ in range(5):
        await asyncio.sleep(0)
    assert engine.deliver.names() == ["t"]
    engine.service.purge_queue(QUEUE)
    hold.set()
    await engine.drain()
    assert store.get_task(f"{QUEUE}/tasks/t") is None
    assert store.count_tasks(QUEUE) == 0


async def test_a_paused_queue_holds_its_tasks_until_resumed(store: Storage) -> None:
    engine = make_queue(store, FakeClock(1000.0))
    engine.service.pause_queue(QUEUE)
    engine.push_task("t")
    await engine.drain()
    assert engine.deliver.names() == []
    stored = store.get_queue(QUEUE)
    assert stored is not None
    assert stored.state == QueueState.PAUSED
    engine.service.resume_queue(QUEUE)
    await engine.drain()
    assert engine.deliver.names() == ["t"]


async def test_run_task_counts_the_attempt_in_the_store(store: Storage) -> None:
    hold = asyncio.Event()
    engine = make_queue(store, FakeClock(1000.0), ScriptedDeliver(hold=hold))
    engine.service.pause_queue(QUEUE)
    engine.push_task("t")
    engine.service.run_task(f"{QUEUE}/tasks/t")
    stored = store.get_task(f"{QUEUE}/tasks/t")
    assert stored is not None
    assert stored.dispatch_count == 1
    assert stored.last_attempt is not None
    assert stored.last_attempt.dispatch_us == 1000 * 1_000_000
    hold.set()
    await engine.drain()
    assert store.get_task(f"{QUEUE}/tasks/t") is None


async def ticks(n: int = 10) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_run_task_on_a_task_in_flight_keeps_the_concurrency_cap(store: Storage) -> None:
    first = asyncio.Event()
    engine = start_engine(store, FakeClock(1000.0), ScriptedDeliver(holds=[first, None]))
    engine.service.create_queue(PARENT, Queue(name=QUEUE, rate=RateLimits(max_concurrent_dispatches=1)))
    engine.push_task("a")
    engine.push_task("b")
    await ticks()
    assert engine.deliver.names() == ["a"]
    # When RunTask's extra attempt of the task in flight ends while its first attempt still runs
    engine.service.run_task(f"{QUEUE}/tasks/a")
    await ticks()
    # Then the one slot is still taken: b waits for the first attempt
    assert engine.deliver.names() == ["a", "a"]
    rt = engine.scheduler.runtimes[QUEUE]
    assert engine.scheduler.dispatch_stats(rt)[1] == 1
    first.set()
    await engine.drain()
    assert engine.deliver.names() == ["a", "a", "b"]
    assert engine.scheduler.dispatch_stats(rt)[1] == 0


async def test_overlapping_attempts_of_run_task_both_count(store: Storage) -> None:
    first = asyncio.Event()
    deliver = ScriptedDeliver(statuses=[500, 500], holds=[first, None])
    engine = make_queue(store, FakeClock(1000.0), deliver, min_backoff_s=100)
    engine.push_task("t")
    await ticks()
    engine.service.run_task(f"{QUEUE}/tasks/t")  # answered at once, while the first attempt is held
    await ticks()
    first.set()  # the slower attempt ends last
    await engine.drain()
    assert engine.deliver.names() == ["t", "t"]
    stored = store.get_task(f"{QUEUE}/tasks/t")
    assert stored is not None
    assert (stored.dispatch_count, stored.response_count) == (2, 2)


async def test_a_restart_rebuilds_the_heaps_and_fires_future_tasks_when_due(
    store: Storage, reopen: Callable[[Storage], Storage]
) -> None:
    clock = FakeClock(1000.0)
    engine = make_queue(store, clock)
    engine.push_task("b", delay_s=20)
    engine.push_task("a", delay_s=10)
    await engine.scheduler.stop(0)

    again = start_engine(reopen(store), clock)
    clock.advance(10)
    await again.drain()
    assert again.deliver.names() == ["a"]
    clock.advance(10)
    await again.drain()
    assert again.deliver.names() == ["a", "b"]


async def test_an_attempt_in_flight_at_a_kill_is_made_again_and_a_delivered_one_is_not(
    store: Storage, reopen: Callable[[Storage], Storage]
) -> None:
    clock = FakeClock(1000.0)
    engine = make_queue(store, clock, ScriptedDeliver(hold=asyncio.Event()))
    engine.push_task("flying")
    for _ in range(5):
        await asyncio.sleep(0)
    assert engine.deliver.names() == ["flying"]
    await engine.scheduler.stop(0)  # cancelled mid-attempt: no outcome is ever recorded

    again = start_engine(reopen(store), clock)
    await again.drain()
    assert again.deliver.names() == ["flying"]
    assert again.deliver.seen[0][1].retry_count == 1  # the first attempt still counts
    await again.scheduler.stop(0)

    third = start_engine(reopen(again.service.store), clock)
    await third.drain()
    assert third.deliver.names() == []


async def test_reset_returns_to_the_start_up_queues(store: Storage) -> None:
    engine = start_engine(store, FakeClock(1000.0))
    engine.service.startup_queues = [Queue(name=QUEUE)]
    engine.service.declare_queues(None, [Queue(name=QUEUE)])
    engine.service.create_queue(PARENT, Queue(name=f"{PARENT}/queues/other"))
    engine.push_task("t")
    engine.service.set_cmek_key(PARENT, "k")
    await engine.drain()
    engine.service.reset()
    assert [q.name for q in store.queues_after("", "")] == [QUEUE]
    assert not store.task_tombstoned(f"{QUEUE}/tasks/t")
    assert engine.service.cmek_key(PARENT) == ""
    engine.push_task("t")  # the name is free again, and the queue dispatches
    await engine.drain()
    assert engine.deliver.names() == ["t", "t"]


async def test_a_full_store_refuses_new_tasks(store: Storage) -> None:
    engine = make_queue(store, FakeClock(1000.0))
    engine.service.settings.max_tasks = 1
    engine.service.pause_queue(QUEUE)
    engine.push_task("a")
    with pytest.raises(EmuError, match="max-tasks"):
        engine.push_task("b")


def other_tasks() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}


async def test_each_attempt_is_one_task_and_nothing_is_left_behind(store: Storage) -> None:
    hold = asyncio.Event()
    clock = FakeClock(1000.0)
    engine = make_queue(store, clock, ScriptedDeliver(hold=hold))
    for name in ["a", "b", "c"]:
        engine.push_task(name)
    engine.push_task("later", delay_s=60)  # keeps the loop parked on a timer
    for _ in range(10):
        await asyncio.sleep(0)
    assert engine.deliver.names() == ["a", "b", "c"]
    assert len(other_tasks()) == 1 + 3  # the queue's loop and one per attempt
    hold.set()
    await engine.drain()
    assert len(other_tasks()) == 1
    assert clock.pending_timers == 1  # the parked loop's wake-up, nothing from the attempts
    engine.service.delete_queue(QUEUE)
    for _ in range(3):
        await asyncio.sleep(0)
    assert other_tasks() == set()
    assert clock.pending_timers == 0


async def test_a_missed_deadline_times_the_attempt_out_in_virtual_time(store: Storage) -> None:
    clock = FakeClock(1000.0)
    engine = make_queue(store, clock, ScriptedDeliver(hold=asyncio.Event()), min_backoff_s=100)
    task = engine.push_task("slow")
    task.dispatch_deadline_ms = 15_000
    store.update_task(task)  # (re-read by the loop before its first attempt)
    for _ in range(5):
        await asyncio.sleep(0)
    clock.advance(15)
    await engine.drain()
    [entry] = engine.service.attempts(QUEUE)
    assert (entry.status, entry.error, entry.attempt) == (None, "timeout", 1)
    stored = store.get_task(task.name)
    assert stored is not None
    assert stored.previous_response == 0  # App Engine: instance unavailable
    assert stored.retry_reason == "Instance Unavailable"


async def test_the_journal_keeps_what_was_sent_and_answered(store: Storage) -> None:
    engine = make_queue(store, FakeClock(1000.0), ScriptedDeliver(statuses=[500]), min_backoff_s=1)
    engine.push_task("t")
    await engine.drain()
    engine.clock.advance(1)
    await engine.drain()
    first, second = engine.service.attempts(QUEUE)
    assert (first.task, first.status, first.attempt, first.url) == (f"{QUEUE}/tasks/t", 500, 1, "http://handler/t")
    assert (second.status, second.attempt, second.at) == (200, 2, 1001.0)
    assert engine.service.attempts(QUEUE, limit=1) == [second]
    engine.service.reset()
    assert engine.service.attempts() == []

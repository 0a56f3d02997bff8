"""The virtual clock wakes sleepers in deadline order and never runs backwards."""

from __future__ import annotations

import asyncio

import pytest

from cloudtasks_emu.clock import FakeClock, Signal, SystemClock, to_us


async def test_advance_wakes_due_sleepers_in_order() -> None:
    clock = FakeClock(start=100.0)
    woke: list[float] = []

    async def sleeper(at: float) -> None:
        await clock.sleep_until(at)
        woke.append(at)

    tasks = [asyncio.ensure_future(sleeper(at)) for at in (103.0, 101.0, 150.0)]
    await asyncio.sleep(0)
    clock.advance(5)
    await asyncio.sleep(0)
    assert woke == [101.0, 103.0]
    clock.set(90)  # never backwards
    assert clock.now() == 105
    clock.set(150)
    await asyncio.gather(*tasks)
    assert woke == [101.0, 103.0, 150.0]


async def test_a_time_rounded_to_its_microsecond_counts_as_reached() -> None:
    clock = FakeClock(start=1_763_888_131.1234567)
    due = to_us(clock.now()) / 1_000_000  # may sit a hair above now
    await asyncio.wait_for(clock.sleep_until(due), 1)


async def test_wait_returns_on_the_signal_or_the_time_and_leaves_no_timer() -> None:
    clock = FakeClock(start=100.0)
    signal = Signal()
    waiter = asyncio.ensure_future(clock.wait(signal, 200.0))
    await asyncio.sleep(0)
    assert clock.pending_timers == 1
    signal.set()
    await asyncio.wait_for(waiter, 1)
    assert clock.pending_timers == 0
    signal.clear()
    timed = asyncio.ensure_future(clock.wait(signal, 150.0))
    await asyncio.sleep(0)
    clock.advance(50)
    await asyncio.wait_for(timed, 1)
    assert clock.pending_timers == 0


async def test_a_cancelled_wait_leaves_no_timer() -> None:
    clock = FakeClock(start=100.0)
    waiters = [asyncio.ensure_future(clock.wait(Signal(), 100.0 + n)) for n in range(1, 100)]
    await asyncio.sleep(0)
    for waiter in waiters:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    assert clock.pending_timers == 0


async def test_deadline_cancels_the_block_at_virtual_time() -> None:
    clock = FakeClock(start=100.0)
    reached = asyncio.Event()

    async def slow() -> str:
        try:
            async with clock.deadline(110.0):
                reached.set()
                await asyncio.sleep(3600)
        except TimeoutError:
            return "timed out"
        return "finished"

    job = asyncio.ensure_future(slow())
    await reached.wait()
    clock.advance(9)
    await asyncio.sleep(0)
    assert not job.done()
    clock.advance(1)
    assert await asyncio.wait_for(job, 1) == "timed out"
    assert clock.pending_timers == 0


async def test_system_clock_wait_and_deadline() -> None:
    clock = SystemClock()
    signal = Signal()
    signal.set()
    await asyncio.wait_for(clock.wait(signal, None), 1)  # already set: no wait
    with pytest.raises(TimeoutError):
        async with clock.deadline(clock.now()):
            await asyncio.sleep(3600)

"""The virtual clock wakes sleepers in deadline order and never runs backwards."""

from __future__ import annotations

import asyncio

from cloudtasks_emu.clock import FakeClock, to_us


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

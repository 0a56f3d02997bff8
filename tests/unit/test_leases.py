"""Pull queues in-process over every backend: lease, renew, cancel, acknowledge, and leases across a restart."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_harness import ENGINE_BACKENDS, PARENT, QUEUE, Engine, start_engine

from cloudtasks_emu.clock import FakeClock
from cloudtasks_emu.engine.storage import Storage
from cloudtasks_emu.errors import Code, EmuError
from cloudtasks_emu.model import Queue, Task

US = 1_000_000

pytestmark = pytest.mark.parametrize("store", ENGINE_BACKENDS, indirect=True)


def pull_engine(store: Storage, clock: FakeClock) -> Engine:
    engine = start_engine(store, clock)
    engine.service.create_queue(PARENT, Queue(name=QUEUE, pull=True))
    return engine


def lease(engine: Engine, seconds: float = 60, max_tasks: int = 10, filter_: str = "") -> list[Task]:
    return engine.service.lease_tasks(QUEUE, max_tasks, seconds, filter_, 1 << 30, lambda _: 1)


async def test_a_lease_is_written_and_hides_the_task_until_it_ends(store: Storage) -> None:
    engine = pull_engine(store, FakeClock(1000.0))
    engine.pull_task("a")
    [leased] = lease(engine)
    stored = store.get_task(leased.name)
    assert stored is not None
    assert (stored.schedule_us, stored.lease_until_us, stored.dispatch_count) == (1060 * US, 1060 * US, 1)
    assert lease(engine) == []
    engine.clock.advance(60)
    assert [t.name for t in lease(engine)] == [leased.name]


async def test_acknowledge_needs_the_schedule_time_of_the_live_lease(store: Storage) -> None:
    engine = pull_engine(store, FakeClock(1000.0))
    engine.pull_task("a")
    [leased] = lease(engine)
    with pytest.raises(EmuError) as wrong:
        engine.service.acknowledge_task(leased.name, leased.schedule_us + 1)
    assert wrong.value.code == Code.FAILED_PRECONDITION
    engine.service.acknowledge_task(leased.name, leased.schedule_us)
    assert store.get_task(leased.name) is None
    assert store.task_tombstoned(leased.name)


async def test_renew_moves_the_lease_and_cancel_returns_the_task(store: Storage) -> None:
    engine = pull_engine(store, FakeClock(1000.0))
    engine.pull_task("a")
    [leased] = lease(engine)
    renewed = engine.service.renew_lease(leased.name, leased.schedule_us, 120)
    assert renewed.schedule_us == 1120 * US
    stored = store.get_task(leased.name)
    assert stored is not None
    assert stored.lease_until_us == 1120 * US
    cancelled = engine.service.cancel_lease(leased.name, renewed.schedule_us)
    assert cancelled.lease_until_us is None
    assert [t.name for t in lease(engine)] == [leased.name]


async def test_lease_request_checks_happen_in_the_service(store: Storage) -> None:
    engine = start_engine(store, FakeClock(1000.0))
    engine.service.create_queue(PARENT, Queue(name=QUEUE))
    with pytest.raises(EmuError, match="pull queue"):
        lease(engine)
    engine.service.create_queue(PARENT, Queue(name=f"{PARENT}/queues/pull", pull=True))
    for bad in [dict(max_tasks=0), dict(max_tasks=1001), dict(seconds=0), dict(filter_="nonsense")]:
        with pytest.raises(EmuError) as error:
            engine.service.lease_tasks(
                f"{PARENT}/queues/pull",
                int(bad.get("max_tasks", 1)),
                float(bad.get("seconds", 10)),
                str(bad.get("filter_", "")),
                1 << 20,
                lambda _: 1,
            )
        assert error.value.code == Code.INVALID_ARGUMENT


async def test_a_tag_filter_leases_only_that_tag(store: Storage) -> None:
    engine = pull_engine(store, FakeClock(1000.0))
    engine.pull_task("a", tag="red")
    engine.clock.advance(1)
    engine.pull_task("b", tag="blue")
    engine.pull_task("c", tag="red")
    assert [t.name.rsplit("/", 1)[1] for t in lease(engine, filter_='tag="red"')] == ["a", "c"]
    assert [t.name.rsplit("/", 1)[1] for t in lease(engine, filter_="tag_function=oldest_tag()")] == ["b"]


async def test_a_lease_survives_a_restart_with_the_same_schedule_time(
    store: Storage, reopen: Callable[[Storage], Storage]
) -> None:
    clock = FakeClock(1000.0)
    engine = pull_engine(store, clock)
    engine.pull_task("a")
    [leased] = lease(engine)

    again = start_engine(reopen(store), clock)
    assert again.service.lease_tasks(QUEUE, 10, 60, "", 1 << 30, lambda _: 1) == []
    again.service.acknowledge_task(leased.name, leased.schedule_us)
    assert again.service.store.get_task(leased.name) is None


async def test_the_tag_index_follows_new_tasks_and_returned_leases(store: Storage) -> None:
    engine = pull_engine(store, FakeClock(1000.0))
    for n in range(50):
        engine.pull_task(f"blue{n}", tag="blue")
    engine.pull_task("red0", tag="red")
    [first] = lease(engine, seconds=10, filter_="tag=red")
    engine.pull_task("red1", tag="red")  # added after the index was built
    assert [t.name.rsplit("/", 1)[1] for t in lease(engine, filter_="tag=red")] == ["red1"]
    engine.clock.advance(10)  # the first lease ran out: red0 is leasable again
    assert [t.name for t in lease(engine, filter_="tag=red")] == [first.name]
    assert len(lease(engine, max_tasks=100)) == 50


async def test_leases_come_from_where_the_placement_says(store: Storage, request: pytest.FixtureRequest) -> None:
    # Over the group placement, leases lock the database's rows; alone, they read the scheduler's heap.
    engine = pull_engine(store, FakeClock(1000.0))
    grouped = request.node.callspec.params["store"] == "postgres-group"
    assert (id(engine.service.leases.source) == id(store)) == grouped
    engine.pull_task("a")
    assert [t.name for t in lease(engine)] == [f"{QUEUE}/tasks/a"]
    assert engine.service.queue_stats(engine.service.require_queue(QUEUE)).oldest_schedule_us == 1060 * US

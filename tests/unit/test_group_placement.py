"""The scheduler with the PostgreSQL group as its placement, joined for real: ownership, drain, stats."""

from __future__ import annotations

from engine_harness import PARENT, QUEUE, Engine, ScriptedDeliver

from cloudtasks_emu.clock import FakeClock
from cloudtasks_emu.config import Settings
from cloudtasks_emu.engine.scheduler import Scheduler
from cloudtasks_emu.engine.storage import Backend, open_storage
from cloudtasks_emu.engine.storage.postgres import PostgresStorage
from cloudtasks_emu.engine.storage.postgres.group import Group
from cloudtasks_emu.engine.storage.postgres.shared_state import SharedJournal
from cloudtasks_emu.model import Queue
from cloudtasks_emu.service import TasksService


async def test_a_member_takes_a_new_queue_delivers_its_task_and_drains_the_group(postgres_url: str) -> None:
    store = open_storage("", postgres_url)
    assert isinstance(store, PostgresStorage)
    store.clear()
    clock, deliver = FakeClock(1000.0), ScriptedDeliver()
    group = Group(store, None)
    scheduler = Scheduler(Backend(store, group, SharedJournal(store, 100), clock, "test"), deliver)
    service = TasksService(Settings(virtual_clock=True, queue_reuse_delay_s=0), clock, scheduler)
    engine = Engine(service, clock, deliver)
    scheduler.start()
    await group.start(scheduler)
    try:
        service.create_queue(PARENT, Queue(name=QUEUE))
        engine.push_task("t", delay_s=10)
        assert await service.drain(10.0)  # the group's drain: the new queue is taken first
        assert group.membership() == (group.member, [QUEUE])
        assert deliver.names() == []
        clock.advance(10)
        assert await service.drain(10.0)
        assert deliver.names() == ["t"]
        assert [entry.task for entry in service.attempts(QUEUE)] == [f"{QUEUE}/tasks/t"]  # the shared journal
        assert service.queue_stats(service.require_queue(QUEUE)).executed_last_minute == 1
    finally:
        await scheduler.stop(1.0)
        await group.stop()
        store.close()

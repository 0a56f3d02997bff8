"""An engine with no sockets: a service over a store, a FakeClock and a scripted deliver."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field

from cloudtasks_emu.clock import FakeClock
from cloudtasks_emu.config import Settings
from cloudtasks_emu.engine.scheduler import AttemptContext, Outcome, Scheduler
from cloudtasks_emu.engine.storage import Backend, Storage, one_process
from cloudtasks_emu.engine.storage.postgres import PostgresStorage
from cloudtasks_emu.engine.storage.postgres.group import Group
from cloudtasks_emu.engine.storage.postgres.shared_state import SharedJournal
from cloudtasks_emu.model import AppEngineRequest, PullMessage, Queue, Task
from cloudtasks_emu.service import TasksService

PARENT = "projects/p/locations/l"
QUEUE = f"{PARENT}/queues/q"
# Stores the engine runs over with the PostgreSQL group as its placement (leases from locked rows,
# heapless stats), not as one process: the conftest's "postgres-group" backend.
GROUPED: weakref.WeakSet[Storage] = weakref.WeakSet()
ENGINE_BACKENDS = ["memory", "sqlite", "postgres", "postgres-group"]


@dataclass
class ScriptedDeliver:
    """Answers attempts from `statuses` in order (200 once it runs out); `hold` keeps attempts in flight.
    `holds` holds attempts one by one, in the order they start (None: not held); `hold` after it runs out."""

    statuses: list[int] = field(default_factory=list)
    seen: list[tuple[str, AttemptContext]] = field(default_factory=list)
    hold: asyncio.Event | None = None
    holds: list[asyncio.Event | None] = field(default_factory=list)

    async def __call__(self, queue: Queue, task: Task, context: AttemptContext, outcome: Outcome) -> None:
        self.seen.append((task.name.rsplit("/", 1)[1], context))
        outcome.url = f"http://handler/{task.name.rsplit('/', 1)[1]}"
        hold = self.holds.pop(0) if self.holds else self.hold
        if hold is not None:
            await hold.wait()
        outcome.status = self.statuses.pop(0) if self.statuses else 200

    def names(self) -> list[str]:
        return [name for name, _ in self.seen]


@dataclass
class Engine:
    service: TasksService
    clock: FakeClock
    deliver: ScriptedDeliver

    @property
    def scheduler(self) -> Scheduler:
        return self.service.scheduler

    async def drain(self) -> None:
        assert await self.scheduler.drain(5.0), "the engine did not settle"

    def push_task(self, name: str, delay_s: float = 0.0, queue: str = QUEUE) -> Task:
        at = round((self.clock.now() + delay_s) * 1_000_000) if delay_s else 0
        task = Task(name=f"{queue}/tasks/{name}", payload=AppEngineRequest(), schedule_us=at, create_us=0)
        return self.service.create_task(queue, task, payload_must_match_queue=False)[0]

    def pull_task(self, name: str, tag: str = "", queue: str = QUEUE) -> Task:
        task = Task(name=f"{queue}/tasks/{name}", payload=PullMessage(b"x", tag), schedule_us=0, create_us=0)
        return self.service.create_task(queue, task, payload_must_match_queue=True)[0]


def start_engine(store: Storage, clock: FakeClock, deliver: ScriptedDeliver | None = None) -> Engine:
    """A running engine over `store` (which may hold state from an earlier engine: a restart)."""
    deliver = deliver or ScriptedDeliver()
    backend = one_process(store, clock)
    if store in GROUPED:  # a member that has not joined: it owns no push queue, and pull needs none
        assert isinstance(store, PostgresStorage)
        backend = Backend(store, Group(store, None), SharedJournal(store, 100), clock, "postgres group")
    scheduler = Scheduler(backend, deliver)
    service = TasksService(Settings(virtual_clock=True, queue_reuse_delay_s=0), clock, scheduler)
    scheduler.start()
    return Engine(service, clock, deliver)

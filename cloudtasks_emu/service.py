"""The Cloud Tasks operations, version-neutral: model objects in and out, EmuError on bad input."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator

from . import names, queue_hints, task_rules
from .clock import US, Clock, to_us
from .config import MAX_LEASE_TASKS, Settings
from .engine.journal import JournalEntry
from .engine.leases import Leases, lease_seconds, parse_filter
from .engine.schedule_order import ScheduleKey, tasks_by_schedule
from .engine.scheduler import Scheduler
from .engine.storage import Inserted, Storage, open_backend
from .errors import (
    NOT_FOUND_MESSAGE,
    QUEUE_MISSING,
    QUEUE_TOO_RECENT,
    TASK_GONE,
    TASK_TOO_RECENT,
    Code,
    EmuError,
    invalid,
)
from .listing import Page, clamp_page_size, decode_page_token, page, queue_filter
from .model import PullMessage, Queue, QueueState, QueueStats, Task, task_size


class TasksService:
    """One method per operation of the API. Transports convert protos to the model and back."""

    def __init__(self, settings: Settings, clock: Clock, scheduler: Scheduler | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.scheduler = scheduler or Scheduler(open_backend(settings, clock))
        self.store: Storage = self.scheduler.store
        self.leases = Leases(self.scheduler)
        self._random = random.Random()
        self.startup_queues: list[Queue] = []  # what reset() returns to (--queue, --config)

    def now_us(self) -> int:
        return to_us(self.clock.now())

    def _expire(self) -> int:
        """Drop the tombstones whose time has passed (the one place that asks the store to); returns now."""
        now = self.now_us()
        self.store.expire_tombstones(now)
        return now

    def _save_queue(self, queue: Queue) -> Queue:
        """The one way a queue is written: the store first, then the scheduler's copy of its config."""
        self.store.put_queue(queue)
        self.scheduler.queue_changed(queue)
        return queue

    # queues
    def find_queue(self, name: str) -> Queue | None:
        """The queue of this name, or None; the name is not checked."""
        return self.store.get_queue(name)

    def set_iam_policy(self, name: str, policy: bytes) -> None:
        """Store a queue's IAM policy (a serialized google.iam.v1.Policy)."""
        queue = self.require_queue(name)
        queue.iam_policy = policy
        self._save_queue(queue)

    def cmek_key(self, location: str) -> str:
        return self.store.cmek_key(location)

    def set_cmek_key(self, location: str, key: str) -> None:
        self.store.put_cmek_key(location, key)

    # batch operations, stored serialized (the proto layer owns their type)
    OPERATIONS_KEPT = 10_000

    def operation(self, name: str) -> bytes | None:
        return self.store.get_operation(name)

    def operation_for_request(self, request_key: str) -> bytes | None:
        return self.store.operation_for_request(request_key) if request_key else None

    def save_operation(self, name: str, request_key: str, data: bytes) -> None:
        self.store.put_operation(name, request_key, data, self.OPERATIONS_KEPT)

    def require_queue(self, name: str, missing: str = QUEUE_MISSING) -> Queue:
        """The queue of a valid name; NOT_FOUND when there is none."""
        names.parse_queue(name)
        return self._found(self.store.get_queue(name), name, missing)

    def _found(self, queue: Queue | None, name: str, missing: str = QUEUE_MISSING) -> Queue:
        if queue is None:
            queue_hints.unknown_queue(name, self.queue_names())
            raise EmuError(Code.NOT_FOUND, missing)
        return queue

    def queue_names(self) -> list[str]:
        """Every queue's name (for hints about a mistyped one: not on any hot path)."""
        return [queue.name for queue in self.store.queues_after("", "")]

    def create_queue(self, parent: str, queue: Queue) -> Queue:
        """Create `queue` (defaults already filled) under `parent`.

        Raises:
            EmuError: PERMISSION_DENIED for a malformed parent, INVALID_ARGUMENT for a bad name,
                ALREADY_EXISTS, or FAILED_PRECONDITION while the name is blocked after a delete.
        """
        names.parse_location(parent)
        if not queue.name:
            raise invalid("Queue.name is required.")
        if not queue.name.startswith(parent + "/queues/"):
            names.parse_queue(queue.name)
            raise invalid(f"{queue.name} must begin with {parent}.")
        names.parse_queue(queue.name)
        self._expire()
        if self.store.get_queue(queue.name) is not None:
            raise EmuError(Code.ALREADY_EXISTS, "Queue already exists")
        if self.store.queue_tombstoned(queue.name):
            raise EmuError(Code.FAILED_PRECONDITION, QUEUE_TOO_RECENT)
        queue.state = QueueState.RUNNING
        return self._save_queue(queue)

    def update_queue(self, queue: Queue, reenable: bool = False) -> Queue:
        """Store `queue`'s settings: UpdateQueue's and queue.yaml's upsert.

        A new name creates the queue. An existing queue keeps what no request sets (its state,
        purge time and IAM policy); `reenable` turns DISABLED back to RUNNING, as queue.yaml does.

        Raises:
            EmuError: INVALID_ARGUMENT when the queue would switch between push and pull,
                FAILED_PRECONDITION while the name is blocked after a delete.
        """
        existing = self._check_upsert(queue)
        if existing is not None:
            reopened = reenable and existing.state == QueueState.DISABLED
            queue.state = QueueState.RUNNING if reopened else existing.state
            queue.purge_time_us, queue.iam_policy = existing.purge_time_us, existing.iam_policy
        return self._save_queue(queue)

    def _check_upsert(self, queue: Queue) -> Queue | None:
        """The stored queue `queue` would replace, once the upsert is known to be allowed."""
        names.parse_queue(queue.name)
        self._expire()
        existing = self.store.get_queue(queue.name)
        if existing is None and self.store.queue_tombstoned(queue.name):
            raise EmuError(Code.FAILED_PRECONDITION, QUEUE_TOO_RECENT)
        if existing is not None and existing.pull != queue.pull:
            raise invalid(f"The target type of queue {queue.name} cannot be changed between push and pull.")
        return existing

    def declare_queues(self, parent: str | None, queues: list[Queue]) -> None:
        """Upsert `queues` as queue.yaml does, all or none; with a `parent`, its queues that are
        not declared become DISABLED."""
        for queue in queues:
            self._check_upsert(queue)
        for queue in queues:
            self.update_queue(queue, reenable=True)
        if parent is not None:
            declared = {queue.name for queue in queues}
            for queue in list(self.store.queues_after(parent + "/queues/", "")):
                if queue.name not in declared:
                    queue.state = QueueState.DISABLED
                    self._save_queue(queue)

    def delete_queue(self, name: str) -> None:
        queue = self.require_queue(name, missing=NOT_FOUND_MESSAGE)
        # A zero delay leaves a tombstone that the next expire() drops.
        self.store.delete_queue(queue.name, self.now_us() + to_us(self.settings.queue_reuse_delay_s))
        self.scheduler.queue_deleted(queue.name)

    def purge_queue(self, name: str) -> Queue:
        queue = self.require_queue(name)
        now = self.now_us()
        queue.purge_time_us = now
        self._save_queue(queue)
        # Tasks created in the purge's own microsecond go too; create_us is whole seconds, so <= now.
        self.store.purge_tasks(queue.name, now + 1, self._tombstone_until(queue))
        return queue

    def pause_queue(self, name: str) -> Queue:
        queue = self.require_queue(name)
        queue.state = QueueState.PAUSED
        return self._save_queue(queue)

    def resume_queue(self, name: str) -> Queue:
        queue = self.require_queue(name)
        queue.state = QueueState.RUNNING
        return self._save_queue(queue)

    def list_queues(self, parent: str, filter_: str, page_size: int, page_token: str, max_page: int) -> Page[Queue]:
        names.parse_location(parent)
        keep = queue_filter(filter_)
        size = clamp_page_size(page_size, max_page)
        after = decode_page_token(page_token, filter_)
        matching = (q for q in self.store.queues_after(parent + "/queues/", after) if keep(q))
        return page(matching, size, lambda q: q.name, filter_)

    # tasks
    def _tombstone_until(self, queue: Queue) -> int:
        return self.now_us() + to_us(queue.tombstone_ttl_s)

    def create_task(self, parent: str, task: Task, payload_must_match_queue: bool) -> tuple[Task, Queue]:
        """Add `task` (validated by the converter) to the queue `parent`.

        `task.name` may be empty (an ID is generated) and `task.schedule_us` 0 (now).

        Returns:
            The task as stored, and its queue as read for the create (the response is encoded with
            it: a second read would cost a database round trip with PostgreSQL).

        Raises:
            EmuError: NOT_FOUND for a missing queue, ALREADY_EXISTS for a live or recently
                deleted name, INVALID_ARGUMENT for a bad name or schedule time.
        """
        names.parse_queue(parent)
        if task.name:
            task_name = names.parse_task(task.name)
            if task_name.queue != parent:
                raise invalid(
                    f"The queue name from request ('{parent}') must be the same as the queue name in "
                    f"the named task ('{task_name.queue}')."
                )
        named = bool(task.name)
        read = self.store.queue_for_create
        for _ in range(3):
            queue = self._found(read(parent), parent)
            inserted = self._insert_task(queue, task, named, payload_must_match_queue)
            if inserted != Inserted.QUEUE_CHANGED:
                break
            read = self.store.get_queue  # changed through another process since this one read it
        if inserted == Inserted.EXISTS:
            raise EmuError(Code.ALREADY_EXISTS, "Requested entity already exists")
        if inserted == Inserted.TOMBSTONED:
            raise EmuError(Code.ALREADY_EXISTS, TASK_TOO_RECENT)
        if inserted == Inserted.QUEUE_CHANGED:
            raise EmuError(Code.ABORTED, "The queue changed while the task was created: retry the request.")
        self.scheduler.schedule(queue, task)
        return task, queue

    def _insert_task(self, queue: Queue, task: Task, named: bool, payload_must_match_queue: bool) -> Inserted:
        now = self._expire()
        if payload_must_match_queue or queue.pull:
            task_rules.check_payload_matches(queue, task)
        task_rules.check_schedule(task, now)
        task.schedule_us = max(task.schedule_us, now)
        task.create_us = now - now % US
        if not named:
            task.name = self._new_task_name(queue.name)
        task_rules.check_room(self.store.usage(), self.settings, task_size(task))
        inserted = self.store.insert_task(queue.name, task)
        while not named and inserted in (Inserted.EXISTS, Inserted.TOMBSTONED):  # a generated name in use
            task.name = self._new_task_name(queue.name)
            inserted = self.store.insert_task(queue.name, task)
        return inserted

    def _new_task_name(self, parent: str) -> str:
        # The cloud's generated IDs are long decimal numbers; insert_task tells if one is taken.
        return f"{parent}/tasks/{self._random.getrandbits(64)}"

    def get_task(self, name: str) -> Task:
        task_name = names.parse_task(name)
        self._expire()
        task = self.store.get_task(task_name.full)
        if task is None:
            raise EmuError(Code.NOT_FOUND, TASK_GONE if self.store.task_tombstoned(name) else NOT_FOUND_MESSAGE)
        return task

    def _queue_of(self, task: Task) -> Queue:
        queue = self.store.get_queue(names.parse_task(task.name).queue)
        assert queue is not None  # tasks go with their queue
        return queue

    def delete_task(self, name: str) -> None:
        task = self.get_task(name)
        queue = self._queue_of(task)
        self.store.remove_task(task.name, self._tombstone_until(queue))

    def run_task(self, name: str) -> Task:
        """Dispatch a push task now, even if its queue is paused or rate limited.

        Returns:
            The task as it is once the attempt has started (counters incremented).
        Raises:
            EmuError: NOT_FOUND for a missing or finished task, FAILED_PRECONDITION for a pull task.
        """
        task = self.get_task(name)
        if isinstance(task.payload, PullMessage):
            raise EmuError(Code.FAILED_PRECONDITION, "RunTask cannot be called on a pull task.")
        self.scheduler.dispatch(self._queue_of(task), task)
        return task

    # pull queues
    def lease_tasks(
        self,
        parent: str,
        max_tasks: int,
        lease_duration_s: float,
        filter_: str,
        budget_bytes: int,
        size: Callable[[Task], int],
    ) -> list[Task]:
        """Lease due tasks of a pull queue, oldest first; each gets schedule_time = now + lease.

        Raises:
            EmuError: NOT_FOUND for a missing queue, FAILED_PRECONDITION for a push or paused
                queue, INVALID_ARGUMENT for a bad max_tasks, lease_duration or filter.
        """
        duration_s = lease_seconds(lease_duration_s)
        queue = self.require_queue(parent)
        if not queue.pull:
            raise EmuError(Code.FAILED_PRECONDITION, "LeaseTasks can only be called on a pull queue.")
        if queue.state != QueueState.RUNNING:
            raise EmuError(Code.FAILED_PRECONDITION, f"The queue is {queue.state.value}: it cannot be leased from.")
        if not 0 < max_tasks <= MAX_LEASE_TASKS:
            raise invalid(f"LeaseTasksRequest.maxTasks must be between 1 and {MAX_LEASE_TASKS}.")
        kind, tag = parse_filter(filter_)
        self._expire()
        return self.leases.lease(queue, max_tasks, duration_s, kind, tag, budget_bytes, size)

    def acknowledge_task(self, name: str, schedule_us: int) -> None:
        task = self.get_task(name)
        self.leases.acknowledge(self._queue_of(task), task, schedule_us)

    def renew_lease(self, name: str, schedule_us: int, lease_duration_s: float) -> Task:
        duration_s = lease_seconds(lease_duration_s)
        task = self.get_task(name)
        return self.leases.renew(self._queue_of(task), task, schedule_us, duration_s)

    def cancel_lease(self, name: str, schedule_us: int) -> Task:
        task = self.get_task(name)
        return self.leases.cancel(self._queue_of(task), task, schedule_us)

    def list_tasks(self, parent: str, page_size: int, page_token: str, max_page: int) -> Page[Task]:
        queue = self.require_queue(parent)
        size = clamp_page_size(page_size, max_page)
        after = decode_page_token(page_token, "")
        if after and not after.startswith(queue.name + "/tasks/"):
            raise invalid("Invalid page token.")
        return page(self.store.tasks_after(queue.name, after), size, lambda t: t.name, "")

    # push attempts
    async def drain(self, timeout_s: float, queues: list[str] | None = None) -> bool:
        """Wait (bounded, real time) until nothing due remains undelivered, in every process of a
        group; False on timeout."""
        return await self.scheduler.placement.drain(self.scheduler, timeout_s, queues)

    def membership(self) -> tuple[int, list[str]] | None:
        """(member id, owned queues) of this process in a group of processes over one database; None alone."""
        return self.scheduler.placement.membership()

    def attempts(self, queue: str | None = None, limit: int | None = None) -> list[JournalEntry]:
        """The latest push attempts, oldest first: of one queue, or of all queues merged by time."""
        return self.scheduler.journal.entries(queue, limit)

    def queue_stats(self, queue: Queue) -> QueueStats:
        oldest, executed, concurrent, rate = self.scheduler.stats(queue)
        return QueueStats(self.store.count_tasks(queue.name), oldest, executed, concurrent, rate)

    # dashboard reads (the web page's needs beyond the RPCs; kept together so the store can change beneath)
    def all_queues(self) -> Iterator[Queue]:
        """Every queue of every project and location, in name order."""
        return self.store.queues_after("", "")

    def in_flight(self, queue: Queue) -> set[str]:
        """Names of the queue's tasks whose attempt is under way."""
        return set(self.scheduler.runtime(queue).in_flight)

    def tasks_by_schedule(
        self, queue_name: str, after: ScheduleKey | None, limit: int, keep: Callable[[Task], bool]
    ) -> list[tuple[ScheduleKey, Task]]:
        """Up to `limit` kept tasks of the queue in schedule order, each with its position, after `after`."""
        return tasks_by_schedule(self.scheduler, self.require_queue(queue_name), after, limit, keep)

    # locations
    def locations(self, project: str) -> list[str]:
        """Location IDs in use in `project`: the configured one plus those holding queues."""
        found = {self.settings.location}
        prefix = f"projects/{project}/locations/"
        for queue in self.store.queues_after(prefix, ""):
            found.add(names.location_id_of(queue.name))
        return sorted(found)

    def reset(self, queue_name: str = "") -> None:
        """Forget one queue and its tasks, or everything stored (persisted state too) and go back
        to the queues declared at start."""
        if queue_name:
            self.require_queue(queue_name, missing=NOT_FOUND_MESSAGE)
            self.store.delete_queue(queue_name, 0)
            self.scheduler.queue_deleted(queue_name)
            self._expire()
            return
        for name in list(self.scheduler.runtimes):
            self.scheduler.queue_deleted(name)
        self.store.clear()
        self.scheduler.journal.clear()
        self.declare_queues(None, [copy.deepcopy(queue) for queue in self.startup_queues])

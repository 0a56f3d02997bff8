"""When push tasks go out: a heap per queue and one loop per push queue, under its rate and concurrency.

No timer per task: each queue keeps (schedule_us, seq, task name) in a heap; entries of tasks
that were deleted, rescheduled or are in flight are skipped when they reach the top. What an
attempt counts is in attempts.py, what is remembered of it in journal.py, and the HTTP request
in dispatch.py.
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import itertools
import logging
from collections.abc import Coroutine
from typing import Any

from ..clock import EPSILON_S, US, Clock, Signal, to_us
from ..errors import EmuError
from ..model import PullMessage, Queue, QueueState, Task
from . import attempts
from .attempts import AttemptContext, Deliver, Outcome
from .journal import AttemptLog, JournalEntry
from .placement import DispatchStats, Placement
from .ratelimit import TokenBucket
from .retry import give_up_rule
from .storage import Backend, Storage

logger = logging.getLogger(__name__)

__all__ = ["AttemptContext", "Deliver", "Outcome", "QueueRuntime", "Scheduler", "tombstone_until_us"]

HeapEntry = tuple[int, int, str]  # (schedule_us, seq, task name)
_STORE_RETRY_S = 1.0  # a queue loop whose store failed tries again after this long


def tombstone_until_us(queue: Queue, now: float) -> int:
    return to_us(now + queue.tombstone_ttl_s)


class QueueRuntime:
    """The in-memory state of one queue, rebuilt from the store at start: heap, bucket, in-flight set."""

    def __init__(self, queue: Queue, now: float) -> None:
        self.name = queue.name
        self.queue = queue  # its config as last written, refreshed by Scheduler.queue_changed
        self.heap: list[HeapEntry] = []
        self.tags: dict[str, list[HeapEntry]] | None = None  # pull queues: per-tag heaps, built on first use
        self.wake = Signal()
        # Attempts in flight per task: RunTask may start a second one beside the first, and the task
        # holds its slot(s) until every one has ended. Their sum is what max_concurrent_dispatches caps.
        self.in_flight: collections.Counter[str] = collections.Counter()
        self.attempts_in_flight = 0
        self.bucket = TokenBucket(queue.rate.max_dispatches_per_second, queue.rate.max_burst_size, now)
        self.finished_at: collections.deque[float] = collections.deque()
        self.loop: asyncio.Task[None] | None = None
        # Where the loop waits: (until, reason); None while it is working.
        self.parked: tuple[float | None, str] | None = None

    def top(self, store: Storage, heap: list[HeapEntry] | None = None) -> Task | None:
        """The earliest task still waiting (in `heap`, default the queue's), dropping stale entries."""
        heap = self.heap if heap is None else heap
        while heap:
            due, _, name = heap[0]
            task = store.get_task(name)
            if task is not None and task.schedule_us == due and name not in self.in_flight:
                return task
            heapq.heappop(heap)
        return None

    def took_off(self, name: str) -> None:
        self.in_flight[name] += 1
        self.attempts_in_flight += 1

    def landed(self, name: str) -> None:
        self.in_flight[name] -= 1
        if self.in_flight[name] <= 0:
            del self.in_flight[name]
        self.attempts_in_flight -= 1

    def executed_last_minute(self, now: float) -> int:
        while self.finished_at and self.finished_at[0] < now - 60:
            self.finished_at.popleft()
        return len(self.finished_at)


class Scheduler:
    """Owns every queue loop and attempt; all of it runs on the event loop."""

    def __init__(self, backend: Backend, deliver: Deliver | None = None) -> None:
        self.store: Storage = backend.store
        self.clock: Clock = backend.clock
        # Which queues this process dispatches: only a queue's owner keeps its heap, so one loop paces it.
        self.placement: Placement = backend.placement
        self.journal: AttemptLog = backend.journal
        self.deliver = deliver
        self.runtimes: dict[str, QueueRuntime] = {}
        self._seq = itertools.count()
        self._owned: set[asyncio.Task[None]] = set()
        self._running = False
        self._changed = asyncio.Event()  # a loop parked or an attempt ended: drain looks again
        self._pull_heaps = backend.placement.pull_source is None  # else pull leases read the store

    # wiring from the service
    def runtime(self, queue: Queue) -> QueueRuntime:
        rt = self.runtimes.get(queue.name)
        if rt is None:
            rt = self.runtimes[queue.name] = QueueRuntime(queue, self.clock.now())
        dispatches = not queue.pull and self.deliver is not None and self.placement.owns(queue.name)
        if self._running and rt.loop is None and dispatches:
            rt.loop = self._own(self._dispatch_loop(rt))
        return rt

    def schedule(self, queue: Queue, task: Task) -> None:
        rt = self.runtime(queue)
        if not self._heaped(queue):
            return
        entry = (task.schedule_us, next(self._seq), task.name)
        heapq.heappush(rt.heap, entry)
        if rt.tags is not None and isinstance(task.payload, PullMessage):
            heapq.heappush(rt.tags.setdefault(task.payload.tag, []), entry)
        if rt.heap[0][2] == task.name:
            rt.wake.set()

    def _heaped(self, queue: Queue) -> bool:
        """Whether the queue's heap is kept here: a pull queue's if leases read it, a push queue's if owned."""
        return self._pull_heaps if queue.pull else self.placement.owns(queue.name)

    def heard(self, queue_name: str, schedule_us: int, task_name: str) -> None:
        """A task of an owned queue was created by another process: into the heap, as schedule() does."""
        rt = self.runtimes.get(queue_name)
        if rt is None or not self.placement.owns(queue_name):
            return
        heapq.heappush(rt.heap, (schedule_us, next(self._seq), task_name))
        if rt.heap[0][2] == task_name:
            rt.wake.set()

    def tag_heap(self, rt: QueueRuntime, tag: str) -> list[HeapEntry]:
        """The heap of one tag's tasks; the index is built from the queue's heap on first use."""
        if rt.tags is None:
            rt.tags = {}
            for entry in rt.heap:
                task = self.store.get_task(entry[2])
                if task is not None and task.schedule_us == entry[0] and isinstance(task.payload, PullMessage):
                    rt.tags.setdefault(task.payload.tag, []).append(entry)
            for heap in rt.tags.values():
                heapq.heapify(heap)
        return rt.tags.setdefault(tag, [])

    def queue_changed(self, queue: Queue) -> None:
        """Called after every write of a queue: the loop reads its config from here."""
        rt = self.runtime(queue)
        rt.queue = queue
        rt.bucket.configure(queue.rate.max_dispatches_per_second, queue.rate.max_burst_size)
        rt.wake.set()

    def queue_deleted(self, name: str) -> None:
        self.release(name)
        self.journal.forget(name)

    def release(self, name: str) -> None:
        """Stop dispatching a queue and forget its heap (deleted, or owned by another process now);
        attempts in flight finish and write their outcome."""
        rt = self.runtimes.pop(name, None)
        if rt is not None and rt.loop is not None:
            rt.loop.cancel()
        self._changed.set()

    def stats(self, queue: Queue) -> tuple[int | None, int, int, float]:
        """(oldest schedule_us, executed last minute, dispatches in flight, effective rate)."""
        rt = self.runtime(queue)
        if self._heaped(queue):
            top = rt.top(self.store)
            return (None if top is None else top.schedule_us, *self.dispatch_stats(rt))
        oldest, published = self.placement.stats_elsewhere(queue)
        return (oldest, *(published or self.dispatch_stats(rt)))

    def dispatch_stats(self, rt: QueueRuntime) -> DispatchStats:
        return rt.executed_last_minute(self.clock.now()), rt.attempts_in_flight, rt.bucket.effective_rate

    def runtime_names(self) -> list[str]:
        return list(self.runtimes)

    def dispatch_stats_of(self, name: str) -> DispatchStats | None:
        return None if (rt := self.runtimes.get(name)) is None else self.dispatch_stats(rt)

    # lifecycle
    def _own(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._owned.add(task)
        task.add_done_callback(self._ended)
        return task

    def _ended(self, task: asyncio.Task[None]) -> None:
        """No background task dies unobserved: what one raised is logged here, not at garbage collection."""
        self._owned.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("a scheduler task failed", exc_info=task.exception())

    def start(self) -> None:
        """Rebuild every queue's heap from the store (tasks kept across a restart) and start the loops."""
        self._running = True
        for queue in list(self.store.queues_after("", "")):
            if self.placement.owns(queue.name):
                self.take(queue)

    def take(self, queue: Queue) -> None:
        """Rebuild the queue's heap from the store and (re)start its loop: at start, or when this
        process becomes the queue's owner."""
        rt = self.runtime(queue)
        rt.queue = queue
        rt.heap = [(due, next(self._seq), name) for due, name in self.store.pending_schedule(queue.name)]
        rt.tags = None
        rt.wake.set()

    async def stop(self, grace_s: float) -> None:
        """Stop the loops, give in-flight deliveries `grace_s` to finish, then cancel them."""
        self._running = False
        for rt in self.runtimes.values():
            if rt.loop is not None:
                rt.loop.cancel()
        pending = [t for t in self._owned if not t.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    # dispatching
    async def _park(self, rt: QueueRuntime, until: float | None, reason: str) -> None:
        rt.parked = (until, reason)
        self._changed.set()
        try:
            await self.clock.wait(rt.wake, until)
        finally:
            rt.parked = None

    async def _dispatch_loop(self, rt: QueueRuntime) -> None:
        while True:
            try:
                await self._dispatch_turns(rt)
            except EmuError as error:  # the store cannot be read or written now (UNAVAILABLE, disk full)
                logger.warning("queue %s waits for its storage: %s", rt.name, error.message)
                await asyncio.sleep(_STORE_RETRY_S)  # real time: the store's recovery is not on the virtual clock

    async def _dispatch_turns(self, rt: QueueRuntime) -> None:
        while True:
            rt.wake.clear()
            queue = rt.queue
            task = rt.top(self.store) if queue.state == QueueState.RUNNING else None
            if task is None:
                await self._park(rt, None, "idle")
                continue
            now = self.clock.now()
            if task.schedule_us > to_us(now):
                await self._park(rt, task.schedule_us / US, "due")
                continue
            if rt.attempts_in_flight >= queue.rate.max_concurrent_dispatches:
                await self._park(rt, None, "concurrency")
                continue
            wait_s = rt.bucket.take(now)
            if wait_s > 0:
                await self._park(rt, now + wait_s, "rate")
                continue
            self.dispatch(queue, task)
            heapq.heappop(rt.heap)  # after: a dispatch that could not be written leaves the task due here

    def dispatch(self, queue: Queue, task: Task) -> None:
        """Start one attempt now: count it on the task and write it, then deliver in the background."""
        rt = self.runtime(queue)
        now = self.clock.now()
        context = attempts.begin(task, to_us(now))
        # Written before the attempt starts: a kill now leaves the task due, so it is attempted again.
        self.store.update_task(task)
        rt.took_off(task.name)
        self._own(self._attempt(rt, queue, task, context, now))

    async def _attempt(self, rt: QueueRuntime, queue: Queue, task: Task, context: AttemptContext, start: float) -> None:
        assert self.deliver is not None
        outcome = Outcome()
        try:
            async with self.clock.deadline(start + attempts.deadline_s(task)):
                await self.deliver(queue, task, context, outcome)
        except TimeoutError:
            outcome.status, outcome.error = None, "timeout"
        except Exception as error:  # a bug must not lose the task
            logger.error("delivery of %s failed: %r", task.name, error)
            outcome.status, outcome.error = None, f"{type(error).__name__}: {error}"
        try:
            self._finish(rt, queue, task, context, outcome)
        except EmuError as error:  # the outcome cannot be written (database down, disk full)
            logger.warning(
                "attempt of task %s ended (status %s) but cannot be recorded: %s; it will be attempted again",
                task.name.rsplit("/", 1)[-1],
                outcome.status if outcome.status is not None else "-",
                error.message,
            )
            # _finish landed the attempt first, so its concurrency slot is free already.
            if self.runtimes.get(rt.name) is rt:  # still dispatched here: due again as stored (at least once)
                heapq.heappush(rt.heap, (context.eta_us, next(self._seq), task.name))
                rt.wake.set()

    def _finish(self, rt: QueueRuntime, queue: Queue, task: Task, context: AttemptContext, outcome: Outcome) -> None:
        now = self.clock.now()
        rt.landed(task.name)
        rt.wake.set()
        self._changed.set()
        self._record(queue, task, context, outcome, now)
        if self.runtimes.get(rt.name) is not rt:
            return  # its queue was deleted or reset meanwhile (a task's name stays tombstoned)
        if outcome.ok:
            rt.finished_at.append(now)
            rt.bucket.recover()
            self.store.remove_task(task.name, tombstone_until_us(queue, now))  # False if deleted meanwhile
            return
        if attempts.slows_queue(task, outcome):
            rt.bucket.throttle()
        # Settled on the stored task, not this attempt's copy: RunTask's attempt of the same task may
        # have ended meanwhile, and its counts must not be written over.
        retried = False

        def fail(stored: Task) -> None:
            nonlocal retried
            retried = attempts.fail(stored, outcome, queue.retry, now)

        stored = self.store.change_task(task.name, fail)
        if stored is None:
            return  # deleted or purged while in flight
        if not retried:
            rule = give_up_rule(stored.retry or queue.retry)
            logger.info("gave up task=%s after %d attempts: %s reached", task.name, stored.dispatch_count, rule)
            rt.finished_at.append(now)
            self.store.remove_task(task.name, tombstone_until_us(queue, now))
            return
        self.schedule(queue, stored)
        if not self.placement.owns(queue.name):  # RunTask through a process that does not own the queue
            self.placement.announce(queue, stored)

    def _record(self, queue: Queue, task: Task, context: AttemptContext, outcome: Outcome, now: float) -> None:
        entry = JournalEntry(
            queue=queue.name,
            task=task.name,
            url=outcome.url,
            status=outcome.status,
            error=outcome.error,
            latency_s=outcome.latency_s,
            at=now,
            attempt=context.retry_count + 1,
            request_headers=outcome.request_headers,
            response_excerpt=outcome.response_excerpt[: attempts.EXCERPT_BYTES],
        )
        self.journal.record(entry)
        logger.info(
            "dispatch queue=%s task=%s attempt=%d url=%s status=%s%s latency=%.1fms",
            queue.name.rsplit("/", 1)[-1],
            task.name.rsplit("/", 1)[-1],
            entry.attempt,
            outcome.url,
            outcome.status if outcome.status is not None else "-",
            f" error={outcome.error}" if outcome.error else "",
            entry.latency_s * 1000,
        )

    # waiting for quiet
    def settled(self, names: list[str] | None = None) -> bool:
        """Nothing in flight, and no loop has work it could do right now."""
        now = self.clock.now()
        for name, rt in self.runtimes.items():
            if names is not None and name not in names:
                continue
            if rt.in_flight:
                return False
            if rt.loop is None:
                continue
            if rt.parked is None or rt.wake.is_set():
                return False
            until, reason = rt.parked
            if until is not None and until <= now + EPSILON_S:
                return False
            if reason == "rate" and not self.clock.virtual:
                return False
        return True

    async def drain(self, timeout_s: float, names: list[str] | None = None) -> bool:
        """Wait (real time, bounded) until settled(); False on timeout. Woken by loops parking and
        attempts ending, not by polling."""
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    if self.settled(names):
                        for _ in range(3):  # let wake-ups already scheduled run
                            await asyncio.sleep(0)
                        if self.settled(names):
                            return True
                        continue
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            return False

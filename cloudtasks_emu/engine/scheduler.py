"""When tasks go out: a heap per queue, one dispatcher coroutine per push queue, retries, limits.

No timer per task: each queue keeps (schedule_us, seq, task name) in a heap; entries of tasks
that were deleted, rescheduled or are in flight are skipped when they reach the top.
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..clock import EPSILON_S, US, Clock, FakeClock, to_us
from ..errors import Code, code_for_http
from ..model import AppEngineRequest, Attempt, Queue, QueueState, Task
from .ratelimit import TokenBucket
from .retry import backoff_s, gives_up
from .storage import Storage

logger = logging.getLogger(__name__)

DEFAULT_DEADLINE_S = 600.0  # HTTP tasks, and App Engine tasks on automatic scaling


@dataclass(slots=True, frozen=True)
class AttemptContext:
    """What the handler is told about this attempt (the X-AppEngine-* / X-CloudTasks-* headers)."""

    retry_count: int
    execution_count: int
    previous_response: int | None
    retry_reason: str | None
    eta_us: int


@dataclass(slots=True)
class Outcome:
    """Filled in by the delivery as it goes, so a timed-out attempt still knows its URL."""

    status: int | None = None  # HTTP status, None when no response came (timeout, connection error)
    url: str = ""
    error: str = ""  # "timeout" or a connection error
    latency_s: float = 0.0  # real time, measured by the delivery

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


Deliver = Callable[[Queue, Task, AttemptContext, Outcome], Awaitable[None]]


@dataclass(slots=True)
class AttemptRecord:
    """One dispatch attempt, for the admin API's list of recent attempts."""

    queue: str
    task: str
    url: str
    status: int | None
    error: str
    latency_s: float
    at: float
    retry_count: int


def tombstone_until_us(queue: Queue, now: float) -> int:
    return to_us(now + queue.tombstone_ttl_s)


class QueueRuntime:
    """The dispatch state of one queue: its heap, token bucket, in-flight set and counters."""

    def __init__(self, queue: Queue, now: float) -> None:
        self.name = queue.name
        self.queue = queue  # its config as last written, refreshed by Scheduler.queue_changed
        self.heap: list[tuple[int, int, str]] = []
        self.wake = asyncio.Event()
        self.in_flight: set[str] = set()
        self.bucket = TokenBucket(queue.rate.max_dispatches_per_second, queue.rate.max_burst_size, now)
        self.finished_at: collections.deque[float] = collections.deque()
        self.loop: asyncio.Task[None] | None = None
        # Where the loop waits: (until, reason); None while it is working.
        self.parked: tuple[float | None, str] | None = None

    def top(self, store: Storage) -> Task | None:
        """The earliest task still waiting, dropping stale heap entries on the way."""
        while self.heap:
            due, _, name = self.heap[0]
            task = store.get_task(name)
            if task is not None and task.schedule_us == due and name not in self.in_flight:
                return task
            heapq.heappop(self.heap)
        return None

    def executed_last_minute(self, now: float) -> int:
        while self.finished_at and self.finished_at[0] < now - 60:
            self.finished_at.popleft()
        return len(self.finished_at)


class Scheduler:
    """Owns every dispatcher loop and delivery; all of it runs on the event loop."""

    RECENT_ATTEMPTS = 1000

    def __init__(self, store: Storage, clock: Clock, deliver: Deliver | None = None) -> None:
        self.store = store
        self.clock = clock
        self.deliver = deliver
        self.runtimes: dict[str, QueueRuntime] = {}
        self.recent: collections.deque[AttemptRecord] = collections.deque(maxlen=self.RECENT_ATTEMPTS)
        self._seq = itertools.count()
        self._owned: set[asyncio.Task[None]] = set()
        self._running = False

    # wiring from the service
    def runtime(self, queue: Queue) -> QueueRuntime:
        rt = self.runtimes.get(queue.name)
        if rt is None:
            rt = self.runtimes[queue.name] = QueueRuntime(queue, self.clock.now())
        if self._running and rt.loop is None and not queue.pull and self.deliver is not None:
            rt.loop = self._own(self._dispatch_loop(rt))
        return rt

    def schedule(self, queue: Queue, task: Task) -> None:
        rt = self.runtime(queue)
        heapq.heappush(rt.heap, (task.schedule_us, next(self._seq), task.name))
        if rt.heap[0][2] == task.name:
            rt.wake.set()

    def queue_changed(self, queue: Queue) -> None:
        """Called after every write of a queue: the loop reads its config from here."""
        rt = self.runtime(queue)
        rt.queue = queue
        rt.bucket.configure(queue.rate.max_dispatches_per_second, queue.rate.max_burst_size)
        rt.wake.set()

    def queue_deleted(self, name: str) -> None:
        rt = self.runtimes.pop(name, None)
        if rt is not None and rt.loop is not None:
            rt.loop.cancel()

    def stats(self, queue: Queue) -> tuple[int | None, int, int, float]:
        """(oldest schedule_us, executed last minute, dispatches in flight, effective rate)."""
        rt = self.runtime(queue)
        top = rt.top(self.store)
        return (
            top.schedule_us if top is not None else None,
            rt.executed_last_minute(self.clock.now()),
            len(rt.in_flight),
            rt.bucket.effective_rate,
        )

    # lifecycle
    def _own(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._owned.add(task)
        task.add_done_callback(self._owned.discard)
        return task

    def start(self) -> None:
        """Rebuild every queue's heap from the store (tasks kept across a restart) and start the loops."""
        self._running = True
        for queue in list(self.store.queues_after("", "")):
            rt = self.runtime(queue)
            rt.queue = queue
            rt.heap = [(due, next(self._seq), name) for due, name in self.store.pending_schedule(queue.name)]
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
        try:
            if until is None:
                await rt.wake.wait()
                return
            sleeper = asyncio.ensure_future(self.clock.sleep_until(until))
            waker = asyncio.ensure_future(rt.wake.wait())
            _, pending = await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
        finally:
            rt.parked = None

    async def _dispatch_loop(self, rt: QueueRuntime) -> None:
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
            if len(rt.in_flight) >= queue.rate.max_concurrent_dispatches:
                await self._park(rt, None, "concurrency")
                continue
            wait_s = rt.bucket.take(now)
            if wait_s > 0:
                await self._park(rt, now + wait_s, "rate")
                continue
            heapq.heappop(rt.heap)
            self.dispatch(queue, task)

    def dispatch(self, queue: Queue, task: Task) -> None:
        """Start one attempt now: count it on the task, then deliver in the background."""
        rt = self.runtime(queue)
        now = self.clock.now()
        context = AttemptContext(
            retry_count=task.dispatch_count,
            execution_count=task.execution_count,
            previous_response=task.previous_response,
            retry_reason=task.retry_reason,
            eta_us=task.schedule_us,
        )
        attempt = Attempt(schedule_us=task.schedule_us, dispatch_us=to_us(now))
        task.dispatch_count += 1
        if task.first_attempt is None:
            task.first_attempt = attempt
        task.last_attempt = Attempt(schedule_us=attempt.schedule_us, dispatch_us=attempt.dispatch_us)
        # Written before the attempt starts: a kill now leaves the task due, so it is attempted again.
        self.store.update_task(task)
        rt.in_flight.add(task.name)
        self._own(self._attempt(rt, queue, task, context, now))

    async def _attempt(self, rt: QueueRuntime, queue: Queue, task: Task, context: AttemptContext, start: float) -> None:
        assert self.deliver is not None
        deadline_s = task.dispatch_deadline_ms / 1000 if task.dispatch_deadline_ms else DEFAULT_DEADLINE_S
        outcome = Outcome()
        delivery = asyncio.ensure_future(self.deliver(queue, task, context, outcome))
        timer = asyncio.ensure_future(self.clock.sleep_until(start + deadline_s))
        try:
            await asyncio.wait({delivery, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not delivery.done():
                delivery.cancel()
                outcome.status, outcome.error = None, "timeout"
        if delivery.done() and not delivery.cancelled() and delivery.exception() is not None:
            error = delivery.exception()
            logger.error("delivery of %s failed: %r", task.name, error)  # a bug must not lose the task
            outcome.status, outcome.error = None, f"{type(error).__name__}: {error}"
        self._finish(rt, queue, task, context, outcome)

    def _finish(self, rt: QueueRuntime, queue: Queue, task: Task, context: AttemptContext, outcome: Outcome) -> None:
        now = self.clock.now()
        rt.in_flight.discard(task.name)
        rt.wake.set()
        self._record(queue, task, context, outcome, now)
        current = self.store.get_task(task.name)
        if current is None or current.create_us != task.create_us:
            return  # deleted, purged or its queue deleted while in flight
        task = current
        self._account(queue, task, outcome, now)
        if outcome.ok:
            rt.finished_at.append(now)
            rt.bucket.recover()
            self.store.remove_task(task.name, tombstone_until_us(queue, now))
            return
        if outcome.status == 503 or (outcome.status == 429 and not isinstance(task.payload, AppEngineRequest)):
            rt.bucket.throttle()
        policy = task.retry or queue.retry
        first = task.first_attempt.dispatch_us if task.first_attempt and task.first_attempt.dispatch_us else 0
        if gives_up(task.dispatch_count, now - first / US, policy):
            rt.finished_at.append(now)
            self.store.remove_task(task.name, tombstone_until_us(queue, now))
            return
        task.schedule_us = to_us(now + backoff_s(task.dispatch_count, policy))
        self.store.update_task(task)
        self.schedule(queue, task)

    @staticmethod
    def _account(queue: Queue, task: Task, outcome: Outcome, now: float) -> None:
        """Response bookkeeping and what the next attempt's headers will say."""
        app_engine = isinstance(task.payload, AppEngineRequest)
        attempt = task.last_attempt
        assert attempt is not None
        attempt.response_us = to_us(now)
        if outcome.status is not None:
            task.response_count += 1
            attempt.response_code = 0 if outcome.ok else code_for_http(outcome.status).grpc_code
            attempt.response_message = "" if outcome.ok else f"HTTP {outcome.status}"
            # An App Engine handler's every answer counts as an execution; HTTP targets skip 5xx.
            if app_engine or outcome.status < 500:
                task.execution_count += 1
            task.previous_response = outcome.status
            task.retry_reason = "App Error" if app_engine else ""
        else:
            timed_out = outcome.error == "timeout"
            code = Code.DEADLINE_EXCEEDED if timed_out else Code.UNAVAILABLE
            attempt.response_code, attempt.response_message = code.grpc_code, outcome.error
            task.previous_response = 504 if timed_out and not app_engine else 0
            task.retry_reason = "Instance Unavailable" if app_engine else ""

    def _record(self, queue: Queue, task: Task, context: AttemptContext, outcome: Outcome, now: float) -> None:
        record = AttemptRecord(
            queue.name,
            task.name,
            outcome.url,
            outcome.status,
            outcome.error,
            outcome.latency_s,
            now,
            context.retry_count,
        )
        self.recent.append(record)
        logger.info(
            "dispatch queue=%s task=%s attempt=%d url=%s status=%s%s latency=%.1fms",
            queue.name.rsplit("/", 1)[-1],
            task.name.rsplit("/", 1)[-1],
            context.retry_count + 1,
            outcome.url,
            outcome.status if outcome.status is not None else "-",
            f" error={outcome.error}" if outcome.error else "",
            record.latency_s * 1000,
        )

    # waiting for quiet
    def settled(self, names: list[str] | None = None) -> bool:
        """Nothing in flight, and no loop has work it could do right now."""
        virtual = isinstance(self.clock, FakeClock)
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
            if reason == "rate" and not virtual:
                return False
        return True

    async def drain(self, timeout_s: float, names: list[str] | None = None) -> bool:
        """Wait (real time, bounded) until settled(); False on timeout."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout_s
        quiet = 0
        while loop.time() < end:
            quiet = quiet + 1 if self.settled(names) else 0
            if quiet >= 3:  # settled across a few loop turns, so wake-ups in flight have run
                return True
            await asyncio.sleep(0 if quiet else 0.001)
        return False

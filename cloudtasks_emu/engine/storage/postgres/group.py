"""Several emulator processes over one PostgreSQL: who dispatches which queue, and how they hear of changes.

No home-made consensus: the database is the group. Each process holds, on one dedicated connection,
a session advisory lock that says it is a member and one per push queue it owns; when a process dies,
its connection goes and so do its locks. Only a queue's owner keeps the queue's heap and dispatches
it, so rate, burst and max_concurrent_dispatches hold for the whole group. A second connection
LISTENs for what the others do:

    t|QUEUE|SCHEDULE_US|TASK  a push task was created (sent by the INSERT itself): the owner heaps it
    q|QUEUE                   a queue was written or deleted: the owner reloads it, others may take it
    c|AT_US, C|AT_US          the group's virtual clock moved (C: a reset's jump, backwards too)
    r                         everything was reset
    d|ID|TIMEOUT|QUEUES       a drain: each member drains what it owns and answers D|ID|MEMBER|IDLE

Every STATS_S an owner writes its queues' dispatch stats (executed last minute, in flight, effective
rate) that changed into `queue_stats`, which GetQueue reads through the other processes.

Ownership spreads: a process takes a queue only while it owns fewer than ceil(push queues / members),
and the least loaded tries first. Every SWEEP_S each process tries the queues nobody owns (a dead
owner's), so a kill -9 is taken over within a few seconds; the new owner rebuilds the heap from the
store, and attempts that were in flight are due again (at-least-once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from typing import Any

from ....clock import US, to_us
from ....errors import Code, EmuError
from ....model import Queue, Task
from ...placement import DispatchStats, Host, LeaseSource
from .schema import CHANNEL, UNAVAILABLE, connect
from .shared_state import SharedClock
from .store import PostgresStorage

logger = logging.getLogger(__name__)

SWEEP_S = 2.0  # how often unowned queues are tried: a dead owner's queues move within about this long
STATS_S = 1.0  # how often an owner publishes its queues' dispatch stats (GetQueue through the others)
_MEMBER, _QUEUE = 0x43544D, 0x435451  # advisory lock classes: (class, pid) a member, (class, hash) a queue
_SPREAD_S = 0.05  # per owned queue, how long a process waits before trying a new queue
_ADVISORY = (
    "FROM pg_locks WHERE locktype = 'advisory' AND classid = %s::oid AND objsubid = 2 AND granted "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


class Group:
    """This process's membership: the queues it owns, and the notifications it acts on."""

    def __init__(self, store: PostgresStorage, clock: SharedClock | None) -> None:
        self.store = store
        self.pull_source: LeaseSource | None = (
            store  # no process's heap sees every task: leases lock the database's rows
        )
        self._clock = clock  # the group's virtual clock, moved by what the others publish; None: real time
        self._host: Host | None = None  # the scheduler this process dispatches with, from start()
        self.owned: set[str] = set()
        self.member = 0  # the backend pid of the lock connection: unique among live members
        self._locks: Any = None  # sync connection: the member's and the queues' advisory locks
        self._tasks: set[asyncio.Task[None]] = set()
        self._drains: dict[str, dict[int, bool]] = {}
        self._answered = asyncio.Event()
        self._stopping = False
        self._listening = asyncio.Event()  # set while this process is a listening member
        self._lost = False  # the database connection was lost and the group not rejoined yet
        self._published: dict[str, tuple[int, int, float]] = {}  # the stats last published, by queue

    @property
    def host(self) -> Host:
        assert self._host is not None, "the group is not started"
        return self._host

    # the placement's questions (engine/placement.py)
    def owns(self, queue_name: str) -> bool:
        return queue_name in self.owned

    def announce(self, queue: Queue, task: Task) -> None:
        self._notify(f"t|{queue.name}|{task.schedule_us}|{task.name}")

    def stats_elsewhere(self, queue: Queue) -> tuple[int | None, DispatchStats | None]:
        """Read in the database, since no heap here holds the queue: the owner's stats as of its last publication."""
        oldest = self.store.oldest_schedule_us(queue.name)
        return oldest, None if queue.pull else self.store.published_stats(queue.name)

    def membership(self) -> tuple[int, list[str]] | None:
        return self.member, sorted(self.owned)

    # lifecycle
    async def start(self, host: Host, timeout_s: float = 10.0) -> None:
        """Join the group (StorageError if the database cannot be reached) to dispatch with `host`, and
        return once this process listens, counts as a member and has taken its share of the queues."""
        self._host = host
        await self._join()
        self._own(self._listen_forever())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._listening.wait()

    def _own(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _join(self) -> None:
        self._locks = connect(self.store.url)
        self.member = self._locks.info.backend_pid

    async def stop(self) -> None:
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._drop_all()
        if self._locks is not None:
            self._locks.close()  # our locks go with the session: the others take our queues

    def _drop_all(self) -> None:
        for name in list(self.owned):
            self.owned.discard(name)
            self.host.release(name)

    async def _listen_forever(self) -> None:
        """Listen, and sweep for unowned queues; after a lost connection, drop every queue (another
        process may take them) and join again."""
        import psycopg

        while not self._stopping:
            try:
                await self._session()
            except* (psycopg.Error, OSError, EmuError) as errors:  # EmuError: the store's UNAVAILABLE
                if not self._lost:  # once per outage, not once per reconnection attempt
                    logger.error(
                        "lost the group's database connection (%s): dropping owned queues", errors.exceptions[0]
                    )
                self._lost = True
                self._listening.clear()
                self._drop_all()
                with contextlib.suppress(Exception):
                    self._locks.close()
                await asyncio.sleep(1.0)
                with contextlib.suppress(Exception):
                    await self._join()

    async def _session(self) -> None:
        import psycopg

        connecting = psycopg.AsyncConnection.connect(self.store.url, autocommit=True, connect_timeout=10)
        async with await connecting as listener:
            await listener.execute(f"LISTEN {CHANNEL}")
            # A member once it listens (drains wait for every member's answer); sweeping after LISTEN, a
            # queue created meanwhile is either seen here or heard of.
            self._locks.execute("SELECT pg_advisory_lock(%s, %s)", (_MEMBER, self.member))
            self._sweep()
            self._listening.set()
            if self._lost:
                logger.info("rejoined the group: the database is reachable again")
                self._lost = False
            async with asyncio.TaskGroup() as group:
                group.create_task(self._hear(listener))
                group.create_task(self._sweep_forever())
                group.create_task(self._publish_forever())

    async def _hear(self, listener: Any) -> None:
        """Act on notifications as their bytes arrive, every one buffered at each wake-up: libpq's own
        calls on the socket cost a small part of psycopg's notifies() generator, and every process
        hears every create of the group. Ends (raises) when the connection is lost."""
        loop = asyncio.get_running_loop()
        pgconn, lost = listener.pgconn, loop.create_future()
        socket = pgconn.socket

        def readable() -> None:
            try:
                pgconn.consume_input()
                while (note := pgconn.notifies()) is not None:
                    self._heard(note.extra.decode(), note.be_pid)
            except Exception as error:  # psycopg.OperationalError: the connection is gone
                loop.remove_reader(socket)
                if not lost.done():
                    lost.set_exception(error)

        loop.add_reader(socket, readable)
        try:
            readable()  # what arrived while LISTEN was answered
            await lost
        finally:
            loop.remove_reader(socket)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            self._sweep()

    async def _publish_forever(self) -> None:
        """The dispatch stats of the owned queues, as they change, for GetQueue through the other processes."""
        while True:
            await asyncio.sleep(STATS_S)
            stats = {name: row for name in self.owned if (row := self.host.dispatch_stats_of(name)) is not None}
            changed = {name: row for name, row in stats.items() if self._published.get(name) != row}
            if changed:
                self.store.publish_stats(changed)
            self._published = stats

    # ownership
    def _members(self) -> int:
        return int(self._locks.execute(f"SELECT COUNT(*) {_ADVISORY}", (_MEMBER,)).fetchone()[0])

    def _cap(self, queues: int) -> int:
        return max(1, math.ceil(queues / max(1, self._members())))

    def _unowned(self) -> list[str]:
        """Push queues nobody else holds and this process does not own (a queue whose name hashes
        like one we own is locked by our session, but still ours to take)."""
        rows = self._locks.execute(
            "SELECT name FROM queues WHERE NOT pull AND hashtext(name)::oid NOT IN "
            f"(SELECT objid {_ADVISORY} AND pid <> pg_backend_pid()) ORDER BY name",
            (_QUEUE,),
        )
        return [row[0] for row in rows if row[0] not in self.owned]

    def _sweep(self) -> None:
        """Let go of deleted queues and take unowned ones, up to this process's share."""
        names = self.store.push_queue_names()
        for name in self.owned - set(names):
            self._release(name)
        cap = self._cap(len(names))
        for name in self._unowned():
            if len(self.owned) >= cap:
                break
            self._try_take(name)

    def _try_take(self, name: str) -> None:
        if name in self.owned:
            return
        got = self._locks.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (_QUEUE, name)).fetchone()[0]
        if not got:
            return
        queue = self.store.get_queue(name)
        if queue is None or queue.pull:
            self._locks.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_QUEUE, name))
            return
        self.owned.add(name)
        logger.info("took queue %s", name)
        self.host.take(queue)

    def _release(self, name: str) -> None:
        if name in self.owned:
            self.owned.discard(name)
            self._locks.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_QUEUE, name))
        self.host.release(name)

    def _consider(self, name: str) -> None:
        """A queue was just created or changed and nobody here owns it: take it if it is ours to take."""
        if self._stopping or name in self.owned:
            return
        if len(self.owned) < self._cap(len(self.store.push_queue_names())):
            self._try_take(name)

    # notifications
    def _notify(self, payload: str) -> None:
        self._locks.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))

    def _heard(self, payload: str, sender: int) -> None:
        kind, _, rest = payload.partition("|")
        try:
            if kind == "t":
                if sender != self.store.backend_pid:  # our own creates are heaped already
                    queue, due, task = rest.split("|", 2)
                    self.host.heard(queue, int(due), task)
            elif kind == "q":
                self._queue_written(rest)
            elif kind in ("c", "C"):  # C: a reset's jump, backwards too
                clock = self._clock
                if clock is not None and sender != self.store.backend_pid:  # ours is applied
                    # Notifications from different processes may arrive out of order: the stored
                    # time is the group's, so go to it (backwards only when a reset took it there).
                    at_us = self.store.shared_now_us(int(rest))
                    clock.heard(at_us / US, backwards=at_us < to_us(clock.now()))
            elif kind == "r":
                self._published = {}
                for name in list(self.owned):
                    self._release(name)
                for name in self.host.runtime_names():
                    self.host.release(name)
            elif kind == "d":
                drain_id, timeout, queues = rest.split("|", 2)
                self._own(self._answer_drain(drain_id, float(timeout), queues.split(",") if queues else None))
            elif kind == "D":
                drain_id, member, idle = rest.split("|")
                if drain_id in self._drains:
                    self._drains[drain_id][int(member)] = idle == "1"
                    self._answered.set()
        except Exception:  # one bad notification must not stop the listener
            logger.exception("cannot act on the group notification %r", payload)

    def _queue_written(self, name: str) -> None:
        queue = self.store.get_queue(name)
        if queue is None:
            self._release(name)  # (the store dropped its attempts with it)
        elif name in self.owned:
            self.host.queue_changed(queue)
        elif not queue.pull:  # the least loaded process tries first
            asyncio.get_running_loop().call_later(_SPREAD_S * len(self.owned), self._consider, name)

    # drain, across the group
    async def _answer_drain(self, drain_id: str, timeout_s: float, queues: list[str] | None) -> None:
        idle = await self.host.drain(timeout_s, queues)
        self._notify(f"D|{drain_id}|{self.member}|{int(idle)}")

    async def drain(self, here: Host, timeout_s: float, queues: list[str] | None) -> bool:
        """Wait (bounded, real time) until every process is idle: a dead owner's queues are taken
        first, then every live member drains what it owns and answers. UNAVAILABLE while the database
        is (after a lost connection, this process first rejoins the group, within the same time)."""
        import psycopg

        loop = asyncio.get_running_loop()
        end = loop.time() + timeout_s
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._listening.wait()
        if not self._listening.is_set():
            raise EmuError(Code.UNAVAILABLE, f"{UNAVAILABLE}: this process has not rejoined its group yet")
        try:
            return await self._drain_members(loop, end, queues)
        except psycopg.Error as error:
            raise EmuError(Code.UNAVAILABLE, f"{UNAVAILABLE}: {error}") from error

    async def _drain_members(self, loop: asyncio.AbstractEventLoop, end: float, queues: list[str] | None) -> bool:
        while self._unowned():
            if loop.time() >= end:
                return False
            await asyncio.sleep(0.1)
        drain_id = uuid.uuid4().hex
        replies = self._drains[drain_id] = {}
        try:
            self._notify(f"d|{drain_id}|{max(0.0, end - loop.time())}|{','.join(queues or [])}")
            while True:
                live = {int(row[0]) for row in self._locks.execute(f"SELECT objid {_ADVISORY}", (_MEMBER,))}
                if live <= replies.keys():
                    return all(replies[member] for member in live)
                remaining = end - loop.time()
                if remaining <= 0:
                    return False
                self._answered.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(remaining, 0.5)):  # a member may die meanwhile
                        await self._answered.wait()
        finally:
            del self._drains[drain_id]

"""What only a shared store does: pull leases taken in the database (a LeaseSource), heapless stats, the
group's attempt journal and its virtual clock; mixed into PostgresStorage (store.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ....model import Queue, Task
from ...placement import Candidates
from ..records import dumps, load_task
from .schema import CHANNEL, unavailable


class SharedOperations:
    def _conn(self) -> Any:
        raise NotImplementedError

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        raise NotImplementedError

    # pull leases and the heapless stats, read in the database since no process's heap sees every task
    @unavailable
    def oldest_schedule_us(self, queue_name: str) -> int | None:
        row = self._one("SELECT MIN(schedule_us) FROM tasks WHERE queue = %s", (queue_name,))
        return None if row[0] is None else int(row[0])

    @unavailable
    def publish_stats(self, stats: dict[str, tuple[int, int, float]]) -> None:
        """The owner's (executed last minute, in flight, effective rate) of its queues, for the others' GetQueue."""
        names = list(stats)
        self._conn().execute(
            "INSERT INTO queue_stats SELECT * FROM unnest(%s::text[], %s::int[], %s::int[], %s::float8[]) "
            "ON CONFLICT (name) DO UPDATE SET executed_last_minute = EXCLUDED.executed_last_minute, "
            "in_flight = EXCLUDED.in_flight, effective_rate = EXCLUDED.effective_rate",
            (names, *([stats[name][i] for name in names] for i in range(3))),
        )

    @unavailable
    def published_stats(self, queue_name: str) -> tuple[int, int, float] | None:
        row = self._one(
            "SELECT executed_last_minute, in_flight, effective_rate FROM queue_stats WHERE name = %s", (queue_name,)
        )
        return None if row is None else (int(row[0]), int(row[1]), float(row[2]))

    @unavailable
    def lease(self, queue: Queue, now_us: int, max_tasks: int, pick: Callable[[Candidates], list[Task]]) -> list[Task]:
        """Run the lease algorithm over the queue's due rows, atomically across the group: the rows are
        locked (SKIP LOCKED: a concurrent lease takes others) and the leased ones written before commit."""
        db = self._conn()
        with db.transaction():
            candidates = _LockedRows(db, queue.name, now_us, max_tasks)
            leased = pick(candidates)
            if candidates.taken:
                db.cursor().executemany(
                    "UPDATE tasks SET schedule_us = %s, data = %s WHERE name = %s",
                    [(task.schedule_us, dumps(task), task.name) for task in candidates.taken],
                )
        return leased

    # attempts, shared so that /_emu/attempts answers for the whole group
    @unavailable
    def add_attempt(self, queue_name: str, data: str, keep: int) -> None:
        db = self._conn()
        row = db.execute(
            "INSERT INTO attempts (queue, data) VALUES (%s, %s) RETURNING seq", (queue_name, data)
        ).fetchone()
        if row[0] % max(1, keep // 4 or 1) == 0:  # trim now and then, not on every attempt
            db.execute(
                "DELETE FROM attempts WHERE queue = %s AND seq <= (SELECT seq FROM attempts WHERE queue = %s "
                "ORDER BY seq DESC OFFSET %s LIMIT 1)",
                (queue_name, queue_name, keep),
            )

    @unavailable
    def attempts(self, queue_name: str | None, limit: int) -> list[str]:
        """The latest `limit` attempts (serialized), oldest first."""
        if queue_name is None:
            sql, params = "SELECT data FROM attempts ORDER BY seq DESC LIMIT %s", (limit,)
        else:
            sql = "SELECT data FROM attempts WHERE queue = %s ORDER BY seq DESC LIMIT %s"
            params = (queue_name, limit)  # type: ignore[assignment]
        return [row[0] for row in self._conn().execute(sql, params)][::-1]

    @unavailable
    def forget_attempts(self, queue_name: str | None) -> None:
        if queue_name is None:
            self._conn().execute("DELETE FROM attempts")
        else:
            self._conn().execute("DELETE FROM attempts WHERE queue = %s", (queue_name,))

    # the group's virtual clock
    @unavailable
    def shared_now_us(self, proposed_us: int) -> int:
        """The group's virtual time: the stored one, or `proposed_us` when this is the first process."""
        self._conn().execute("INSERT INTO clock VALUES (1, %s) ON CONFLICT DO NOTHING", (proposed_us,))
        return int(self._one("SELECT now_us FROM clock WHERE id = 1")[0])

    @unavailable
    def move_shared_clock(self, at_us: int, backwards: bool = False) -> None:
        """Move the group's virtual time forward (or, for a reset, to `at_us` exactly) and tell every process."""
        db = self._conn()
        with db.transaction():
            row = db.execute(
                "UPDATE clock SET now_us = CASE WHEN %s THEN %s ELSE GREATEST(now_us, %s) END WHERE id = 1 "
                "RETURNING now_us",
                (backwards, at_us, at_us),
            ).fetchone()
            db.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{'C' if backwards else 'c'}|{row[0]}"))


class _LockedRows:
    """A pull queue's candidates as rows of the database, locked by the lease's transaction."""

    def __init__(self, db: Any, queue_name: str, now_us: int, max_tasks: int) -> None:
        self.db, self.queue_name, self.now_us, self.max_tasks = db, queue_name, now_us, max_tasks
        self.taken: list[Task] = []

    def oldest_tag(self) -> str | None:
        row = self.db.execute(
            "SELECT tag FROM tasks WHERE queue = %s ORDER BY schedule_us, name LIMIT 1", (self.queue_name,)
        ).fetchone()
        return None if row is None else row[0] or ""

    def due(self, tag: str | None) -> Iterator[Task]:
        where = "queue = %s AND schedule_us <= %s" + ("" if tag is None else " AND tag = %s")
        params: tuple[Any, ...] = (self.queue_name, self.now_us) if tag is None else (self.queue_name, self.now_us, tag)
        rows = self.db.execute(
            f"SELECT data FROM tasks WHERE {where} ORDER BY schedule_us, name LIMIT %s FOR UPDATE SKIP LOCKED",
            (*params, self.max_tasks),
        ).fetchall()
        for (data,) in rows:
            yield load_task(data)

    def take(self, task: Task) -> None:
        self.taken.append(task)

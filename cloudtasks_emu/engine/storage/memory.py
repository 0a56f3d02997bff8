"""The memory backend (the default): dicts ordered by name for O(log n) paging; lost when the process ends."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

from sortedcontainers import SortedDict

from ...model import Queue, Task, task_size
from . import Inserted, Usage


class Tombstones:
    """Names that were deleted recently, each with its expiry; expired ones are dropped lazily."""

    def __init__(self) -> None:
        self._until: dict[str, int] = {}
        self._heap: list[tuple[int, str]] = []

    def add(self, name: str, until_us: int) -> None:
        self._until[name] = until_us
        heapq.heappush(self._heap, (until_us, name))

    def __contains__(self, name: str) -> bool:
        return name in self._until

    def discard(self, name: str) -> None:
        self._until.pop(name, None)

    def expire(self, now_us: int) -> None:
        while self._heap and self._heap[0][0] <= now_us:
            until, name = heapq.heappop(self._heap)
            if self._until.get(name) == until:
                del self._until[name]


def _queue_of(task_name: str) -> str:
    return task_name.rsplit("/tasks/", 1)[0]


class MemoryStorage:
    """Stored objects are handed out as they are (no copies), so writes back cost nothing."""

    def __init__(self) -> None:
        self._queues: SortedDict = SortedDict()  # name -> Queue
        self._tasks: dict[str, SortedDict] = {}  # queue name -> (task name -> Task)
        self._task_tombstones = Tombstones()
        self._queue_tombstones = Tombstones()
        self._task_count = 0
        self._task_bytes = 0
        self._cmek: dict[str, str] = {}
        self._operations: dict[str, bytes] = {}  # name -> serialized operation, oldest first
        self._by_request: dict[str, str] = {}  # request key -> operation name

    # queues
    def get_queue(self, name: str) -> Queue | None:
        queue: Queue | None = self._queues.get(name)
        return queue

    queue_for_create = get_queue  # held in this process: always the stored queue

    def put_queue(self, queue: Queue) -> None:
        self._queues[queue.name] = queue
        self._tasks.setdefault(queue.name, SortedDict())
        self._queue_tombstones.discard(queue.name)

    def delete_queue(self, name: str, tombstone_until_us: int) -> None:
        self._queues.pop(name, None)
        for task in self._tasks.pop(name, {}).values():
            self._forget(task)
        self._queue_tombstones.add(name, tombstone_until_us)

    def queue_tombstoned(self, name: str) -> bool:
        return name in self._queue_tombstones

    def queues_after(self, prefix: str, after: str) -> Iterator[Queue]:
        for name in self._queues.irange(minimum=max(prefix, after)):
            if not name.startswith(prefix):
                return
            if name != after:
                yield self._queues[name]

    # tasks
    def get_task(self, name: str) -> Task | None:
        tasks = self._tasks.get(_queue_of(name))
        return None if tasks is None else tasks.get(name)

    def insert_task(self, queue_name: str, task: Task) -> Inserted:
        tasks = self._tasks[queue_name]
        if task.name in tasks:
            return Inserted.EXISTS
        if task.name in self._task_tombstones:
            return Inserted.TOMBSTONED
        tasks[task.name] = task
        self._task_count += 1
        self._task_bytes += task_size(task)
        return Inserted.OK

    def update_task(self, task: Task) -> bool:
        tasks = self._tasks.get(_queue_of(task.name))
        if tasks is None or task.name not in tasks:
            return False
        tasks[task.name] = task
        return True

    def change_task(self, name: str, change: Callable[[Task], None]) -> Task | None:
        task = self.get_task(name)
        if task is not None:
            change(task)  # the stored object itself: nothing to write back
        return task

    def _forget(self, task: Task) -> None:
        self._task_count -= 1
        self._task_bytes -= task_size(task)

    def remove_task(self, name: str, tombstone_until_us: int) -> bool:
        tasks = self._tasks.get(_queue_of(name))
        task = None if tasks is None else tasks.pop(name, None)
        if task is None:
            return False
        self._forget(task)
        self._task_tombstones.add(name, tombstone_until_us)
        return True

    def purge_tasks(self, queue_name: str, created_before_us: int, tombstone_until_us: int) -> int:
        tasks = self._tasks.get(queue_name, {})
        doomed = [name for name, task in tasks.items() if task.create_us < created_before_us]
        for name in doomed:
            self._forget(tasks.pop(name))
            self._task_tombstones.add(name, tombstone_until_us)
        return len(doomed)

    def task_tombstoned(self, name: str) -> bool:
        return name in self._task_tombstones

    def tasks_after(self, queue_name: str, after: str) -> Iterator[Task]:
        tasks = self._tasks.get(queue_name, {})
        for name in tasks.irange(minimum=after or None, inclusive=(False, True)):
            yield tasks[name]

    def count_tasks(self, queue_name: str) -> int:
        return len(self._tasks.get(queue_name, ()))

    def pending_schedule(self, queue_name: str) -> list[tuple[int, str]]:
        return sorted((task.schedule_us, task.name) for task in self._tasks.get(queue_name, {}).values())

    # location settings and batch operations
    def cmek_key(self, location: str) -> str:
        return self._cmek.get(location, "")

    def put_cmek_key(self, location: str, key: str) -> None:
        self._cmek[location] = key

    def get_operation(self, name: str) -> bytes | None:
        return self._operations.get(name)

    def operation_for_request(self, request_key: str) -> bytes | None:
        name = self._by_request.get(request_key)
        return None if name is None else self._operations.get(name)

    def put_operation(self, name: str, request_key: str, data: bytes, keep: int) -> None:
        while len(self._operations) >= keep:
            self._operations.pop(next(iter(self._operations)))
        self._operations[name] = data
        if request_key:
            self._by_request[request_key] = name

    # housekeeping
    def expire_tombstones(self, now_us: int) -> None:
        self._task_tombstones.expire(now_us)
        self._queue_tombstones.expire(now_us)

    def usage(self) -> Usage:
        return Usage(self._task_count, self._task_bytes)

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]

    def close(self) -> None:
        pass

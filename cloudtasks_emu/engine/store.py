"""In-memory storage of queues, tasks and tombstones, ordered by name for O(log n) paging."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

from sortedcontainers import SortedDict

from ..model import Queue, Task, task_size


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

    def __len__(self) -> int:
        return len(self._until)


class Store:
    """Queues and their tasks. Every call runs on the event loop, so nothing needs a lock."""

    def __init__(self) -> None:
        self.queues: SortedDict = SortedDict()  # name -> Queue
        self._tasks: dict[str, SortedDict] = {}  # queue name -> (task name -> Task)
        self.task_tombstones = Tombstones()
        self.queue_tombstones = Tombstones()
        self.task_count = 0
        self.task_bytes = 0  # task_size() summed over stored tasks, for the resource caps

    def expire(self, now_us: int) -> None:
        self.task_tombstones.expire(now_us)
        self.queue_tombstones.expire(now_us)

    # queues
    def get_queue(self, name: str) -> Queue | None:
        queue: Queue | None = self.queues.get(name)
        return queue

    def put_queue(self, queue: Queue) -> None:
        self.queues[queue.name] = queue
        self._tasks.setdefault(queue.name, SortedDict())
        self.queue_tombstones.discard(queue.name)

    def delete_queue(self, name: str, tombstone_until_us: int) -> None:
        del self.queues[name]
        for task in self._tasks.pop(name, {}).values():
            self._forget(task)
        self.queue_tombstones.add(name, tombstone_until_us)

    def queues_after(self, prefix: str, after: str) -> Iterator[Queue]:
        """Queues whose names start with `prefix`, in name order, strictly after `after`."""
        for name in self.queues.irange(minimum=max(prefix, after)):
            if not name.startswith(prefix):
                return
            if name != after:
                yield self.queues[name]

    # tasks
    def get_task(self, name: str) -> Task | None:
        tasks = self._tasks.get(name.rsplit("/tasks/", 1)[0])
        return None if tasks is None else tasks.get(name)

    def put_task(self, queue_name: str, task: Task) -> None:
        self._tasks[queue_name][task.name] = task
        self.task_count += 1
        self.task_bytes += task_size(task)

    def _forget(self, task: Task) -> None:
        self.task_count -= 1
        self.task_bytes -= task_size(task)

    def remove_task(self, queue_name: str, name: str, tombstone_until_us: int) -> Task | None:
        task: Task | None = self._tasks[queue_name].pop(name, None)
        if task is not None:
            self._forget(task)
            self.task_tombstones.add(name, tombstone_until_us)
        return task

    def count_tasks(self, queue_name: str) -> int:
        return len(self._tasks.get(queue_name, ()))

    def tasks_after(self, queue_name: str, after: str) -> Iterator[Task]:
        tasks = self._tasks[queue_name]
        for name in tasks.irange(minimum=after or None, inclusive=(False, True)):
            yield tasks[name]

    def remove_tasks(self, queue_name: str, keep: Callable[[Task], bool], tombstone_until_us: int) -> int:
        """Remove (and tombstone) every task of the queue for which keep() is false."""
        tasks = self._tasks[queue_name]
        doomed = [name for name, task in tasks.items() if not keep(task)]
        for name in doomed:
            self._forget(tasks.pop(name))
            self.task_tombstones.add(name, tombstone_until_us)
        return len(doomed)

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]

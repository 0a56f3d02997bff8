#!/usr/bin/env python3
"""Dashboard benchmark: what a task page costs beside a plain ListTasks page, with N tasks queued.

In-process (the service with its in-memory store), so it measures the reads, not HTTP.
python scripts/bench_dashboard.py [--tasks 1000000]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from cloudtasks_emu.clock import FakeClock, to_us
from cloudtasks_emu.config import Settings
from cloudtasks_emu.dashboard import views
from cloudtasks_emu.model import HttpRequest, Queue, Task
from cloudtasks_emu.service import TasksService

QUEUE = "projects/bench/locations/l/queues/q"


def best_ms(call: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    args = parser.parse_args()
    clock = FakeClock()
    service = TasksService(Settings(), clock)
    service.create_queue("projects/bench/locations/l", Queue(name=QUEUE))
    service.pause_queue(QUEUE)
    now = clock.now()
    for _ in range(args.tasks):
        task = Task("", HttpRequest(url="http://x/"), to_us(now + random.random() * 3600), 0)
        service.create_task(QUEUE, task, False)
    queue, now_us = service.require_queue(QUEUE), to_us(clock.now())
    flying = service.in_flight(queue)

    def rows(tasks: list[Task]) -> list[dict[str, object]]:
        return [views.task_row(t, views.task_state(t, flying, now_us)) for t in tasks]

    def by_schedule() -> None:
        rows([t for _, t in service.tasks_by_schedule(QUEUE, None, 101, lambda _: True)])

    def fifth_page() -> None:
        after = service.tasks_by_schedule(QUEUE, None, 400, lambda _: True)[-1][0]
        rows([t for _, t in service.tasks_by_schedule(QUEUE, after, 101, lambda _: True)])

    list_ms = best_ms(lambda: service.list_tasks(QUEUE, 100, "", 100))
    figures = {
        "page by name": best_ms(lambda: rows(service.list_tasks(QUEUE, 100, "", 100).items)),
        "page by schedule time": best_ms(by_schedule),
        "5th page by schedule time": best_ms(fifth_page),
    }
    print(f"{args.tasks} tasks queued; ratios to one ListTasks page of 100 (service call only)")
    for label, ms in figures.items():
        print(f"| {label} | {ms / list_ms:.1f}x |")


if __name__ == "__main__":
    main()

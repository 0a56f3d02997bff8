"""Raw grpc.aio calls to CloudTasks v2: requests serialized once, responses left as bytes.

This is the cheapest client there is, so the figures measure the server rather than the client.
Messages are built with the official client's types (google.cloud.tasks_v2), never cloudtasks_emu's.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.cloud import tasks_v2
from google.longrunning import operations_pb2

SERVICE = "/google.cloud.tasks.v2.CloudTasks/"
PARENT = "projects/bench/locations/us-central1"
BATCH = 100  # BatchCreateTasks takes at most 100 requests
UNLIMITED = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


def queue_name(name: str) -> str:
    return f"{PARENT}/queues/{name}"


def create_task_request(queue: str, url: str) -> bytes:
    """A small HTTP task (no body, no name: the server picks one)."""
    task = tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=url))
    return bytes(tasks_v2.CreateTaskRequest.serialize(tasks_v2.CreateTaskRequest(parent=queue, task=task)))


def task_name(raw_task: bytes) -> str:
    return str(tasks_v2.Task.pb().FromString(raw_task).name)


async def run_calls(count: int, callers: int, call: Callable[[], Awaitable[object]]) -> None:
    """`count` calls spread over `callers` concurrent coroutines."""
    pending = iter(range(count))

    async def caller() -> None:
        for _ in pending:
            await call()

    await asyncio.gather(*(caller() for _ in range(callers)))


class CloudTasks:
    """One channel to an emulator's v2 CloudTasks service."""

    def __init__(self, address: str) -> None:
        self.channel = grpc.aio.insecure_channel(address, options=UNLIMITED)

    async def close(self) -> None:
        await self.channel.close()

    def stub(self, method: str) -> grpc.aio.UnaryUnaryMultiCallable:
        return self.channel.unary_unary(SERVICE + method)

    async def call(self, method: str, request: Any, timeout_s: float = 60.0) -> bytes:
        raw: bytes = await self.stub(method)(type(request).serialize(request), timeout=timeout_s)
        return raw

    async def create_queue(self, name: str, *, paused: bool = False, retry: tasks_v2.RetryConfig | None = None) -> str:
        """A push queue at the API's maximum rate (500/s, 1000 concurrent); returns its full name."""
        full = queue_name(name)
        queue = tasks_v2.Queue(
            name=full,
            rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=500, max_concurrent_dispatches=1000),
            retry_config=retry,
        )
        await self.call("CreateQueue", tasks_v2.CreateQueueRequest(parent=PARENT, queue=queue))
        if paused:
            await self.pause(full)
        return full

    async def pause(self, queue: str) -> None:
        await self.call("PauseQueue", tasks_v2.PauseQueueRequest(name=queue))

    async def resume(self, queue: str) -> None:
        await self.call("ResumeQueue", tasks_v2.ResumeQueueRequest(name=queue))

    async def fill(self, queue: str, url: str, count: int) -> float:
        """Add `count` small tasks to `queue` as fast as we can; returns tasks per second.

        BatchCreateTasks (100 a call, 4 callers) where the server has it, else CreateTask with 16 callers.
        """
        started = time.perf_counter()
        batches, rest = divmod(count, BATCH)
        if batches and await self._batch_create(queue, url, BATCH):
            await run_calls(batches - 1, 4, lambda: self._batch_create(queue, url, BATCH))
            if rest:
                await self._batch_create(queue, url, rest)
        else:
            create, request = self.stub("CreateTask"), create_task_request(queue, url)
            await run_calls(count, 16, lambda: create(request, timeout=60))
        return round(count / max(time.perf_counter() - started, 1e-9), 1)

    async def _batch_create(self, queue: str, url: str, size: int) -> bool:
        """One BatchCreateTasks call; False when the server does not implement it."""
        item = tasks_v2.CreateTaskRequest(task=tasks_v2.Task(http_request=tasks_v2.HttpRequest(url=url)))
        request = tasks_v2.BatchCreateTasksRequest(parent=queue, requests=[item] * size)
        try:
            raw = await self.call("BatchCreateTasks", request)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNIMPLEMENTED:
                return False
            raise
        operation = operations_pb2.Operation.FromString(raw)
        if operation.error.code:
            raise RuntimeError(f"BatchCreateTasks failed: {operation.error.message}")
        return True

    async def list_page(self, queue: str, page_token: str = "") -> tuple[float, bytes]:
        """(seconds, raw ListTasksResponse) of one ListTasks call asking for 1000 tasks."""
        request = tasks_v2.ListTasksRequest(parent=queue, page_size=1000, page_token=page_token)
        started = time.perf_counter()
        raw = await self.call("ListTasks", request, timeout_s=600)
        return time.perf_counter() - started, raw

    async def get_task(self, name: str) -> float:
        started = time.perf_counter()
        await self.call("GetTask", tasks_v2.GetTaskRequest(name=name))
        return time.perf_counter() - started


def retry_config(
    max_attempts: int, min_backoff_s: float, max_backoff_s: float, max_doublings: int
) -> tasks_v2.RetryConfig:
    return tasks_v2.RetryConfig(
        max_attempts=max_attempts,
        min_backoff=datetime.timedelta(seconds=min_backoff_s),
        max_backoff=datetime.timedelta(seconds=max_backoff_s),
        max_doublings=max_doublings,
    )

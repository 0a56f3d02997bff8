"""The dashboard's HTTP side: the page at `/`, its static files, and JSON reads and actions under /_emu/ui/.

Everything goes through TasksService (never our own REST); attempts come through journal.py. The HTTP
app's middleware renders EmuError as Google's JSON error body, as for REST and the admin API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from .. import names
from ..clock import to_us
from ..engine.scheduler import AttemptContext
from ..errors import Code, EmuError, invalid
from ..listing import encode_page_token
from ..model import PullMessage, Queue, Task
from ..service import TasksService
from ..transports.guard import json_body
from . import views
from .journal import AttemptView, recent_attempts

logger = logging.getLogger(__name__)

PREFIX = "/_emu/ui"
STATIC_DIR = Path(__file__).parent / "static"
PAGE_SIZE = 100
SCAN_LIMIT = 50_000  # tasks looked at per filtered page, so one request stays short at 1M tasks
FEED_LIMIT = 200
POLL_S = 0.2  # how often the live feed looks for new attempts
PING_EVERY = 75  # polls between keep-alive comments (about 15 s)
CLOSING: web.AppKey[asyncio.Event] = web.AppKey("dashboard_closing", asyncio.Event)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The request an attempt would send (method, url, headers, body): the dispatcher's, without sending it.
Preview = Callable[[Queue, Task, AttemptContext], tuple[str, str, Mapping[str, str], bytes]]


async def _name(request: web.Request) -> str:
    """The "name" of an action's JSON body."""
    name = (await json_body(request)).get("name")
    if not isinstance(name, str) or not name:
        raise invalid('give {"name": "projects/.../queues/..."}')
    return name


def _attempt_filter(query: Any) -> Callable[[AttemptView], bool]:
    queue, task, outcome = query.get("queue", ""), query.get("task", ""), query.get("outcome", "")
    if outcome not in ("", "ok", "failed", "error"):
        raise invalid("outcome must be ok, failed or error")
    return lambda r: (
        (not queue or r.queue == queue)
        and (not task or r.task == task)
        and (not outcome or views.attempt_outcome(r) == outcome)
    )


class Dashboard:
    """The handlers, holding the service they read and the preview of a task's next request."""

    def __init__(self, service: TasksService, preview: Preview) -> None:
        self.service = service
        self.preview = preview

    def _now(self) -> dict[str, Any]:
        return {"now": self.service.clock.now(), "virtual": self.service.clock.virtual}

    def _queue_row(self, queue: Queue, recent: list[AttemptView]) -> dict[str, Any]:
        in_flight = len(self.service.in_flight(queue))
        return views.queue_row(queue, self.service.queue_stats(queue), in_flight, recent, self.service.clock.now())

    def _last_minute(self) -> dict[str, list[AttemptView]]:
        since = self.service.clock.now() - 60
        by_queue: dict[str, list[AttemptView]] = {}
        for record in recent_attempts(self.service, 100_000, lambda r: r.at >= since):
            by_queue.setdefault(record.queue, []).append(record)
        return by_queue

    # pages
    async def index(self, _: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    # queues
    async def queues(self, request: web.Request) -> web.StreamResponse:
        project, text = request.query.get("project", ""), request.query.get("q", "").lower()
        recent = self._last_minute()
        rows, projects = [], set()
        for queue in self.service.all_queues():
            row = self._queue_row(queue, recent.get(queue.name, []))
            projects.add(row["project"])
            if (not project or row["project"] == project) and (not text or text in queue.name.lower()):
                rows.append(row)
        return web.json_response({**self._now(), "projects": sorted(projects), "queues": rows})

    async def queue_action(self, request: web.Request) -> web.StreamResponse:
        name, verb = await _name(request), request.match_info["verb"]
        if verb == "delete":
            self.service.delete_queue(name)
            return web.json_response({})
        service = self.service
        actions = {"pause": service.pause_queue, "resume": service.resume_queue, "purge": service.purge_queue}
        queue = actions[verb](name)
        return web.json_response(self._queue_row(queue, self._last_minute().get(queue.name, [])))

    # tasks
    async def tasks(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        queue = self.service.require_queue(query.get("queue", ""))
        state, sort, token = query.get("state", ""), query.get("sort", "name"), query.get("page_token", "")
        if state and state not in views.TASK_STATES:
            raise invalid(f"state must be one of {', '.join(views.TASK_STATES)}")
        in_flight, now_us = self.service.in_flight(queue), to_us(self.service.clock.now())

        def keep(task: Task) -> bool:
            return not state or views.task_state(task, in_flight, now_us) == state

        if sort == "schedule":
            page, next_token = self._by_schedule(queue, token, keep)
        elif sort == "name":
            page, next_token = self._by_name(queue, token, keep, bool(state))
        else:
            raise invalid("sort must be name or schedule")
        rows = [views.task_row(task, views.task_state(task, in_flight, now_us)) for task in page]
        body = {**self._now(), "queue": self._queue_row(queue, self._last_minute().get(queue.name, []))}
        return web.json_response({**body, "tasks": rows, "next_page_token": next_token})

    def _by_name(
        self, queue: Queue, token: str, keep: Callable[[Task], bool], filtered: bool
    ) -> tuple[list[Task], str]:
        """A page in name order through the service's paging; a filtered page scans at most SCAN_LIMIT tasks."""
        if not filtered:
            listed = self.service.list_tasks(queue.name, PAGE_SIZE, token, PAGE_SIZE)
            return listed.items, listed.next_token
        found: list[Task] = []
        scanned = 0
        while scanned < SCAN_LIMIT:
            batch = self.service.list_tasks(queue.name, 1000, token, 1000)
            for task in batch.items:
                scanned += 1
                if keep(task):
                    found.append(task)
                    if len(found) == PAGE_SIZE:
                        return found, encode_page_token(task.name, "")
            if not batch.next_token:
                return found, ""
            token = batch.next_token
        return found, token

    def _by_schedule(self, queue: Queue, token: str, keep: Callable[[Task], bool]) -> tuple[list[Task], str]:
        after = None
        if token:
            at, seq, name = [*token.split("|", 2), "", ""][:3]
            if not at.isdigit() or not seq.lstrip("-").isdigit() or not name:
                raise invalid("Invalid page token.")
            after = (int(at), int(seq), name)
        page = self.service.tasks_by_schedule(queue.name, after, PAGE_SIZE + 1, keep)
        if len(page) <= PAGE_SIZE:
            return [task for _, task in page], ""
        (at_us, seq_, last), _ = page[PAGE_SIZE - 1]
        return [task for _, task in page[:PAGE_SIZE]], f"{at_us}|{seq_}|{last}"

    async def task(self, request: web.Request) -> web.StreamResponse:
        """A task and its attempts; a finished (or deleted) task still shows the attempts it had."""
        name = request.query.get("name", "")
        mine = recent_attempts(self.service, 1000, lambda r: r.task == name, queue=names.queue_of(name))
        attempts = [views.attempt_row(r) for r in mine]
        try:
            task = self.service.get_task(name)
        except EmuError as error:
            if error.code != Code.NOT_FOUND or not attempts:
                raise
            queue = self.service.find_queue(names.queue_of(name))
            ending = views.ending(mine, None if queue is None else queue.retry)
            gone = {"task": None, "gone": error.message, "ending": ending, "attempts": attempts}
            return web.json_response({**self._now(), **gone})
        queue = self.service.require_queue(names.queue_of(task.name))
        state = views.task_state(task, self.service.in_flight(queue), to_us(self.service.clock.now()))
        detail = views.task_detail(task, state, self._next_request(queue, task))
        return web.json_response({**self._now(), "task": detail, "gone": None, "attempts": attempts})

    def _next_request(self, queue: Queue, task: Task) -> dict[str, Any] | None:
        """The request the next attempt will send (queue overrides applied, headers and token included)."""
        if isinstance(task.payload, PullMessage):
            return None
        context = AttemptContext(
            task.dispatch_count, task.execution_count, task.previous_response, task.retry_reason, task.schedule_us
        )
        method, url, headers, _ = self.preview(queue, task, context)
        return {
            "method": method,
            "url": url,
            "headers": [[k, v] for k, v in headers.items()],
            "token": views.decode_bearer(headers.get("Authorization", "")),
        }

    async def task_action(self, request: web.Request) -> web.StreamResponse:
        name, verb = await _name(request), request.match_info["verb"]
        if verb == "delete":
            self.service.delete_task(name)
            return web.json_response({})
        task = self.service.run_task(name)
        return web.json_response({"name": task.name, "dispatch_count": task.dispatch_count})

    # attempts
    async def attempts(self, request: web.Request) -> web.StreamResponse:
        keep = _attempt_filter(request.query)
        try:
            limit = min(max(int(request.query.get("limit", FEED_LIMIT)), 1), 1000)
        except ValueError as error:
            raise invalid("limit must be a number") from error
        queue = request.query.get("queue", "")
        rows = [views.attempt_row(r) for r in recent_attempts(self.service, limit, keep, queue)]
        return web.json_response({**self._now(), "attempts": rows})

    async def attempt_stream(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: the newest attempts first (oldest of them first), then each new one as it lands."""
        keep, queue = _attempt_filter(request.query), request.query.get("queue", "")
        closing = request.app[CLOSING]
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        sent: OrderedDict[str, None] = OrderedDict()
        polls = 0
        try:
            while not closing.is_set():
                newest = recent_attempts(self.service, FEED_LIMIT, keep, queue)
                fresh = [r for r in newest if views.attempt_key(r) not in sent]
                for record in reversed(fresh):
                    sent[views.attempt_key(record)] = None
                    data = json.dumps(views.attempt_row(record))
                    await response.write(f"event: attempt\ndata: {data}\n\n".encode())
                while len(sent) > 4 * FEED_LIMIT:
                    sent.popitem(last=False)
                polls += 1
                if polls % PING_EVERY == 0:
                    await response.write(b": ping\n\n")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closing.wait(), POLL_S)
        except ConnectionResetError:
            pass  # the page went away
        return response


def add_dashboard_routes(app: web.Application, service: TasksService, preview: Preview) -> None:
    """Mount the dashboard (register before any catch-all route)."""
    dashboard = Dashboard(service, preview)
    app[CLOSING] = asyncio.Event()

    async def close_streams(app: web.Application) -> None:
        app[CLOSING].set()

    app.on_shutdown.append(close_streams)
    app.router.add_get("/", dashboard.index)
    app.router.add_static(f"{PREFIX}/static/", STATIC_DIR)
    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/api/queues", dashboard.queues),
        ("POST", "/api/queue:{verb:pause|resume|purge|delete}", dashboard.queue_action),
        ("GET", "/api/tasks", dashboard.tasks),
        ("GET", "/api/task", dashboard.task),
        ("POST", "/api/task:{verb:run|delete}", dashboard.task_action),
        ("GET", "/api/attempts", dashboard.attempts),
        ("GET", "/api/attempts:stream", dashboard.attempt_stream),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, PREFIX + path, handler)

"""Task messages of one API version <-> the model Task, with the service's defaults and limits."""

from __future__ import annotations

from typing import cast
from urllib.parse import urlsplit

from google.protobuf.message import Message

from .. import names
from ..config import (
    APP_ENGINE_DEADLINE_MS,
    HTTP_DEADLINE_MS,
    MAX_HEADERS_BYTES,
    MAX_TAG_BYTES,
    MAX_TASK_SIZE,
    MAX_URL_LENGTH,
)
from ..errors import invalid
from ..model import AppEngineRequest, Attempt, HttpRequest, PullMessage, Queue, Routing, Task
from .messages import AppEngineRequestPb, HttpRequestPb, TaskPb
from .parts import (
    check_headers,
    decode_retry,
    decode_routing,
    decode_token,
    encode_retry,
    encode_routing,
    encode_token,
    given,
    http_method,
)
from .spec import VersionSpec
from .wellknown import camel

APP_ENGINE_USER_AGENT = "AppEngine-Google; (+http://code.google.com/appengine)"
HTTP_USER_AGENT = "Google-Cloud-Tasks"
_BODY_METHODS = {"app_engine": ("POST", "PUT"), "http": ("POST", "PUT", "PATCH")}
_DEADLINES_MS = {"http": HTTP_DEADLINE_MS, "app_engine": APP_ENGINE_DEADLINE_MS}


class TaskCodec:
    """Converts one version's Task to the model Task and back."""

    def __init__(self, spec: VersionSpec) -> None:
        self.spec = spec
        self.pb = spec.pb
        self._relative_label = f"AppEngineHttpRequest.{camel(spec.relative_field)}"
        choices = ["appEngineHttpRequest", "httpRequest"] + (["pullMessage"] if spec.pull_payload == "create" else [])
        self._choices = ", ".join(choices[:-1]) + f" or {choices[-1]}"

    def decode(self, t: TaskPb) -> Task:
        """A model Task from CreateTaskRequest.task, with the service's defaults and limits applied."""
        spec = self.spec
        if t.ByteSize() > MAX_TASK_SIZE:
            raise invalid("Task size too large")
        kind = t.WhichOneof(spec.payload_oneof)
        payload: AppEngineRequest | HttpRequest | PullMessage
        if kind == "app_engine_http_request":
            payload = self.decode_app_engine_request(t.app_engine_http_request)
        elif kind == "http_request":
            payload = self.decode_http_request(t.http_request)
        elif kind == "pull_message" and spec.pull_payload == "create":
            message = getattr(t, kind)
            if len(message.tag.encode()) > MAX_TAG_BYTES:
                raise invalid(f"PullMessage.tag must be at most {MAX_TAG_BYTES} bytes.")
            payload = PullMessage(message.payload, message.tag)
        elif kind == "pull_message":
            raise invalid("Task.pullMessage cannot be set.")
        else:
            raise invalid(f"Task must have one of {self._choices}.")
        task = Task(name=t.name, payload=payload, schedule_us=0, create_us=0)
        if t.HasField("schedule_time"):
            task.schedule_us = t.schedule_time.ToMicroseconds()
        deadline = given(spec.task_fields, t, "dispatch_deadline")
        if deadline is not None and deadline.ToNanoseconds():
            low, high = _DEADLINES_MS["http" if kind == "http_request" else "app_engine"]
            deadline_ms = deadline.ToMilliseconds()
            if not low <= deadline_ms <= high:
                raise invalid(f"Task.dispatchDeadline must be between [{_span(low)}, {_span(high)}].")
            task.dispatch_deadline_ms = deadline_ms
        if (retry := given(spec.task_fields, t, "retry_config")) is not None:
            task.retry = decode_retry(spec, retry)
        return task

    def decode_app_engine_request(self, r: AppEngineRequestPb) -> AppEngineRequest:
        label = self._relative_label
        relative: str = getattr(r, self.spec.relative_field) or "/"
        if not relative.startswith("/"):
            raise invalid(f"{label} must begin with '/'.")
        if " " in relative or len(relative) > MAX_URL_LENGTH:
            raise invalid(f"{label} must have no spaces and at most {MAX_URL_LENGTH} characters.")
        method = http_method(self.spec, r.http_method)
        body: bytes = getattr(r, self.spec.app_engine_body)
        _check_body(body, method, "app_engine", f"AppEngineHttpRequest.{self.spec.app_engine_body}")
        check_headers(r.headers.items(), "AppEngineHttpRequest.headers")
        headers = {k: v for k, v in r.headers.items() if not _reserved_header(k, "app_engine")}
        user_agent = _pop_header(headers, "user-agent")
        headers["User-Agent"] = f"{user_agent} {APP_ENGINE_USER_AGENT}" if user_agent else APP_ENGINE_USER_AGENT
        if body:
            if _find_header(headers, "content-type") is None:
                headers["Content-Type"] = "application/octet-stream"
            _pop_header(headers, "content-length")
            headers["Content-Length"] = str(len(body))
        routing = decode_routing(r.app_engine_routing) if r.HasField("app_engine_routing") else None
        return AppEngineRequest(method, routing, relative, headers, body)

    def decode_http_request(self, r: HttpRequestPb) -> HttpRequest:
        if not r.url:
            raise invalid("HttpRequest.url is required.")
        if not r.url.startswith(("http://", "https://")) or not _has_host(r.url):
            # A scheme with no host ("http://") is as malformed to the cloud as no scheme at all.
            raise invalid("HttpTarget.url must start with 'http://' or 'https://'.")
        if len(r.url) > MAX_URL_LENGTH:
            raise invalid(f"HttpRequest.url must be at most {MAX_URL_LENGTH} characters.")
        method = http_method(self.spec, r.http_method)
        _check_body(r.body, method, "http", "HttpRequest.body")
        check_headers(r.headers.items(), "HttpRequest.headers")
        headers = {k: v for k, v in r.headers.items() if not _reserved_header(k, "http")}
        if sum(len(k) + len(v) for k, v in headers.items()) >= MAX_HEADERS_BYTES:
            raise invalid(f"HttpRequest.headers must be smaller than {MAX_HEADERS_BYTES // 1024}KB in total.")
        _pop_header(headers, "user-agent")
        headers["User-Agent"] = HTTP_USER_AGENT
        return HttpRequest(r.url, method, headers, r.body, decode_token(r))

    def encode(self, task: Task, view: int, queue: Queue | None = None) -> TaskPb:
        """The API's Task; BASIC (and unspecified) views leave out bodies and payloads."""
        spec, pb = self.spec, self.pb
        full = view == pb.Task.FULL
        t = pb.Task(name=task.name, view=pb.Task.FULL if full else pb.Task.BASIC)
        payload = task.payload
        if isinstance(payload, AppEngineRequest):
            r = t.app_engine_http_request
            r.http_method = pb.HttpMethod.Value(payload.http_method)
            routing = payload.routing or Routing()
            encode_routing(routing, r, "app_engine_routing")
            r.app_engine_routing.host = app_engine_host(task.name, routing, queue)
            setattr(r, spec.relative_field, payload.relative_uri)
            r.headers.update(payload.headers)
            if full:
                setattr(r, spec.app_engine_body, payload.body)
        elif isinstance(payload, HttpRequest):
            h = t.http_request
            h.url, h.http_method = payload.url, pb.HttpMethod.Value(payload.http_method)
            h.headers.update(payload.headers)
            if full:
                h.body = payload.body
            encode_token(payload.token, h)
        elif spec.pull_payload:
            t.pull_message.tag = payload.tag
            if full:
                t.pull_message.payload = payload.payload
        t.schedule_time.FromMicroseconds(task.schedule_us)
        t.create_time.FromMicroseconds(task.create_us)
        if "status" in spec.task_fields and task.dispatch_count:
            s = t.status
            s.attempt_dispatch_count, s.attempt_response_count = task.dispatch_count, task.response_count
            _encode_attempt(task.first_attempt, s, "first_attempt_status")
            _encode_attempt(task.last_attempt, s, "last_attempt_status")
        if "dispatch_deadline" in spec.task_fields and task.dispatch_deadline_ms is not None:
            t.dispatch_deadline.FromMilliseconds(task.dispatch_deadline_ms)
        if "dispatch_count" in spec.task_fields:
            t.dispatch_count, t.response_count = task.dispatch_count, task.response_count
            if task.first_attempt is not None:  # the cloud keeps only dispatch_time of the first attempt
                _encode_attempt(Attempt(dispatch_us=task.first_attempt.dispatch_us), t, "first_attempt")
            _encode_attempt(task.last_attempt, t, "last_attempt")
        if "retry_config" in spec.task_fields and task.retry is not None:
            encode_retry(spec, task.retry, t.retry_config)
        return cast(TaskPb, t)  # built from the version's module, which mypy sees as Any


def app_engine_host(task_name: str, routing: Routing, queue: Queue | None) -> str:
    """`[instance.][version.][service.]<project>.appspot.com`, as the cloud fills AppEngineRouting.host."""
    if queue is not None and queue.app_engine_routing_override is not None:
        routing = queue.app_engine_routing_override
    project = names.project_of(task_name)
    parts = [p for p in (routing.instance, routing.version, routing.service) if p]
    return ".".join([*parts, f"{project}.appspot.com"])


def _has_host(url: str) -> bool:
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:
        return False


def _span(ms: int) -> str:
    """A deadline bound as the cloud's message spells it: 15s, 30m, 24h15s."""
    seconds, out = ms // 1000, ""
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out


def _check_body(body: bytes, method: str, kind: str, label: str) -> None:
    allowed = _BODY_METHODS[kind]
    if body and method not in allowed:
        raise invalid(f"{label} can only be set when the HTTP method is {' or '.join(allowed)}.")


def _reserved_header(key: str, kind: str) -> bool:
    """Headers the caller may not set; the service drops or replaces them."""
    low = key.lower()
    if low in ("host", "content-length" if kind == "http" else "host"):
        return True
    return low.startswith(("x-google-", "x-appengine-")) or (kind == "http" and low.startswith("x-cloudtasks-"))


def _find_header(headers: dict[str, str], low: str) -> str | None:
    return next((k for k in headers if k.lower() == low), None)


def _pop_header(headers: dict[str, str], low: str) -> str:
    key = _find_header(headers, low)
    return headers.pop(key) if key is not None else ""


def _encode_attempt(attempt: Attempt | None, parent: Message, field: str) -> None:
    if attempt is None:
        return
    a = getattr(parent, field)
    a.SetInParent()
    for us, ts in (
        (attempt.schedule_us, "schedule_time"),
        (attempt.dispatch_us, "dispatch_time"),
        (attempt.response_us, "response_time"),
    ):
        if us is not None:
            getattr(a, ts).FromMicroseconds(us)
    if attempt.response_code is not None:
        a.response_status.code, a.response_status.message = attempt.response_code, attempt.response_message

"""Proto <-> model for the three API versions; the only module that knows both.

The versions differ in a handful of names and places (see the reference, section 6); each
difference is one attribute of `Codec`, everything else is shared.
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from google.protobuf.descriptor import Descriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message

from .config import MAX_BURST, MAX_CONCURRENT, MAX_HEADERS_BYTES, MAX_RATE, MAX_TASK_SIZE, MAX_URL_LENGTH
from .errors import invalid
from .model import (
    AppEngineRequest,
    Attempt,
    HttpRequest,
    HttpTarget,
    PullMessage,
    Queue,
    QueueStats,
    RateLimits,
    RetryPolicy,
    Routing,
    Task,
    Token,
    UriOverride,
)

VERSIONS = ("v2", "v2beta3", "v2beta2")
APP_ENGINE_USER_AGENT = "AppEngine-Google; (+http://code.google.com/appengine)"
HTTP_USER_AGENT = "Google-Cloud-Tasks"
DEFAULT_RETRY = RetryPolicy()
DEFAULT_RATE = RateLimits()
_BODY_METHODS = {"app_engine": ("POST", "PUT"), "http": ("POST", "PUT", "PATCH")}
_DEADLINE_RANGE_MS = {
    "http": (15_000, 1_800_000, "[15s, 30m]"),
    "app_engine": (15_000, 87_300_000, "[15s, 24h15s]"),
}


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


def duration_s(d: Duration) -> float:
    return d.seconds + d.nanos / 1e9


def set_duration(d: Duration, seconds: float) -> None:
    d.FromNanoseconds(round(seconds * 1e9))


def burst_for(rate: float) -> int:
    """The bucket size the service derives from a rate (100 at the default 500/s)."""
    return max(1, min(100, int(-(-rate // 1))))


class Codec:
    """Converts one API version's messages to the model and back, validating input."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.pb: ModuleType = importlib.import_module(f"cloudtasks_emu._pb.{version}.cloudtasks_pb2")
        self.b2 = version == "v2beta2"
        self.v2 = version == "v2"
        self.rate_field = "max_tasks_dispatched_per_second" if self.b2 else "max_dispatches_per_second"
        self.concurrency_field = "max_concurrent_tasks" if self.b2 else "max_concurrent_dispatches"
        self.relative_field = "relative_url" if self.b2 else "relative_uri"
        self.app_engine_body = "payload" if self.b2 else "body"
        self.payload_oneof = "message_type" if self.v2 else "payload_type"
        self.has_ttls = not self.v2
        self.has_deadline = not self.b2

    # queues
    def decode_queue(self, q: Any) -> Queue:
        """A model Queue from a request's Queue (name, target, rate limits, retry, ttls)."""
        queue = Queue(name=q.name)
        if self.b2:
            target = q.WhichOneof("target_type")
            if target is None:
                raise invalid("Queue.targetType is required: set appEngineHttpTarget, pullTarget or httpTarget.")
            queue.pull = target == "pull_target"
            if target == "app_engine_http_target":
                queue.app_engine_routing_override = self._override(q.app_engine_http_target)
            elif target == "http_target":
                queue.http_target = self.decode_http_target(q.http_target)
        else:
            if self.v2:
                if q.HasField("app_engine_routing_override"):
                    queue.app_engine_routing_override = decode_routing(q.app_engine_routing_override)
            else:
                queue.pull = q.type == self.pb.Queue.PULL
                queue.app_engine_routing_override = self._override(q.app_engine_http_queue)
            if q.HasField("http_target"):
                queue.http_target = self.decode_http_target(q.http_target)
        queue.rate = self.decode_rate(q.rate_limits, queue.pull)
        queue.retry = self.decode_retry(q.retry_config) if q.HasField("retry_config") else RetryPolicy()
        if self.has_ttls:
            if q.HasField("task_ttl"):
                queue.task_ttl_s = _positive(duration_s(q.task_ttl), "Queue.taskTtl")
            if q.HasField("tombstone_ttl"):
                queue.tombstone_ttl_s = _positive(duration_s(q.tombstone_ttl), "Queue.tombstoneTtl")
        if not self.b2 and q.HasField("stackdriver_logging_config"):
            ratio = q.stackdriver_logging_config.sampling_ratio
            if not 0.0 <= ratio <= 1.0:
                raise invalid("StackdriverLoggingConfig.samplingRatio must be between 0 and 1.")
            queue.logging_sampling_ratio = ratio
        return queue

    @staticmethod
    def _override(target: Any) -> Routing | None:
        if target.HasField("app_engine_routing_override"):
            return decode_routing(target.app_engine_routing_override)
        return None

    def decode_rate(self, r: Any, pull: bool) -> RateLimits:
        rate_label = f"RateLimits.{camel(self.rate_field)}"
        concurrency_label = f"RateLimits.{camel(self.concurrency_field)}"
        rate = getattr(r, self.rate_field)
        concurrency = getattr(r, self.concurrency_field)
        if pull:  # output only for pull queues
            return RateLimits(DEFAULT_RATE.max_dispatches_per_second, DEFAULT_RATE.max_burst_size, -1)
        _at_most(_not_negative(rate, rate_label), MAX_RATE, rate_label)
        _at_most(_not_negative(concurrency, concurrency_label), MAX_CONCURRENT, concurrency_label)
        rate = rate or DEFAULT_RATE.max_dispatches_per_second
        burst = burst_for(rate)
        if not self.v2 and r.max_burst_size:  # settable in v2beta2/v2beta3, output only in v2
            burst = _at_most(
                _not_negative(r.max_burst_size, "RateLimits.maxBurstSize"),
                MAX_BURST,
                "RateLimits.maxBurstSize",
            )
        return RateLimits(rate, burst, concurrency or DEFAULT_RATE.max_concurrent_dispatches)

    def decode_retry(self, r: Any) -> RetryPolicy:
        policy = RetryPolicy()
        if self.b2 and r.WhichOneof("num_attempts") == "unlimited_attempts":
            policy.max_attempts = -1
        elif r.max_attempts:
            if r.max_attempts < (0 if self.b2 else -1):
                raise invalid(
                    "RetryConfig.maxAttempts cannot be negative."
                    if self.b2
                    else "RetryConfig.maxAttempts must be greater or equal to -1."
                )
            policy.max_attempts = r.max_attempts
        if r.HasField("max_retry_duration"):
            policy.max_retry_duration_s = _not_negative(
                duration_s(r.max_retry_duration), "RetryConfig.maxRetryDuration"
            )
        if r.HasField("min_backoff"):
            policy.min_backoff_s = _not_negative(duration_s(r.min_backoff), "RetryConfig.minBackoff")
        if r.HasField("max_backoff"):
            policy.max_backoff_s = _not_negative(duration_s(r.max_backoff), "RetryConfig.maxBackoff")
        if r.max_doublings:
            policy.max_doublings = _not_negative(r.max_doublings, "RetryConfig.maxDoublings")
        if policy.min_backoff_s > policy.max_backoff_s:
            raise invalid("RetryConfig.minBackoff must be less than or equal to RetryConfig.maxBackoff.")
        return policy

    def decode_http_target(self, t: Any) -> HttpTarget:
        target = HttpTarget(http_method=enum_name(self.pb.HttpMethod, t.http_method, "HttpTarget.httpMethod"))
        if t.HasField("uri_override"):
            u = t.uri_override
            mode = enum_name(
                u.UriOverrideEnforceMode, u.uri_override_enforce_mode, "UriOverride.uriOverrideEnforceMode"
            )
            override = UriOverride(enforce_mode=mode)
            if u.HasField("scheme"):
                override.scheme = enum_name(u.Scheme, u.scheme, "UriOverride.scheme")
            if u.HasField("host"):
                if not u.host:
                    raise invalid("UriOverride.host must not be empty when set.")
                override.host = u.host
            if u.HasField("port"):
                override.port = _not_negative(u.port, "UriOverride.port") or None
            if u.HasField("path_override"):
                override.path = u.path_override.path
            if u.HasField("query_override"):
                override.query = u.query_override.query_params
            target.uri_override = override
        target.header_overrides = [(h.header.key, h.header.value) for h in t.header_overrides]
        target.token = decode_token(t)
        return target

    def encode_queue(self, queue: Queue, stats: QueueStats | None = None) -> Any:
        q = self.pb.Queue(name=queue.name, state=queue.state.value)
        if self.b2:
            if queue.pull:
                q.pull_target.SetInParent()
            elif queue.http_target is not None:
                self.encode_http_target(queue.http_target, q.http_target)
            else:
                q.app_engine_http_target.SetInParent()
                _encode_routing(
                    queue.app_engine_routing_override, q.app_engine_http_target, "app_engine_routing_override"
                )
        else:
            if self.v2:
                _encode_routing(queue.app_engine_routing_override, q, "app_engine_routing_override")
            else:
                q.type = self.pb.Queue.PULL if queue.pull else self.pb.Queue.PUSH
                if not queue.pull and queue.http_target is None:
                    q.app_engine_http_queue.SetInParent()
                    _encode_routing(
                        queue.app_engine_routing_override,
                        q.app_engine_http_queue,
                        "app_engine_routing_override",
                    )
            if queue.http_target is not None:
                self.encode_http_target(queue.http_target, q.http_target)
            if queue.logging_sampling_ratio is not None:
                q.stackdriver_logging_config.sampling_ratio = queue.logging_sampling_ratio
        rate = q.rate_limits
        setattr(rate, self.rate_field, queue.rate.max_dispatches_per_second)
        rate.max_burst_size = queue.rate.max_burst_size
        setattr(rate, self.concurrency_field, queue.rate.max_concurrent_dispatches)
        self.encode_retry(queue.retry, q.retry_config)
        if queue.purge_time_us is not None:
            q.purge_time.FromMicroseconds(queue.purge_time_us)
        if self.has_ttls:
            set_duration(q.task_ttl, queue.task_ttl_s)
            set_duration(q.tombstone_ttl, queue.tombstone_ttl_s)
            if stats is not None:
                q.stats.tasks_count = stats.tasks_count
                if stats.oldest_schedule_us is not None:
                    q.stats.oldest_estimated_arrival_time.FromMicroseconds(stats.oldest_schedule_us)
                q.stats.executed_last_minute_count = stats.executed_last_minute
                q.stats.concurrent_dispatches_count = stats.concurrent_dispatches
                q.stats.effective_execution_rate = stats.effective_rate
        return q

    def encode_retry(self, policy: RetryPolicy, r: Any) -> None:
        if self.b2 and policy.max_attempts == -1:
            r.unlimited_attempts = True
        else:
            r.max_attempts = policy.max_attempts
        if policy.max_retry_duration_s:
            set_duration(r.max_retry_duration, policy.max_retry_duration_s)
        set_duration(r.min_backoff, policy.min_backoff_s)
        set_duration(r.max_backoff, policy.max_backoff_s)
        r.max_doublings = policy.max_doublings

    def encode_http_target(self, target: HttpTarget, t: Any) -> None:
        t.SetInParent()
        t.http_method = self.pb.HttpMethod.Value(target.http_method)
        if target.uri_override is not None:
            o, u = target.uri_override, t.uri_override
            u.SetInParent()
            if o.scheme is not None:
                u.scheme = u.Scheme.Value(o.scheme)
            if o.host is not None:
                u.host = o.host
            if o.port is not None:
                u.port = o.port
            if o.path is not None:
                u.path_override.path = o.path
            if o.query is not None:
                u.query_override.query_params = o.query
            u.uri_override_enforce_mode = u.UriOverrideEnforceMode.Value(o.enforce_mode)
        for key, value in target.header_overrides:
            t.header_overrides.add().header.CopyFrom(t.Header(key=key, value=value))
        encode_token(target.token, t)

    # tasks
    def decode_task(self, t: Any) -> Task:
        """A model Task from CreateTaskRequest.task, with the service's defaults and limits applied."""
        if t.ByteSize() > MAX_TASK_SIZE:
            raise invalid("Task size too large")
        kind = t.WhichOneof(self.payload_oneof)
        payload: AppEngineRequest | HttpRequest | PullMessage
        if kind == "app_engine_http_request":
            payload = self.decode_app_engine_request(t.app_engine_http_request)
        elif kind == "http_request":
            payload = decode_http_request(self.pb, t.http_request)
        elif kind == "pull_message" and self.b2:
            if len(t.pull_message.tag.encode()) > 500:
                raise invalid("PullMessage.tag must be at most 500 bytes.")
            payload = PullMessage(t.pull_message.payload, t.pull_message.tag)
        elif kind == "pull_message":
            raise invalid("Task.pullMessage cannot be set.")
        else:
            choices = (
                "appEngineHttpRequest, httpRequest or pullMessage" if self.b2 else "appEngineHttpRequest or httpRequest"
            )
            raise invalid(f"Task must have one of {choices}.")
        task = Task(name=t.name, payload=payload, schedule_us=0, create_us=0)
        if t.HasField("schedule_time"):
            task.schedule_us = t.schedule_time.ToMicroseconds()
        if self.has_deadline and t.HasField("dispatch_deadline") and t.dispatch_deadline.ToNanoseconds():
            low, high, text = _DEADLINE_RANGE_MS["http" if kind == "http_request" else "app_engine"]
            deadline_ms = t.dispatch_deadline.ToMilliseconds()
            if not low <= deadline_ms <= high:
                raise invalid(f"Task.dispatchDeadline must be between {text}.")
            task.dispatch_deadline_ms = deadline_ms
        if not self.b2 and t.HasField("retry_config"):
            task.retry = self.decode_retry(t.retry_config)
        return task

    def decode_app_engine_request(self, r: Any) -> AppEngineRequest:
        label = f"AppEngineHttpRequest.{camel(self.relative_field)}"
        relative = getattr(r, self.relative_field) or "/"
        if not relative.startswith("/"):
            raise invalid(f"{label} must begin with '/'.")
        if " " in relative or len(relative) > MAX_URL_LENGTH:
            raise invalid(f"{label} must have no spaces and at most {MAX_URL_LENGTH} characters.")
        method = _method(self.pb, r.http_method)
        body = getattr(r, self.app_engine_body)
        _check_body(body, method, "app_engine", f"AppEngineHttpRequest.{self.app_engine_body}")
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

    def encode_task(self, task: Task, view: int, queue: Queue | None = None) -> Any:
        """The API's Task; BASIC (and unspecified) views leave out bodies and payloads."""
        full = view == self.pb.Task.FULL
        t = self.pb.Task(name=task.name, view=self.pb.Task.FULL if full else self.pb.Task.BASIC)
        payload = task.payload
        if isinstance(payload, AppEngineRequest):
            r = t.app_engine_http_request
            r.http_method = self.pb.HttpMethod.Value(payload.http_method)
            routing = payload.routing or Routing()
            _encode_routing(routing, r, "app_engine_routing")
            r.app_engine_routing.host = app_engine_host(task.name, routing, queue)
            setattr(r, self.relative_field, payload.relative_uri)
            r.headers.update(payload.headers)
            if full:
                setattr(r, self.app_engine_body, payload.body)
        elif isinstance(payload, HttpRequest):
            h = t.http_request
            h.url, h.http_method = payload.url, self.pb.HttpMethod.Value(payload.http_method)
            h.headers.update(payload.headers)
            if full:
                h.body = payload.body
            encode_token(payload.token, h)
        elif not self.v2:
            t.pull_message.tag = payload.tag
            if full:
                t.pull_message.payload = payload.payload
        t.schedule_time.FromMicroseconds(task.schedule_us)
        t.create_time.FromMicroseconds(task.create_us)
        if self.b2:
            if task.dispatch_count:
                s = t.status
                s.attempt_dispatch_count, s.attempt_response_count = task.dispatch_count, task.response_count
                _encode_attempt(task.first_attempt, s, "first_attempt_status")
                _encode_attempt(task.last_attempt, s, "last_attempt_status")
            return t
        if task.dispatch_deadline_ms is not None:
            t.dispatch_deadline.FromMilliseconds(task.dispatch_deadline_ms)
        t.dispatch_count, t.response_count = task.dispatch_count, task.response_count
        if task.first_attempt is not None:  # the cloud keeps only dispatch_time of the first attempt
            _encode_attempt(Attempt(dispatch_us=task.first_attempt.dispatch_us), t, "first_attempt")
        _encode_attempt(task.last_attempt, t, "last_attempt")
        if task.retry is not None:
            self.encode_retry(task.retry, t.retry_config)
        return t


_MIN_SECONDS, _MAX_SECONDS = -62135596800, 253402300799  # 0001-01-01 to 9999-12-31, as RFC 3339 allows
_MAX_DURATION_S = 315576000000  # 10000 years, the Duration limit


_TIME_TYPES = ("google.protobuf.Timestamp", "google.protobuf.Duration")


@functools.cache
def _holds_time(descriptor: Descriptor) -> bool:
    """Whether a message type can contain a Timestamp or Duration at any depth (cycles are fine)."""
    seen, stack = {descriptor.full_name}, [descriptor]
    while stack:
        current = stack.pop()
        if current.full_name in _TIME_TYPES:
            return True
        for field in current.fields:
            sub = field.message_type
            if sub is not None and sub.full_name not in seen:
                seen.add(sub.full_name)
                stack.append(sub)
    return False


def check_well_known(message: Message, path: str = "") -> None:
    """Reject Timestamps and Durations outside their documented ranges, anywhere in a request."""
    for field, value in message.ListFields():
        if field.message_type is None or not _holds_time(field.message_type):
            continue
        label = f"{path}{camel(field.name)}"
        if field.message_type.GetOptions().map_entry:
            items = list(value.values()) if field.message_type.fields_by_name["value"].message_type else []
        else:
            items = list(value) if field.is_repeated else [value]
        for item in items:
            kind = item.DESCRIPTOR.full_name
            if kind == "google.protobuf.Timestamp":
                if not (_MIN_SECONDS <= item.seconds <= _MAX_SECONDS and 0 <= item.nanos < 1_000_000_000):
                    raise invalid(f"{label} is not a valid timestamp.")
            elif kind == "google.protobuf.Duration":
                same_sign = item.seconds == 0 or item.nanos == 0 or (item.seconds > 0) == (item.nanos > 0)
                if not (abs(item.seconds) <= _MAX_DURATION_S and abs(item.nanos) < 1_000_000_000 and same_sign):
                    raise invalid(f"{label} is not a valid duration.")
            else:
                check_well_known(item, f"{label}.")


def decode_routing(r: Any) -> Routing:
    return Routing(r.service, r.version, r.instance)


def _encode_routing(routing: Routing | None, parent: Message, field: str) -> None:
    if routing is None:
        return
    r = getattr(parent, field)
    r.SetInParent()
    r.service, r.version, r.instance = routing.service, routing.version, routing.instance


def app_engine_host(task_name: str, routing: Routing, queue: Queue | None) -> str:
    """`[instance.][version.][service.]<project>.appspot.com`, as the cloud fills AppEngineRouting.host."""
    if queue is not None and queue.app_engine_routing_override is not None:
        routing = queue.app_engine_routing_override
    project = task_name.split("/", 2)[1]
    parts = [p for p in (routing.instance, routing.version, routing.service) if p]
    return ".".join([*parts, f"{project}.appspot.com"])


def decode_token(m: Any) -> Token | None:
    kind = m.WhichOneof("authorization_header")
    if kind == "oauth_token":
        return Token("oauth", m.oauth_token.service_account_email, m.oauth_token.scope)
    if kind == "oidc_token":
        return Token("oidc", m.oidc_token.service_account_email, m.oidc_token.audience)
    return None


def encode_token(token: Token | None, m: Any) -> None:
    if token is None:
        return
    if token.kind == "oauth":
        m.oauth_token.service_account_email, m.oauth_token.scope = (
            token.service_account_email,
            token.scope_or_audience,
        )
    else:
        m.oidc_token.service_account_email, m.oidc_token.audience = (
            token.service_account_email,
            token.scope_or_audience,
        )


def decode_http_request(pb: ModuleType, r: Any) -> HttpRequest:
    if not r.url:
        raise invalid("HttpRequest.url is required.")
    if not r.url.startswith(("http://", "https://")) or not _has_host(r.url):
        # A scheme with no host ("http://") is as malformed to the cloud as no scheme at all.
        raise invalid("HttpTarget.url must start with 'http://' or 'https://'.")
    if len(r.url) > MAX_URL_LENGTH:
        raise invalid(f"HttpRequest.url must be at most {MAX_URL_LENGTH} characters.")
    method = _method(pb, r.http_method)
    _check_body(r.body, method, "http", "HttpRequest.body")
    headers = {k: v for k, v in r.headers.items() if not _reserved_header(k, "http")}
    if sum(len(k) + len(v) for k, v in headers.items()) >= MAX_HEADERS_BYTES:
        raise invalid("HttpRequest.headers must be smaller than 80KB in total.")
    _pop_header(headers, "user-agent")
    headers["User-Agent"] = HTTP_USER_AGENT
    return HttpRequest(r.url, method, headers, r.body, decode_token(r))


def _has_host(url: str) -> bool:
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:
        return False


def enum_name(enum: Any, value: int, label: str) -> str:
    """The name of an enum value; proto3 lets any number through the wire, the API does not."""
    known = enum.DESCRIPTOR.values_by_number.get(value)
    if known is None:
        raise invalid(f"Invalid value {value} for {label}.")
    name: str = known.name
    return name


def _method(pb: ModuleType, value: int) -> str:
    name = enum_name(pb.HttpMethod, value, "httpMethod")
    return "POST" if value == 0 else name


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


def _not_negative(value: Any, label: str) -> Any:
    if value < 0:
        raise invalid(f"{label} cannot be negative.")
    return value


def _positive(value: float, label: str) -> float:
    if value <= 0:
        raise invalid(f"{label} must be positive.")
    return value


def _at_most(value: Any, limit: float, label: str) -> Any:
    if value > limit:
        raise invalid(f"{label} must be less than or equal to {limit:g}.")
    return value


CODECS = {version: Codec(version) for version in VERSIONS}

"""Version-neutral queues and tasks, owned by the engine. Times are epoch microseconds (`*_us`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class QueueState(enum.StrEnum):
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    DISABLED = "DISABLED"


@dataclass(slots=True)
class Routing:
    service: str = ""
    version: str = ""
    instance: str = ""


@dataclass(slots=True)
class Token:
    """An OAuth (scope) or OIDC (audience) token the dispatcher mints for an HTTP target."""

    kind: str  # "oauth" or "oidc"
    service_account_email: str
    scope_or_audience: str = ""


@dataclass(slots=True)
class UriOverride:
    scheme: str | None = None  # "HTTP" / "HTTPS"
    host: str | None = None
    port: int | None = None
    path: str | None = None  # None: no path_override
    query: str | None = None  # None: no query_override
    enforce_mode: str = "URI_OVERRIDE_ENFORCE_MODE_UNSPECIFIED"


@dataclass(slots=True)
class HttpTarget:
    uri_override: UriOverride | None = None
    http_method: str = "HTTP_METHOD_UNSPECIFIED"
    header_overrides: list[tuple[str, str]] = field(default_factory=list)
    token: Token | None = None


@dataclass(slots=True)
class RateLimits:
    max_dispatches_per_second: float = 500.0
    max_burst_size: int = 100
    max_concurrent_dispatches: int = 1000


def pull_rate_limits() -> RateLimits:
    """A pull queue's rate limits: output only, the defaults with no concurrency cap (-1)."""
    return RateLimits(max_concurrent_dispatches=-1)


@dataclass(slots=True)
class RetryPolicy:
    max_attempts: int = 100  # -1: unlimited
    max_retry_duration_s: float = 0.0  # 0: unlimited
    min_backoff_s: float = 0.1
    max_backoff_s: float = 3600.0
    max_doublings: int = 16


@dataclass(slots=True)
class Queue:
    name: str
    pull: bool = False
    app_engine_routing_override: Routing | None = None
    http_target: HttpTarget | None = None
    rate: RateLimits = field(default_factory=RateLimits)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    state: QueueState = QueueState.RUNNING
    purge_time_us: int | None = None
    task_ttl_s: float = 31 * 86400.0
    tombstone_ttl_s: float = 3600.0
    logging_sampling_ratio: float | None = None  # None: no stackdriver_logging_config
    iam_policy: bytes = b""  # serialized google.iam.v1.Policy


@dataclass(slots=True)
class QueueStats:
    tasks_count: int
    oldest_schedule_us: int | None
    executed_last_minute: int
    concurrent_dispatches: int
    effective_rate: float


@dataclass(slots=True)
class AppEngineRequest:
    http_method: str = "POST"
    routing: Routing | None = None
    relative_uri: str = "/"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(slots=True)
class HttpRequest:
    url: str = ""
    http_method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    token: Token | None = None


@dataclass(slots=True)
class PullMessage:
    payload: bytes = b""
    tag: str = ""


Payload = AppEngineRequest | HttpRequest | PullMessage


@dataclass(slots=True)
class Attempt:
    schedule_us: int | None = None
    dispatch_us: int | None = None
    response_us: int | None = None
    response_code: int | None = None  # google.rpc code of the response
    response_message: str = ""


@dataclass(slots=True)
class Task:
    name: str
    payload: Payload
    schedule_us: int
    create_us: int
    dispatch_deadline_ms: int | None = None
    retry: RetryPolicy | None = None  # task-level override (v2beta3/v2)
    dispatch_count: int = 0
    response_count: int = 0
    first_attempt: Attempt | None = None
    last_attempt: Attempt | None = None
    # What the next attempt's X-*-TaskExecutionCount / PreviousResponse / RetryReason headers say.
    execution_count: int = 0
    previous_response: int | None = None
    retry_reason: str | None = None
    lease_until_us: int | None = None  # pull tasks: the end of the live lease, if any


def task_size(task: Task) -> int:
    """Bytes a stored task costs, roughly: what it carries plus a fixed overhead."""
    payload = task.payload
    if isinstance(payload, PullMessage):
        carried = len(payload.payload) + len(payload.tag)
    else:
        carried = len(payload.body) + sum(len(k) + len(v) for k, v in payload.headers.items())
        carried += len(payload.url) if isinstance(payload, HttpRequest) else len(payload.relative_uri)
    return carried + len(task.name) + 300

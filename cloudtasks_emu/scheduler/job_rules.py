"""A Cloud Scheduler job's rules over plain values: its names, fields, limits and state machine.

Messages are the cloud's where they are recorded; the others say the documented constraint in a short
sentence (docs/scheduler.md lists them). Nothing here knows protos, storage or transports.
"""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urlsplit

from ..errors import NOT_FOUND_MESSAGE, Code, EmuError, invalid
from ..names import parse_location
from .limits import (
    APP_ENGINE_DEADLINE_S,
    HTTP_DEADLINE_DEFAULT_S,
    HTTP_DEADLINE_S,
    MAX_DESCRIPTION_CHARS,
    MAX_HEADERS_BYTES,
    MAX_JOB_BYTES,
    MAX_JOB_ID_CHARS,
    MAX_URL_LENGTH,
)
from .retry import RetryConfig, TargetKind, validate_retry_config
from .schedule import parse_schedule

_JOB_RE = re.compile(r"(projects/[^/]+/locations/[^/]+)/jobs/([^/]*)")
_JOB_ID_RE = re.compile(rf"[A-Za-z0-9_\-]{{1,{MAX_JOB_ID_CHARS}}}")
_TOPIC_RE = re.compile(r"projects/([^/]+)/topics/([^/]+)")
JOB_FORMAT_MESSAGE = 'Job name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/jobs/<JOB_ID>".'
HTTP_USER_AGENT = "Google-Cloud-Scheduler"
# The same string as codec/tasks.py's (App Engine's own), which imports protos and so cannot be shared yet.
APP_ENGINE_USER_AGENT = "AppEngine-Google; (+http://code.google.com/appengine)"
DEFAULT_OAUTH_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
_BODY_METHODS = {TargetKind.HTTP: ("POST", "PUT", "PATCH"), TargetKind.APP_ENGINE: ("POST", "PUT")}
_METHODS = ("POST", "GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS")


class JobState(enum.StrEnum):
    ENABLED = "ENABLED"
    PAUSED = "PAUSED"
    DISABLED = "DISABLED"
    UPDATE_FAILED = "UPDATE_FAILED"


class JobName(NamedTuple):
    parent: str  # projects/P/locations/L
    job_id: str

    @property
    def name(self) -> str:
        return f"{self.parent}/jobs/{self.job_id}"


@dataclass(frozen=True, slots=True)
class OAuthToken:
    service_account_email: str
    scope: str = ""


@dataclass(frozen=True, slots=True)
class OidcToken:
    service_account_email: str
    audience: str = ""


@dataclass(frozen=True, slots=True)
class HttpTarget:
    uri: str
    http_method: str = ""  # "" (HTTP_METHOD_UNSPECIFIED) means POST
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    oauth_token: OAuthToken | None = None
    oidc_token: OidcToken | None = None


@dataclass(frozen=True, slots=True)
class AppEngineTarget:
    http_method: str = ""
    relative_uri: str = ""  # "" means "/"
    service: str = ""
    version: str = ""
    instance: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class PubsubTarget:
    topic_name: str
    data: bytes = b""
    attributes: dict[str, str] = field(default_factory=dict)


Target = HttpTarget | AppEngineTarget | PubsubTarget


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What a user sets on a job (the output-only fields are the engine's)."""

    name: str
    schedule: str = ""
    time_zone: str = ""
    description: str = ""
    target: Target | None = None
    retry: RetryConfig = field(default_factory=RetryConfig)
    attempt_deadline_s: float | None = None  # None: not set


def target_kind(target: Target) -> TargetKind:
    if isinstance(target, HttpTarget):
        return TargetKind.HTTP
    if isinstance(target, AppEngineTarget):
        return TargetKind.APP_ENGINE
    return TargetKind.PUBSUB


# --- names ---------------------------------------------------------------------------------------


def parse_job_name(name: str) -> JobName:
    """projects/P/locations/L/jobs/J, its job ID letters, digits, hyphens and underscores (<= 500)."""
    match = _JOB_RE.fullmatch(name)
    if not match:
        raise invalid(JOB_FORMAT_MESSAGE)
    parse_location(match.group(1))
    if not _JOB_ID_RE.fullmatch(match.group(2)):
        raise invalid(
            f'Job ID "{match.group(2)}" can contain only letters ([A-Za-z]), numbers ([0-9]), hyphens (-), '
            f"or underscores (_). Job ID must be between 1 and {MAX_JOB_ID_CHARS} characters."
        )
    return JobName(match.group(1), match.group(2))


def job_name_for_create(parent: str, name: str) -> JobName:
    """The name a CreateJob gives its job: the one asked for under `parent`, or a new unique ID."""
    parse_location(parent)
    if not name:
        return JobName(parent, new_job_id())
    parsed = parse_job_name(name)
    if parsed.parent != parent:
        raise invalid(f"{name} must begin with {parent}.")
    return parsed


def new_job_id() -> str:
    """The ID given to a job created without a name (the cloud's format is not documented)."""
    return uuid.uuid4().hex


def already_exists(name: str) -> EmuError:
    return EmuError(Code.ALREADY_EXISTS, f"Job {name} already exists.")


def not_found() -> EmuError:
    return EmuError(Code.NOT_FOUND, NOT_FOUND_MESSAGE)


# --- fields --------------------------------------------------------------------------------------


def validate_job(job: JobSpec) -> JobSpec:
    """Every field rule of a job as CreateJob (or an UpdateJob's merged result) must meet; returns the
    job with the defaults the service writes back (POST, "/", OIDC audience, OAuth scope).

    Raises:
        EmuError: INVALID_ARGUMENT naming the first broken rule.
    """
    parent = parse_job_name(job.name).parent
    parse_schedule(job.schedule, job.time_zone)
    if len(job.description) > MAX_DESCRIPTION_CHARS:
        raise invalid(f"Job.description must be at most {MAX_DESCRIPTION_CHARS} characters.")
    if job.target is None:
        raise invalid("Job.target is required: set httpTarget, appEngineHttpTarget or pubsubTarget.")
    validate_retry_config(job.retry)
    deadline = validate_attempt_deadline(target_kind(job.target), job.attempt_deadline_s)
    target = _validate_target(job.target, parent)
    return JobSpec(job.name, job.schedule, job.time_zone, job.description, target, job.retry, deadline)


def validate_attempt_deadline(kind: TargetKind, deadline_s: float | None) -> float | None:
    """The attempt deadline to keep: HTTP 15 s to 30 min (default 3 min); App Engine 15 s to 24 h 15 s
    (unset: the App Engine service's own request deadline); Pub/Sub ignores it."""
    if kind is TargetKind.PUBSUB:
        return None
    if kind is TargetKind.HTTP and not deadline_s:
        return HTTP_DEADLINE_DEFAULT_S
    if not deadline_s:
        return None
    low, high = HTTP_DEADLINE_S if kind is TargetKind.HTTP else APP_ENGINE_DEADLINE_S
    if not low <= deadline_s <= high:
        raise invalid(f"Job.attemptDeadline must be between {low:g}s and {high:g}s for this target.")
    return deadline_s


def check_job_size(size_bytes: int) -> None:
    if size_bytes > MAX_JOB_BYTES:
        raise invalid(f"Job size must be at most {MAX_JOB_BYTES} bytes.")


def _method(method: str, kind: TargetKind) -> str:
    method = method.upper() or "POST"
    if method not in _METHODS or (kind is TargetKind.APP_ENGINE and method in ("PATCH", "OPTIONS")):
        raise invalid(f"HTTP method {method} is not allowed for this target.")
    return method


def _check_body(body: bytes, method: str, kind: TargetKind) -> None:
    allowed = _BODY_METHODS[kind]
    if body and method not in allowed:
        raise invalid(f"A body can only be set when the HTTP method is {' or '.join(allowed)}.")


def stored_headers(headers: dict[str, str], kind: TargetKind, body: bytes) -> dict[str, str]:
    """The headers as the job keeps them: reserved ones (X-Google-*, X-AppEngine-*, Content-Length)
    dropped, the service's User-Agent, and Content-Type application/octet-stream for a body without one."""
    if sum(len(k) + len(v) for k, v in headers.items()) >= MAX_HEADERS_BYTES:
        raise invalid(f"Headers must be smaller than {MAX_HEADERS_BYTES // 1024}KB in total.")
    kept = {
        k: v
        for k, v in headers.items()
        if not k.lower().startswith(("x-google-", "x-appengine-")) and k.lower() != "content-length"
    }
    user_agent = next((kept.pop(k) for k in list(kept) if k.lower() == "user-agent"), "")
    if kind is TargetKind.HTTP:
        kept["User-Agent"] = HTTP_USER_AGENT
    else:
        kept["User-Agent"] = f"{user_agent} {APP_ENGINE_USER_AGENT}" if user_agent else APP_ENGINE_USER_AGENT
    if body and not any(k.lower() == "content-type" for k in kept):
        kept["Content-Type"] = "application/octet-stream"
    return kept


def _validate_target(target: Target, parent: str) -> Target:
    if isinstance(target, HttpTarget):
        return _http(target)
    if isinstance(target, AppEngineTarget):
        return _app_engine(target)
    return _pubsub(target, parent)


def _http(target: HttpTarget) -> HttpTarget:
    uri = target.uri
    if not uri.startswith(("http://", "https://")) or not urlsplit(uri).netloc:
        raise invalid("HttpTarget.uri must start with 'http://' or 'https://'.")
    if len(uri) > MAX_URL_LENGTH:
        raise invalid(f"HttpTarget.uri must be at most {MAX_URL_LENGTH} characters.")
    method = _method(target.http_method, TargetKind.HTTP)
    _check_body(target.body, method, TargetKind.HTTP)
    oauth, oidc = target.oauth_token, target.oidc_token
    if oauth is not None and oidc is not None:
        raise invalid("HttpTarget can have only one of oauthToken and oidcToken.")
    if oauth is not None:
        oauth = OAuthToken(oauth.service_account_email, oauth.scope or DEFAULT_OAUTH_SCOPE)
    if oidc is not None:
        oidc = OidcToken(oidc.service_account_email, oidc.audience or uri)
    headers = stored_headers(target.headers, TargetKind.HTTP, target.body)
    return HttpTarget(uri, method, headers, target.body, oauth, oidc)


def _app_engine(target: AppEngineTarget) -> AppEngineTarget:
    relative = target.relative_uri or "/"
    if not relative.startswith("/"):
        raise invalid("AppEngineHttpTarget.relativeUri must begin with '/'.")
    if " " in relative or len(relative) > MAX_URL_LENGTH:
        raise invalid(f"AppEngineHttpTarget.relativeUri must have no spaces and at most {MAX_URL_LENGTH} characters.")
    method = _method(target.http_method, TargetKind.APP_ENGINE)
    _check_body(target.body, method, TargetKind.APP_ENGINE)
    headers = stored_headers(target.headers, TargetKind.APP_ENGINE, target.body)
    return AppEngineTarget(method, relative, target.service, target.version, target.instance, headers, target.body)


def _pubsub(target: PubsubTarget, parent: str) -> PubsubTarget:
    match = _TOPIC_RE.fullmatch(target.topic_name)
    if not match:
        raise invalid('PubsubTarget.topicName must be formatted: "projects/<PROJECT_ID>/topics/<TOPIC_ID>".')
    if match.group(1) != parse_location(parent)[0]:
        raise invalid("PubsubTarget.topicName must be in the job's project.")
    if not target.data and not target.attributes:
        raise invalid("A Pub/Sub message must have non-empty data or at least one attribute.")
    return target


# --- state machine -------------------------------------------------------------------------------


def _refuse(action: str, state: JobState) -> EmuError:
    return EmuError(Code.FAILED_PRECONDITION, f"A job in state {state.value} cannot be {action}.")


def pause(state: JobState) -> JobState:
    """PauseJob: ENABLED becomes PAUSED; pausing a PAUSED job changes nothing."""
    if state in (JobState.ENABLED, JobState.PAUSED):
        return JobState.PAUSED
    raise _refuse("paused", state)


def resume(state: JobState) -> JobState:
    """ResumeJob: PAUSED becomes ENABLED; resuming an ENABLED job succeeds (Terraform resumes after
    every create)."""
    if state in (JobState.ENABLED, JobState.PAUSED):
        return JobState.ENABLED
    raise _refuse("resumed", state)


def updated(state: JobState) -> JobState:
    """The state after a successful UpdateJob: it recovers UPDATE_FAILED and keeps a PAUSED job paused."""
    return JobState.ENABLED if state is JobState.UPDATE_FAILED else state


def check_force_run(state: JobState) -> None:
    """RunJob forces a run of an ENABLED or PAUSED job (the state does not change)."""
    if state not in (JobState.ENABLED, JobState.PAUSED):
        raise _refuse("run", state)


def runs_on_schedule(state: JobState) -> bool:
    return state is JobState.ENABLED

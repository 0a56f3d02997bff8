"""Settings of one emulator process, with the real service's defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _default_app_engine_url() -> str:
    host = os.environ.get("APP_ENGINE_EMULATOR_HOST", "")
    if not host:
        return "http://localhost:8080"
    return host if "://" in host else f"http://{host}"


# A new connection must send the HTTP/2 preface (gRPC) or a whole HTTP request head within this many
# seconds, else it is closed: silent or half-sent connections would otherwise hold a descriptor forever.
HEAD_TIMEOUT_S = 10.0
# An HTTP keep-alive connection between requests, or a gRPC connection with no call open, is closed
# after this many seconds (clients reconnect at their next call; a live feed or a call in progress is
# not idle).
IDLE_TIMEOUT_S = 75.0
# One WARNING when open descriptors reach this share of RLIMIT_NOFILE (counted every second), and
# again only after they fell below the second share.
DESCRIPTORS_WARN_SHARE = 0.8
DESCRIPTORS_REARM_SHARE = 0.6
DESCRIPTORS_CHECK_S = 1.0


@dataclass(slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8123  # gRPC and HTTP/1.1 (REST, admin, health, OIDC documents)
    http_port: int | None = 8124  # a second, HTTP-only listener; None for none
    grpc_port: int | None = None  # a direct gRPC listener beside the shared port; None for none
    location: str = "us-central1"
    app_engine_url: str = field(default_factory=_default_app_engine_url)
    app_engine_services: dict[str, str] = field(default_factory=dict)  # service name -> base URL
    queues: list[str] = field(default_factory=list)
    config_file: str = ""  # YAML queue declarations (see queue_config)
    virtual_clock: bool = False
    # The cloud blocks re-creating a deleted queue's name for up to 3 days (v2/v2beta3 docs).
    queue_reuse_delay_s: float = 3 * 86400.0
    log_level: str = "INFO"
    # Caps so that a runaway test cannot eat the machine: RESOURCE_EXHAUSTED past them.
    max_tasks: int = 5_000_000
    max_task_bytes: int = 8 * 1024**3
    allow_remote_admin: bool = False  # let non-loopback clients reset state
    # Who may call over HTTP besides the emulator's own names and pages ("*" in hosts: any name).
    allowed_hosts: list[str] = field(default_factory=list)
    allow_origins: list[str] = field(default_factory=list)
    attempt_journal_size: int = 100  # push attempts remembered per queue (admin API, dashboard)
    data_dir: str = ""  # '' keeps state in memory; a directory keeps it in SQLite there
    database: str = ""  # a postgresql:// URL: state shared with every process started with it
    # Connections that say nothing are closed (see the limits below).
    head_timeout_s: float = HEAD_TIMEOUT_S
    idle_timeout_s: float = IDLE_TIMEOUT_S


# The real service's limits (see the reference).
MAX_TASK_SIZE = 1_048_569
MAX_SCHEDULE_AHEAD_S = 720 * 3600
MAX_RATE = 500.0
MAX_BURST = 500
MAX_CONCURRENT = 5000
MAX_LIST_TASKS_PAGE = 1000
MAX_LIST_QUEUES_PAGE = 9800
MAX_BATCH_CREATE = 100
MAX_BATCH_DELETE = 1000
MAX_URL_LENGTH = 2083
MAX_HEADERS_BYTES = 80 * 1024
MAX_TAG_BYTES = 500  # PullMessage.tag, and the tag a LeaseTasks filter names
MAX_LEASE_RESPONSE_BYTES = 32 * 1024 * 1024
MAX_LEASE_S = 7 * 86400  # LeaseTasks' and RenewLease's lease_duration
MAX_LEASE_TASKS = 1000  # LeaseTasksRequest.max_tasks
# Task.dispatch_deadline: allowed [low, high] in milliseconds, by target.
HTTP_DEADLINE_MS = (15_000, 30 * 60_000)
APP_ENGINE_DEADLINE_MS = (15_000, 24 * 3_600_000 + 15_000)
# The HTTP face's limits on what a client may send (aiohttp's defaults, said here so they hold on every
# aiohttp version): a request line or header line of at most 8190 bytes, at most 128 header lines.
MAX_HTTP_LINE = 8190
MAX_HTTP_HEADERS = 128

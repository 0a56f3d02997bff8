"""What differs between the three API versions, as data (see the reference, sections 2 and 6).

The codecs read these entries instead of asking which version they serve. A field that only some
versions have is named in `queue_fields` / `task_fields` of those versions; a field that is renamed
is one attribute here; the rest are capabilities the cloud grants one version and not another.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Literal

from .._pb.v2 import cloudtasks_pb2 as v2
from .._pb.v2beta2 import cloudtasks_pb2 as v2beta2
from .._pb.v2beta3 import cloudtasks_pb2 as v2beta3


@dataclass(frozen=True, slots=True)
class VersionSpec:
    version: str
    pb: ModuleType
    # Renamed fields.
    rate_field: str  # RateLimits: the dispatch rate
    concurrency_field: str  # RateLimits: the concurrency cap
    relative_field: str  # AppEngineHttpRequest: the path and query
    app_engine_body: str  # AppEngineHttpRequest: the body
    payload_oneof: str  # Task: the oneof holding the request or pull message
    # Where a queue says what it targets.
    target_oneof: str  # the required oneof that holds the target, "" for none
    pull_field: str  # the field that marks a pull queue, "" when the version has no pull queues
    app_engine_holder: str  # the message holding app_engine_routing_override, "" for Queue itself
    # Fields only some versions have (proto names).
    queue_fields: frozenset[str]
    task_fields: frozenset[str]
    # Capabilities.
    burst_settable: bool  # RateLimits.max_burst_size is input (v2 computes it)
    unlimited_attempts: bool  # RetryConfig says "unlimited" with a bool instead of max_attempts = -1
    pull_payload: Literal["create", "read", ""]  # what the API lets a caller do with Task.pull_message
    payload_must_match_queue: bool  # CreateTask refuses a payload of another kind than the queue's
    read_mask: bool  # GetQueue/ListQueues take a read_mask
    operations: bool  # the Batch RPCs' GetOperation mixin is served


# `dispatch_count` stands for the v2beta3/v2 attempt fields (dispatch/response counts, first and
# last attempt); v2beta2 reports the same through `status`.
SPECS = {
    "v2": VersionSpec(
        version="v2",
        pb=v2,
        rate_field="max_dispatches_per_second",
        concurrency_field="max_concurrent_dispatches",
        relative_field="relative_uri",
        app_engine_body="body",
        payload_oneof="message_type",
        target_oneof="",
        pull_field="",
        app_engine_holder="",
        queue_fields=frozenset({"stackdriver_logging_config"}),
        task_fields=frozenset({"dispatch_deadline", "retry_config", "dispatch_count"}),
        burst_settable=False,
        unlimited_attempts=False,
        pull_payload="",
        payload_must_match_queue=False,
        read_mask=False,
        operations=True,
    ),
    "v2beta3": VersionSpec(
        version="v2beta3",
        pb=v2beta3,
        rate_field="max_dispatches_per_second",
        concurrency_field="max_concurrent_dispatches",
        relative_field="relative_uri",
        app_engine_body="body",
        payload_oneof="payload_type",
        target_oneof="",
        pull_field="type",
        app_engine_holder="app_engine_http_queue",
        queue_fields=frozenset({"task_ttl", "tombstone_ttl", "stats", "stackdriver_logging_config"}),
        task_fields=frozenset({"dispatch_deadline", "retry_config", "dispatch_count"}),
        burst_settable=True,
        unlimited_attempts=False,
        pull_payload="read",
        payload_must_match_queue=False,
        read_mask=True,
        operations=True,
    ),
    "v2beta2": VersionSpec(
        version="v2beta2",
        pb=v2beta2,
        rate_field="max_tasks_dispatched_per_second",
        concurrency_field="max_concurrent_tasks",
        relative_field="relative_url",
        app_engine_body="payload",
        payload_oneof="payload_type",
        target_oneof="target_type",
        pull_field="pull_target",
        app_engine_holder="app_engine_http_target",
        queue_fields=frozenset({"task_ttl", "tombstone_ttl", "stats"}),
        task_fields=frozenset({"status"}),
        burst_settable=True,
        unlimited_attempts=True,
        pull_payload="create",
        payload_must_match_queue=True,
        read_mask=True,
        operations=False,
    ),
}
VERSIONS = tuple(SPECS)

"""Queues declared in YAML: the classic App Engine queue.yaml, and our --config file.

The --config file lists queues in the v2beta3 REST JSON form (camelCase or snake_case), so the
same converter validates them with the cloud's own messages:

    queues:
      - name: projects/my-project/locations/us-central1/queues/emails
        rateLimits: {maxDispatchesPerSecond: 10, maxConcurrentDispatches: 2}
        retryConfig: {maxAttempts: 5, minBackoff: 1s, maxBackoff: 60s}
      - name: projects/my-project/locations/us-central1/queues/work
        type: PULL

A file whose top level is `queue:` is read as a classic queue.yaml (with `project:` and optionally
`location:` beside it, since queue.yaml names carry no project). Keys of queue.yaml that we do not
model (`acl`, `total_storage_limit`, ...) are ignored with one warning each, so real files load; every
error names the file, the queue and the key.
"""

from __future__ import annotations

import difflib
import logging
import re
from typing import Any

import yaml
from google.protobuf import json_format

from . import names
from .codec import CODECS
from .codec.parts import check_backoff_order, check_rate
from .config import MAX_BURST, MAX_CONCURRENT
from .errors import EmuError, invalid
from .model import Queue, RateLimits, RetryPolicy, Routing, pull_rate_limits

logger = logging.getLogger(__name__)

_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*/\s*([smhd])\s*")
_DURATION = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*([smhd])\s*")
QUEUE_YAML_TOMBSTONE_S = 9 * 86400  # queue.yaml queues de-duplicate task names for about 9 days
_QUEUE_YAML_KEYS = {"name", "rate", "bucket_size", "max_concurrent_requests", "mode", "target", "retry_parameters"}
_RETRY_KEYS = {"task_retry_limit", "task_age_limit", "min_backoff_seconds", "max_backoff_seconds", "max_doublings"}
_TOP_KEYS = {"queue", "project", "location"}  # the last two only in a --config file


def load_yaml(text: str | bytes, what: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise invalid(f"{what} is not valid YAML: {error}") from error


def config_queues(text: str, default_location: str, source: str = "the config file") -> list[Queue]:
    """Queues of a --config file (our format, or a classic queue.yaml with a `project:` key); errors
    start with `source` (the file's path)."""
    data = load_yaml(text, source)
    if not isinstance(data, dict):
        raise invalid(f"{source} must be a mapping with a `queues:` (or classic `queue:`) list.")
    if "queue" in data:
        project = data.get("project")
        if not isinstance(project, str) or not project:
            raise invalid(f"{source}: a classic queue.yaml given as --config needs a top-level `project:`.")
        return queue_yaml_queues(data, project, str(data.get("location", default_location)), source)
    unknown = set(data) - {"queues"}
    if unknown:
        raise invalid(f"{source}: unknown top-level keys: {', '.join(sorted(map(str, unknown)))}.")
    entries = data.get("queues") or []
    if not isinstance(entries, list):
        raise invalid(f"{source}: `queues:` must be a list.")
    codec = CODECS["v2beta3"]
    queues = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or "name" not in entry:
            raise invalid(f"{source}: queues[{index}] must be a mapping with a `name`.")
        where = f"{source}: queues[{index}] ({entry['name']})"
        try:
            message = json_format.ParseDict(entry, codec.pb.Queue())
            names.parse_queue(message.name)
            queues.append(codec.queues.decode(message))
        except json_format.ParseError as error:
            raise invalid(f"{where}: {error}") from error
        except EmuError as error:
            raise invalid(f"{where}: {error.message}") from error
    return queues


def queue_yaml_queues(data: Any, project: str, location: str, source: str = "queue.yaml") -> list[Queue]:
    """Queues of a classic queue.yaml document, mapped as UploadQueueYaml maps them."""
    if not isinstance(data, dict) or not isinstance(data.get("queue"), list):
        raise invalid(f"{source} must have a top-level `queue:` list.")
    _ignore(set(data) - _TOP_KEYS, _TOP_KEYS, source)
    parent = f"projects/{project}/locations/{location}"
    return [_queue_yaml_entry(entry, parent, source) for entry in data["queue"]]


def _ignore(keys: set[Any], known: set[str], where: str) -> None:
    """One warning per key we do not model (acl, total_storage_limit, ...): the file still loads."""
    for key in sorted(map(str, keys)):
        near = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        logger.warning("%s: ignoring `%s`, which the emulator does not model%s", where, key, hint)


def _queue_yaml_entry(entry: Any, parent: str, source: str) -> Queue:
    if not isinstance(entry, dict) or not entry.get("name"):
        raise invalid(f"{source}: every queue entry needs a `name`.")
    label = f"{source}: queue {entry['name']!r}"
    _ignore(set(entry) - _QUEUE_YAML_KEYS, _QUEUE_YAML_KEYS, label)
    queue = Queue(name=f"{parent}/queues/{entry['name']}", tombstone_ttl_s=QUEUE_YAML_TOMBSTONE_S)
    try:
        names.parse_queue(queue.name)
    except EmuError as error:
        raise invalid(f"{label}, key name: {error.message}") from error
    mode = entry.get("mode", "push")
    if mode not in ("push", "pull"):
        raise invalid(f"{label}, key mode: must be push or pull, not {mode!r}.")
    queue.pull = mode == "pull"
    if queue.pull:
        queue.rate = pull_rate_limits()
    else:
        rate = _rate_per_s(entry.get("rate", "5/s"), f"{label}, key rate")
        burst = _int(entry.get("bucket_size", 5), f"{label}, key bucket_size", 1, MAX_BURST)
        key = f"{label}, key max_concurrent_requests"
        concurrent = _int(entry.get("max_concurrent_requests", 1000), key, 1, MAX_CONCURRENT)
        queue.rate = RateLimits(rate, burst, concurrent)
    if entry.get("target"):
        version, _, service = str(entry["target"]).rpartition(".")
        queue.app_engine_routing_override = Routing(service=service, version=version)
    queue.retry = _retry(entry.get("retry_parameters") or {}, label)
    return queue


def _retry(params: Any, label: str) -> RetryPolicy:
    if not isinstance(params, dict):
        raise invalid(f"{label}, key retry_parameters: must be a mapping.")
    _ignore(set(params) - _RETRY_KEYS, _RETRY_KEYS, f"{label}, retry_parameters")
    key = f"{label}, key retry_parameters."
    policy = RetryPolicy()
    if "task_retry_limit" in params:
        # queue.yaml counts retries; the API counts attempts, the first one included.
        policy.max_attempts = _int(params["task_retry_limit"], key + "task_retry_limit", 0, 10**9) + 1
    if "task_age_limit" in params:
        policy.max_retry_duration_s = _duration_s(params["task_age_limit"], key + "task_age_limit")
    if "min_backoff_seconds" in params:
        policy.min_backoff_s = _number(params["min_backoff_seconds"], key + "min_backoff_seconds")
    if "max_backoff_seconds" in params:
        policy.max_backoff_s = _number(params["max_backoff_seconds"], key + "max_backoff_seconds")
    if "max_doublings" in params:
        policy.max_doublings = _int(params["max_doublings"], key + "max_doublings", 0, 10**6)
    check_backoff_order(policy, key + "min_backoff_seconds", "max_backoff_seconds")
    return policy


def _rate_per_s(value: Any, label: str) -> float:
    match = _RATE.fullmatch(str(value))
    if not match:
        raise invalid(f"{label}: must look like 5/s, 100/m, 10/h or 1/d, not {value!r}.")
    rate = float(match.group(1)) / _UNITS_S[match.group(2)]
    if rate == 0:  # the API reads 0 as "the default"; a queue.yaml rate is always explicit
        raise invalid(f"{label} must be positive.")
    return check_rate(rate, label)


def _duration_s(value: Any, label: str) -> float:
    match = _DURATION.fullmatch(str(value))
    if not match:
        raise invalid(f"{label}: must look like 30s, 10m, 2h or 1d, not {value!r}.")
    return float(match.group(1)) * _UNITS_S[match.group(2)]


def _number(value: Any, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise invalid(f"{label}: must be a number of seconds, not {value!r}.")
    return float(value)


def _int(value: Any, label: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(f"{label}: must be a whole number from {low} to {high}, not {value!r}.")
    return value

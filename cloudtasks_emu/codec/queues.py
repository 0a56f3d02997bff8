"""Queue messages of one API version <-> the model Queue, validating input as the cloud does."""

from __future__ import annotations

from typing import Any, cast

from ..config import MAX_BURST, MAX_CONCURRENT
from ..errors import invalid
from ..model import HttpTarget, Queue, QueueStats, RateLimits, RetryPolicy, Routing, UriOverride, pull_rate_limits
from .messages import HttpTargetPb, QueuePb, RateLimitsPb
from .parts import (
    at_most,
    check_headers,
    check_rate,
    decode_retry,
    decode_routing,
    decode_token,
    encode_retry,
    encode_routing,
    encode_token,
    enum_name,
    given,
    not_negative,
    positive,
)
from .spec import VersionSpec
from .wellknown import camel, duration_s, set_duration

DEFAULT_RATE = RateLimits()


def burst_for(rate: float) -> int:
    """The bucket size the service derives from a rate (100 at the default 500/s)."""
    return max(1, min(DEFAULT_RATE.max_burst_size, int(-(-rate // 1))))


class QueueCodec:
    """Converts one version's Queue to the model Queue and back."""

    def __init__(self, spec: VersionSpec) -> None:
        self.spec = spec
        self.pb = spec.pb
        self._rate_label = f"RateLimits.{camel(spec.rate_field)}"
        self._concurrency_label = f"RateLimits.{camel(spec.concurrency_field)}"

    def decode(self, q: QueuePb) -> Queue:
        """A model Queue from a request's Queue (name, target, rate limits, retry, ttls)."""
        queue = Queue(name=q.name)
        self._decode_target(q, queue)
        queue.rate = self.decode_rate(q.rate_limits, queue.pull)
        queue.retry = decode_retry(self.spec, q.retry_config) if q.HasField("retry_config") else RetryPolicy()
        if (ttl := given(self.spec.queue_fields, q, "task_ttl")) is not None:
            queue.task_ttl_s = positive(duration_s(ttl), "Queue.taskTtl")
        if (ttl := given(self.spec.queue_fields, q, "tombstone_ttl")) is not None:
            queue.tombstone_ttl_s = positive(duration_s(ttl), "Queue.tombstoneTtl")
        if (logging := given(self.spec.queue_fields, q, "stackdriver_logging_config")) is not None:
            if not 0.0 <= logging.sampling_ratio <= 1.0:
                raise invalid("StackdriverLoggingConfig.samplingRatio must be between 0 and 1.")
            queue.logging_sampling_ratio = logging.sampling_ratio
        return queue

    def _decode_target(self, q: QueuePb, queue: Queue) -> None:
        """Push or pull, App Engine routing override, HTTP target: said differently in each version."""
        spec = self.spec
        if spec.target_oneof:  # one required oneof holds whichever target the queue has
            target = q.WhichOneof(spec.target_oneof)
            if target is None:
                raise invalid("Queue.targetType is required: set appEngineHttpTarget, pullTarget or httpTarget.")
            queue.pull = target == spec.pull_field
            if target == spec.app_engine_holder:
                queue.app_engine_routing_override = _override(getattr(q, target))
            elif target == "http_target":
                queue.http_target = self.decode_http_target(q.http_target)
            return
        if spec.pull_field:  # an enum beside the targets
            queue.pull = getattr(q, spec.pull_field) == self.pb.Queue.PULL
        queue.app_engine_routing_override = _override(
            getattr(q, spec.app_engine_holder) if spec.app_engine_holder else q
        )
        if q.HasField("http_target"):
            queue.http_target = self.decode_http_target(q.http_target)

    def decode_rate(self, r: RateLimitsPb, pull: bool) -> RateLimits:
        if pull:  # output only for pull queues
            return pull_rate_limits()
        rate: float = getattr(r, self.spec.rate_field)
        concurrency: int = getattr(r, self.spec.concurrency_field)
        check_rate(rate, self._rate_label)
        at_most(not_negative(concurrency, self._concurrency_label), MAX_CONCURRENT, self._concurrency_label)
        rate = rate or DEFAULT_RATE.max_dispatches_per_second
        burst = burst_for(rate)
        if self.spec.burst_settable and r.max_burst_size:
            label = "RateLimits.maxBurstSize"
            burst = at_most(not_negative(r.max_burst_size, label), MAX_BURST, label)
        return RateLimits(rate, burst, concurrency or DEFAULT_RATE.max_concurrent_dispatches)

    def decode_http_target(self, t: HttpTargetPb) -> HttpTarget:
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
                override.port = not_negative(u.port, "UriOverride.port") or None
            if u.HasField("path_override"):
                override.path = u.path_override.path
            if u.HasField("query_override"):
                override.query = u.query_override.query_params
            target.uri_override = override
        target.header_overrides = [(h.header.key, h.header.value) for h in t.header_overrides]
        check_headers(target.header_overrides, "HttpTarget.headerOverrides")
        target.token = decode_token(t)
        return target

    def encode(self, queue: Queue, stats: QueueStats | None = None) -> QueuePb:
        spec = self.spec
        q = self.pb.Queue(name=queue.name, state=queue.state.value)
        self._encode_target(queue, q)
        if queue.logging_sampling_ratio is not None and "stackdriver_logging_config" in spec.queue_fields:
            q.stackdriver_logging_config.sampling_ratio = queue.logging_sampling_ratio
        rate = q.rate_limits
        setattr(rate, spec.rate_field, queue.rate.max_dispatches_per_second)
        rate.max_burst_size = queue.rate.max_burst_size
        setattr(rate, spec.concurrency_field, queue.rate.max_concurrent_dispatches)
        encode_retry(spec, queue.retry, q.retry_config)
        if queue.purge_time_us is not None:
            q.purge_time.FromMicroseconds(queue.purge_time_us)
        if "task_ttl" in spec.queue_fields:
            set_duration(q.task_ttl, queue.task_ttl_s)
        if "tombstone_ttl" in spec.queue_fields:
            set_duration(q.tombstone_ttl, queue.tombstone_ttl_s)
        if stats is not None and "stats" in spec.queue_fields:
            q.stats.tasks_count = stats.tasks_count
            if stats.oldest_schedule_us is not None:
                q.stats.oldest_estimated_arrival_time.FromMicroseconds(stats.oldest_schedule_us)
            q.stats.executed_last_minute_count = stats.executed_last_minute
            q.stats.concurrent_dispatches_count = stats.concurrent_dispatches
            q.stats.effective_execution_rate = stats.effective_rate
        return cast(QueuePb, q)  # built from the version's module, which mypy sees as Any

    def _encode_target(self, queue: Queue, q: Any) -> None:
        spec = self.spec
        if spec.pull_field == "type":
            q.type = self.pb.Queue.PULL if queue.pull else self.pb.Queue.PUSH
        elif queue.pull and spec.pull_field:
            getattr(q, spec.pull_field).SetInParent()
        if queue.http_target is not None and not (queue.pull and spec.target_oneof):
            self.encode_http_target(queue.http_target, q.http_target)
        if not spec.app_engine_holder:  # the override sits on Queue itself, whatever the target
            encode_routing(queue.app_engine_routing_override, q, "app_engine_routing_override")
        elif not queue.pull and queue.http_target is None:
            holder = getattr(q, spec.app_engine_holder)
            holder.SetInParent()
            encode_routing(queue.app_engine_routing_override, holder, "app_engine_routing_override")

    def encode_http_target(self, target: HttpTarget, t: HttpTargetPb) -> None:
        t.SetInParent()
        t.http_method = self.pb.HttpMethod.Value(target.http_method)
        if target.uri_override is not None:
            o, u = target.uri_override, t.uri_override
            u.SetInParent()
            if o.scheme is not None:
                u.scheme = u.Scheme.Value(o.scheme)  # type: ignore[assignment]
            if o.host is not None:
                u.host = o.host
            if o.port is not None:
                u.port = o.port
            if o.path is not None:
                u.path_override.path = o.path
            if o.query is not None:
                u.query_override.query_params = o.query
            u.uri_override_enforce_mode = u.UriOverrideEnforceMode.Value(o.enforce_mode)  # type: ignore[assignment]
        for key, value in target.header_overrides:
            header = t.header_overrides.add().header
            header.key, header.value = key, value
        encode_token(target.token, t)


def _override(holder: Any) -> Routing | None:
    if holder.HasField("app_engine_routing_override"):
        return decode_routing(holder.app_engine_routing_override)
    return None

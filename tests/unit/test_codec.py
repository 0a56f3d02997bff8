"""The per-version spec against the generated descriptors, and the codecs that read it."""

from __future__ import annotations

import pytest

from cloudtasks_emu.codec import CODECS, VERSIONS
from cloudtasks_emu.codec.spec import SPECS
from cloudtasks_emu.errors import EmuError
from cloudtasks_emu.model import HttpTarget, PullMessage, Queue, RateLimits, RetryPolicy, Task, UriOverride

OPTIONAL_QUEUE_FIELDS = set().union(*(spec.queue_fields for spec in SPECS.values()))
OPTIONAL_TASK_FIELDS = set().union(*(spec.task_fields for spec in SPECS.values()))


@pytest.mark.parametrize("version", VERSIONS)
def test_spec_names_only_fields_the_version_has(version: str) -> None:
    spec = SPECS[version]
    pb = spec.pb
    queue, task = pb.Queue.DESCRIPTOR.fields_by_name, pb.Task.DESCRIPTOR.fields_by_name
    # Each optional field is listed exactly where the version's Queue/Task has it.
    assert {f for f in OPTIONAL_QUEUE_FIELDS if f in queue} == spec.queue_fields
    assert {f for f in OPTIONAL_TASK_FIELDS if f in task} == spec.task_fields
    assert {spec.rate_field, spec.concurrency_field} <= set(pb.RateLimits.DESCRIPTOR.fields_by_name)
    request = pb.AppEngineHttpRequest.DESCRIPTOR.fields_by_name
    assert {spec.relative_field, spec.app_engine_body} <= set(request)
    assert spec.payload_oneof in pb.Task.DESCRIPTOR.oneofs_by_name
    assert ("pull_message" in task) == bool(spec.pull_payload)
    assert ("unlimited_attempts" in pb.RetryConfig.DESCRIPTOR.fields_by_name) == spec.unlimited_attempts
    assert ("read_mask" in pb.GetQueueRequest.DESCRIPTOR.fields_by_name) == spec.read_mask
    for field in (spec.pull_field, spec.app_engine_holder):
        assert not field or field in queue
    if spec.target_oneof:
        members = {f.name for f in pb.Queue.DESCRIPTOR.oneofs_by_name[spec.target_oneof].fields}
        assert {spec.pull_field, spec.app_engine_holder, "http_target"} == members


def _queue(pull: bool = False, http: bool = False) -> Queue:
    target = HttpTarget(uri_override=UriOverride(host="h.example", port=8080), http_method="PUT") if http else None
    return Queue(
        name="projects/p/locations/l/queues/q",
        pull=pull,
        http_target=target,
        rate=RateLimits(500.0, 100, -1) if pull else RateLimits(7.0, 7, 3),
        retry=RetryPolicy(max_attempts=-1, min_backoff_s=2, max_backoff_s=60, max_doublings=4),
        tombstone_ttl_s=7200.0,
    )


KINDS = [("app_engine", False, False), ("http", False, True), ("pull", True, False)]


@pytest.mark.parametrize(
    ("version", "pull", "http"),
    [(v, pull, http) for v in VERSIONS for _, pull, http in KINDS if SPECS[v].pull_field or not pull],
)
def test_queue_round_trips(version: str, pull: bool, http: bool) -> None:
    codec = CODECS[version].queues
    queue = _queue(pull, http)
    back = codec.decode(codec.encode(queue))
    if "tombstone_ttl" not in SPECS[version].queue_fields:
        back.tombstone_ttl_s = queue.tombstone_ttl_s  # v2 cannot say it; the model default stands
    assert back == queue


@pytest.mark.parametrize(("version", "kept"), [("v2", 7), ("v2beta3", 42), ("v2beta2", 42)])
def test_max_burst_size_is_output_only_in_v2(version: str, kept: int) -> None:
    codec = CODECS[version]
    message = codec.queues.encode(_queue())
    message.rate_limits.max_burst_size = 42
    assert codec.queues.decode(message).rate.max_burst_size == kept


def test_pull_message_can_be_created_only_in_v2beta2() -> None:
    name = "projects/p/locations/l/queues/q/tasks/t"
    b2, b3 = CODECS["v2beta2"], CODECS["v2beta3"]
    made = b2.tasks.decode(b2.pb.Task(name=name, pull_message=b2.pb.PullMessage(payload=b"x", tag="red")))
    assert made.payload == PullMessage(b"x", "red")
    with pytest.raises(EmuError, match="pullMessage cannot be set"):
        b3.tasks.decode(b3.pb.Task(name=name, pull_message=b3.pb.PullMessage(payload=b"x")))
    task = Task(name=name, payload=PullMessage(b"x", "red"), schedule_us=0, create_us=0)
    assert b3.tasks.encode(task, b3.pb.Task.FULL).pull_message.payload == b"x"  # readable in v2beta3
    assert CODECS["v2"].tasks.encode(task, 2).WhichOneof("message_type") is None  # v2 has no pull payload

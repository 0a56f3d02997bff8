"""The proto-level face of the service: one method per RPC, a version's request proto in, its response out.

gRPC servicers and the REST gateway both call these. Behaviour lives in TasksService (the only
thing called here), proto <-> model in the codec package.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from typing import Any

from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2, field_mask_pb2

from . import names
from .codec import Codec
from .codec.messages import (
    AcknowledgeTaskRequestPb,
    BatchCreateTasksRequestPb,
    BatchDeleteTasksRequestPb,
    CancelLeaseRequestPb,
    CreateQueueRequestPb,
    CreateTaskRequestPb,
    DeleteQueueRequestPb,
    DeleteTaskRequestPb,
    GetCmekConfigRequestPb,
    GetQueueRequestPb,
    GetTaskRequestPb,
    LeaseTasksRequestPb,
    ListQueuesRequestPb,
    ListTasksRequestPb,
    PauseQueueRequestPb,
    PurgeQueueRequestPb,
    QueuePb,
    RenewLeaseRequestPb,
    ResumeQueueRequestPb,
    RunTaskRequestPb,
    TaskPb,
    UpdateCmekConfigRequestPb,
    UpdateQueueRequestPb,
    UploadQueueYamlRequestPb,
)
from .config import (
    MAX_BATCH_CREATE,
    MAX_BATCH_DELETE,
    MAX_LEASE_RESPONSE_BYTES,
    MAX_LIST_QUEUES_PAGE,
    MAX_LIST_TASKS_PAGE,
)
from .errors import Code, EmuError, invalid
from .mixins import Operations
from .model import Queue, Task
from .queue_config import load_yaml, queue_yaml_queues
from .service import TasksService
from .transports.status import status_of
from .urls import override_url

EMPTY_POLICY_ETAG = b"ACAB"
_KMS_KEY = re.compile(r"projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+")


class CloudTasksApi:
    """The CloudTasks service of one API version."""

    def __init__(self, codec: Codec, service: TasksService, operations: Operations) -> None:
        self.codec = codec
        self.spec = codec.spec
        self.pb = codec.pb
        self.service = service
        self.operations = operations

    # queues
    def _encode_queue(self, queue: Queue, read_mask: field_mask_pb2.FieldMask | None = None) -> QueuePb:
        paths = list(read_mask.paths) if read_mask is not None else []
        stats = self.service.queue_stats(queue) if "stats" in paths else None
        full = self.codec.queues.encode(queue, stats)
        if read_mask is None or not paths:
            return full
        _check_mask(read_mask, full)
        trimmed: QueuePb = self.pb.Queue(name=full.name)
        read_mask.MergeMessage(full, trimmed)
        return trimmed

    def _read_mask(self, request: Any) -> field_mask_pb2.FieldMask | None:
        return request.read_mask if self.spec.read_mask and request.HasField("read_mask") else None

    def list_queues(self, request: ListQueuesRequestPb) -> Any:
        page = self.service.list_queues(
            request.parent, request.filter, request.page_size, request.page_token, MAX_LIST_QUEUES_PAGE
        )
        mask = self._read_mask(request)
        return self.pb.ListQueuesResponse(
            queues=[self._encode_queue(q, mask) for q in page.items], next_page_token=page.next_token
        )

    def get_queue(self, request: GetQueueRequestPb) -> QueuePb:
        return self._encode_queue(self.service.require_queue(request.name), self._read_mask(request))

    def create_queue(self, request: CreateQueueRequestPb) -> QueuePb:
        names.parse_location(request.parent)
        queue = self.codec.queues.decode(request.queue)
        return self.codec.queues.encode(self.service.create_queue(request.parent, queue))

    def update_queue(self, request: UpdateQueueRequestPb) -> QueuePb:
        """Merge the masked fields into the stored queue (or create it), as the cloud's upsert does."""
        name = request.queue.name
        names.parse_queue(name)
        existing = self.service.find_queue(name)
        if existing is None:
            merged = request.queue
        else:
            merged = self.codec.queues.encode(existing)
            mask = request.update_mask
            if mask.paths:
                _check_mask(mask, merged)
                mask.MergeMessage(request.queue, merged, replace_message_field=True, replace_repeated_field=True)
            else:
                merged = request.queue
        queue = self.codec.queues.decode(merged)
        if existing is None:
            names.parse_location(names.location_of(name))
        return self.codec.queues.encode(self.service.update_queue(queue))

    def queue_url(self, name: str) -> str | None:
        """Where the queue's http_target.uri_override sends a task that names no URL; None without a host."""
        target = self.service.require_queue(name).http_target
        return override_url(target.uri_override) if target is not None and target.uri_override else None

    def delete_queue(self, request: DeleteQueueRequestPb) -> empty_pb2.Empty:
        self.service.delete_queue(request.name)
        return empty_pb2.Empty()

    def purge_queue(self, request: PurgeQueueRequestPb) -> QueuePb:
        return self.codec.queues.encode(self.service.purge_queue(request.name))

    def pause_queue(self, request: PauseQueueRequestPb) -> QueuePb:
        return self.codec.queues.encode(self.service.pause_queue(request.name))

    def resume_queue(self, request: ResumeQueueRequestPb) -> QueuePb:
        return self.codec.queues.encode(self.service.resume_queue(request.name))

    def upload_queue_yaml(self, request: UploadQueueYamlRequestPb) -> empty_pb2.Empty:
        """v2beta2: create and update the app's queues from a queue.yaml; the rest become DISABLED."""
        app_id = request.app_id.split("~", 1)[-1]  # "s~my-app" names the project my-app
        if not app_id:
            raise invalid("UploadQueueYamlRequest.appId is required.")
        document = load_yaml(request.http_body.data, "The queue.yaml body")
        parent = f"projects/{app_id}/locations/{self.service.settings.location}"
        names.parse_location(parent)
        self.service.declare_queues(parent, queue_yaml_queues(document, app_id, self.service.settings.location))
        return empty_pb2.Empty()

    # IAM
    def get_iam_policy(self, request: iam_policy_pb2.GetIamPolicyRequest) -> policy_pb2.Policy:
        queue = self.service.require_queue(request.resource)
        policy = policy_pb2.Policy.FromString(queue.iam_policy)
        if not policy.etag:
            policy.etag = EMPTY_POLICY_ETAG
        return policy

    def set_iam_policy(self, request: iam_policy_pb2.SetIamPolicyRequest) -> policy_pb2.Policy:
        current = self.get_iam_policy(iam_policy_pb2.GetIamPolicyRequest(resource=request.resource))
        if request.policy.etag and request.policy.etag != current.etag:
            raise EmuError(
                Code.ABORTED,
                "There were concurrent policy changes. "
                "Please retry the whole read-modify-write with exponential backoff.",
            )
        paths = list(request.update_mask.paths) or ["bindings", "etag"]
        policy = policy_pb2.Policy()
        policy.CopyFrom(current)
        for path in paths:
            if path not in ("bindings", "etag", "audit_configs", "version"):
                raise invalid(f"Invalid update_mask path {path!r}.")
            if path != "etag":
                policy.ClearField(path)
                field = getattr(request.policy, path)
                if path == "version":
                    policy.version = field
                else:
                    getattr(policy, path).extend(field)
        policy.etag = b""
        policy.etag = hashlib.sha256(policy.SerializeToString(deterministic=True) + uuid.uuid4().bytes).digest()[:8]
        self.service.set_iam_policy(request.resource, policy.SerializeToString())
        return policy

    def test_iam_permissions(
        self, request: iam_policy_pb2.TestIamPermissionsRequest
    ) -> iam_policy_pb2.TestIamPermissionsResponse:
        names.parse_queue(request.resource)
        if self.service.find_queue(request.resource) is None:
            return iam_policy_pb2.TestIamPermissionsResponse()
        return iam_policy_pb2.TestIamPermissionsResponse(permissions=request.permissions)

    # tasks
    def list_tasks(self, request: ListTasksRequestPb) -> Any:
        page = self.service.list_tasks(request.parent, request.page_size, request.page_token, MAX_LIST_TASKS_PAGE)
        view = request.response_view
        queue = self.service.find_queue(request.parent)  # one lookup for the page, not one per task
        return self.pb.ListTasksResponse(
            tasks=[self.codec.tasks.encode(t, view, queue) for t in page.items],
            next_page_token=page.next_token,
        )

    def get_task(self, request: GetTaskRequestPb) -> TaskPb:
        task = self.service.get_task(request.name)
        return self._encode_task(task, request.response_view)

    def _encode_task(self, task: Task, view: int) -> TaskPb:
        return self.codec.tasks.encode(task, view, self.service.find_queue(names.parse_task(task.name).queue))

    def create_task(self, request: CreateTaskRequestPb) -> TaskPb:
        names.parse_queue(request.parent)
        task = self.codec.tasks.decode(request.task)
        created, queue = self.service.create_task(request.parent, task, self.spec.payload_must_match_queue)
        return self.codec.tasks.encode(created, request.response_view, queue)

    def delete_task(self, request: DeleteTaskRequestPb) -> empty_pb2.Empty:
        self.service.delete_task(request.name)
        return empty_pb2.Empty()

    # pull queues (v2beta2)
    def lease_tasks(self, request: LeaseTasksRequestPb) -> Any:
        names.parse_queue(request.parent)
        full = request.response_view == self.pb.Task.FULL

        def size(task: Task) -> int:  # a close upper bound of the task's encoded size
            payload = task.payload
            body = len(getattr(payload, "payload", b"")) if full else 0
            return len(task.name) + len(getattr(payload, "tag", "")) + body + 128

        leased = self.service.lease_tasks(
            request.parent,
            request.max_tasks,
            _seconds(request, "lease_duration"),
            request.filter,
            MAX_LEASE_RESPONSE_BYTES,
            size,
        )
        queue = self.service.find_queue(request.parent)
        return self.pb.LeaseTasksResponse(
            tasks=[self.codec.tasks.encode(t, request.response_view, queue) for t in leased]
        )

    def acknowledge_task(self, request: AcknowledgeTaskRequestPb) -> empty_pb2.Empty:
        self.service.acknowledge_task(request.name, _schedule_us(request))
        return empty_pb2.Empty()

    def renew_lease(self, request: RenewLeaseRequestPb) -> TaskPb:
        task = self.service.renew_lease(request.name, _schedule_us(request), _seconds(request, "lease_duration"))
        return self._encode_task(task, request.response_view)

    def cancel_lease(self, request: CancelLeaseRequestPb) -> TaskPb:
        task = self.service.cancel_lease(request.name, _schedule_us(request))
        return self._encode_task(task, request.response_view)

    def run_task(self, request: RunTaskRequestPb) -> TaskPb:
        return self._encode_task(self.service.run_task(request.name), request.response_view)

    def batch_create_tasks(self, request: BatchCreateTasksRequestPb) -> operations_pb2.Operation:
        response = self.pb.BatchCreateTasksResponse()

        def create(item: Any) -> None:
            if item.parent and item.parent != request.parent:
                raise invalid(
                    f"CreateTaskRequest.parent ('{item.parent}') must be the batch's parent ('{request.parent}')."
                )
            item.parent = request.parent
            response.tasks.append(self.create_task(item))

        label = "BatchCreateTasksRequest.requests"
        return self._batch(request, request.requests, MAX_BATCH_CREATE, label, create, response)

    def batch_delete_tasks(self, request: BatchDeleteTasksRequestPb) -> operations_pb2.Operation:
        def delete(name: str) -> None:
            if names.parse_task(name).queue != request.parent:
                raise invalid(f"Task {name} is not in queue {request.parent}.")
            self.service.delete_task(name)

        label = "BatchDeleteTasksRequest.names"
        return self._batch(request, request.names, MAX_BATCH_DELETE, label, delete, empty_pb2.Empty())

    def _batch(
        self, request: Any, items: Any, limit: int, label: str, run_one: Callable[[Any], None], response: Any
    ) -> operations_pb2.Operation:
        """Run a Batch RPC item by item (non-atomic, as in the cloud) into a finished operation."""
        self.service.require_queue(request.parent)
        if len(items) > limit:
            raise invalid(f"{label} must have at most {limit} entries.")
        key = self._request_key(request)
        op, created = self.operations.new(names.location_of(request.parent), key)
        if not created:
            return op
        kind = type(request).__name__.replace("Request", "Metadata")
        metadata = getattr(self.pb, kind)()
        metadata.start_time.FromMicroseconds(self.service.now_us())
        for index, item in enumerate(items):
            try:
                run_one(item)
            except EmuError as error:
                # The map's Status is our pool's class, not googleapis-common-protos': copy its wire form.
                metadata.failed_requests[index].ParseFromString(status_of(error).SerializeToString())
        self._finish(op, metadata, response, len(items), kind)
        self.operations.save(op, key)
        return op

    def _request_key(self, request: Any) -> str:
        """Idempotency key of a Batch request; its operation's payload types belong to one version."""
        if not request.request_id:
            return ""
        return f"{self.codec.version}:{type(request).__name__}:{request.request_id}"

    def _finish(self, op: operations_pb2.Operation, metadata: Any, response: Any, total: int, kind: str) -> None:
        """Fill a Batch operation: state from the failures, an ABORTED error when none succeeded."""
        failed = len(metadata.failed_requests)
        states = metadata.State
        if not failed:
            metadata.state = states.SUCCEEDED
        elif failed < total:
            metadata.state = states.PARTIALLY_SUCCEEDED
        else:
            metadata.state = states.FAILED
        metadata.end_time.FromMicroseconds(self.service.now_us())
        op.metadata.Pack(metadata)
        if failed and failed == total:
            op.error.code = Code.ABORTED.grpc_code
            op.error.message = (
                f"None of the requests succeeded, refer to {kind}.failed_requests for individual error details"
            )
        else:
            op.response.Pack(response)

    # CMEK
    def get_cmek_config(self, request: GetCmekConfigRequestPb) -> Any:
        location = _cmek_location(request.name)
        return self.pb.CmekConfig(name=request.name, kms_key=self.service.cmek_key(location))

    def update_cmek_config(self, request: UpdateCmekConfigRequestPb) -> Any:
        config = request.cmek_config
        location = _cmek_location(config.name)
        paths = list(request.update_mask.paths) or ["kms_key"]
        if set(paths) - {"kms_key"}:
            raise invalid("UpdateCmekConfigRequest.updateMask may only name kms_key.")
        key = config.kms_key
        if key and not _KMS_KEY.fullmatch(key):
            raise invalid(
                "CmekConfig.kmsKey must be formatted: "
                '"projects/<PROJECT_ID>/locations/<LOCATION_ID>/keyRings/<KEY_RING>/cryptoKeys/<KEY>".'
            )
        self.service.set_cmek_key(location, key)
        return self.pb.CmekConfig(name=config.name, kms_key=key)


def _seconds(request: Any, field: str) -> float:
    if not request.HasField(field):
        return 0.0
    return float(getattr(request, field).ToNanoseconds() / 1e9)


def _schedule_us(request: Any) -> int:
    """The schedule_time that proves a lease; required."""
    if not request.HasField("schedule_time"):
        raise invalid(f"{type(request).__name__}.scheduleTime is required.")
    return int(request.schedule_time.ToMicroseconds())


def _cmek_location(name: str) -> str:
    location, _, suffix = name.rpartition("/")
    if suffix != "cmekConfig":
        raise invalid('CmekConfig name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/cmekConfig".')
    names.parse_location(location)
    return location


def _check_mask(mask: field_mask_pb2.FieldMask, message: Any) -> None:
    if not mask.IsValidForDescriptor(message.DESCRIPTOR):
        raise invalid(f"Invalid field mask: {', '.join(mask.paths)}.")

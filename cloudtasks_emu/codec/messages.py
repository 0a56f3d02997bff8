"""Each message as the union of its versions' generated classes, so mypy checks an access against all."""

from __future__ import annotations

from .._pb.v2 import cloudtasks_pb2 as v2
from .._pb.v2beta2 import cloudtasks_pb2 as v2beta2
from .._pb.v2beta3 import cloudtasks_pb2 as v2beta3

QueuePb = v2.Queue | v2beta3.Queue | v2beta2.Queue
RateLimitsPb = v2.RateLimits | v2beta3.RateLimits | v2beta2.RateLimits
RetryConfigPb = v2.RetryConfig | v2beta3.RetryConfig | v2beta2.RetryConfig
HttpTargetPb = v2.HttpTarget | v2beta3.HttpTarget | v2beta2.HttpTarget
TaskPb = v2.Task | v2beta3.Task | v2beta2.Task
HttpRequestPb = v2.HttpRequest | v2beta3.HttpRequest | v2beta2.HttpRequest
AppEngineRequestPb = v2.AppEngineHttpRequest | v2beta3.AppEngineHttpRequest | v2beta2.AppEngineHttpRequest
RoutingPb = v2.AppEngineRouting | v2beta3.AppEngineRouting | v2beta2.AppEngineRouting
ListQueuesRequestPb = v2.ListQueuesRequest | v2beta3.ListQueuesRequest | v2beta2.ListQueuesRequest
GetQueueRequestPb = v2.GetQueueRequest | v2beta3.GetQueueRequest | v2beta2.GetQueueRequest
CreateQueueRequestPb = v2.CreateQueueRequest | v2beta3.CreateQueueRequest | v2beta2.CreateQueueRequest
UpdateQueueRequestPb = v2.UpdateQueueRequest | v2beta3.UpdateQueueRequest | v2beta2.UpdateQueueRequest
DeleteQueueRequestPb = v2.DeleteQueueRequest | v2beta3.DeleteQueueRequest | v2beta2.DeleteQueueRequest
PurgeQueueRequestPb = v2.PurgeQueueRequest | v2beta3.PurgeQueueRequest | v2beta2.PurgeQueueRequest
PauseQueueRequestPb = v2.PauseQueueRequest | v2beta3.PauseQueueRequest | v2beta2.PauseQueueRequest
ResumeQueueRequestPb = v2.ResumeQueueRequest | v2beta3.ResumeQueueRequest | v2beta2.ResumeQueueRequest
ListTasksRequestPb = v2.ListTasksRequest | v2beta3.ListTasksRequest | v2beta2.ListTasksRequest
GetTaskRequestPb = v2.GetTaskRequest | v2beta3.GetTaskRequest | v2beta2.GetTaskRequest
CreateTaskRequestPb = v2.CreateTaskRequest | v2beta3.CreateTaskRequest | v2beta2.CreateTaskRequest
DeleteTaskRequestPb = v2.DeleteTaskRequest | v2beta3.DeleteTaskRequest | v2beta2.DeleteTaskRequest
RunTaskRequestPb = v2.RunTaskRequest | v2beta3.RunTaskRequest | v2beta2.RunTaskRequest
# Only v2 and v2beta3.
BatchCreateTasksRequestPb = v2.BatchCreateTasksRequest | v2beta3.BatchCreateTasksRequest
BatchDeleteTasksRequestPb = v2.BatchDeleteTasksRequest | v2beta3.BatchDeleteTasksRequest
GetCmekConfigRequestPb = v2.GetCmekConfigRequest | v2beta3.GetCmekConfigRequest
UpdateCmekConfigRequestPb = v2.UpdateCmekConfigRequest | v2beta3.UpdateCmekConfigRequest
# Only v2beta2.
UploadQueueYamlRequestPb = v2beta2.UploadQueueYamlRequest
LeaseTasksRequestPb = v2beta2.LeaseTasksRequest
AcknowledgeTaskRequestPb = v2beta2.AcknowledgeTaskRequest
RenewLeaseRequestPb = v2beta2.RenewLeaseRequest
CancelLeaseRequestPb = v2beta2.CancelLeaseRequest

"""REST/JSON gateway: the google.api.http rules of the three versions, mapped onto the same API calls.

One table of routes is compiled once from the http options in our descriptors, plus the rules the
descriptors lack (the mixins', from the service configs, and the REST-only BufferTask). One catch-all
handler matches a request against it, transcodes path, query and body into the request proto, makes
the same call the gRPC servicer makes, and renders the answer or the Google JSON error.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web
from google.api import annotations_pb2, http_pb2, httpbody_pb2
from google.cloud.location import locations_pb2
from google.longrunning import operations_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import Message

from .. import pool
from ..errors import Code, EmuError, invalid
from ..faults import Faults
from .edge import Apis, Call, error_response, invoke
from .grpc_server import snake
from .guard import json_object, parse_json, require_json

if TYPE_CHECKING:
    from multidict import MultiMapping

    from ..proto_api import CloudTasksApi

logger = logging.getLogger(__name__)

Reply = Callable[[dict[str, Any]], dict[str, Any]]

# Standard query parameters of Google APIs that select formats or carry credentials: accepted, ignored.
_SYSTEM_PARAMS = frozenset(
    {"alt", "prettyPrint", "fields", "key", "access_token", "oauth_token", "quotaUser", "userIp", "callback"}
    | {"uploadType", "upload_protocol"}
)
_VARIABLE = re.compile(r"\{([\w.]+)(?:=([^}]*))?\}")
_HTTP_BODY = httpbody_pb2.HttpBody.DESCRIPTOR.full_name


def _buffer_request_type() -> type[Message]:
    """BufferTaskRequest {queue = 1, task_id = 2, body = 3}: REST-only since it left the protos in 2024."""
    file = descriptor_pb2.FileDescriptorProto(
        name="cloudtasks_emu/rest/buffer.proto",
        package="cloudtasks_emu.rest",
        syntax="proto3",
        dependency=[httpbody_pb2.DESCRIPTOR.name],
    )
    message = file.message_type.add(name="BufferTaskRequest")
    field = descriptor_pb2.FieldDescriptorProto
    message.field.add(name="queue", number=1, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    message.field.add(name="task_id", number=2, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    message.field.add(
        name="body", number=3, type=field.TYPE_MESSAGE, type_name=f".{_HTTP_BODY}", label=field.LABEL_OPTIONAL
    )
    pool = descriptor_pool.Default()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("cloudtasks_emu.rest.BufferTaskRequest"))


BufferTaskRequest = _buffer_request_type()

# Rules the descriptors lack, with {v} for the version: the mixins' live in the service configs.
_QUEUE = "{queue=projects/*/locations/*/queues/*}"
_EXTRA_RULES = {
    "ListLocations": http_pb2.HttpRule(get="/{v}/{name=projects/*}/locations"),
    "GetLocation": http_pb2.HttpRule(get="/{v}/{name=projects/*/locations/*}"),
    "GetOperation": http_pb2.HttpRule(get="/{v}/{name=projects/*/locations/*/operations/*}"),
    "BufferTask": http_pb2.HttpRule(
        post=f"/{{v}}/{_QUEUE}/tasks/{{task_id}}:buffer",
        body="body",
        # The documented auto-ID form, and gcloud's: its default task id is empty (`tasks/:buffer`).
        additional_bindings=[
            http_pb2.HttpRule(post=f"/{{v}}/{_QUEUE}/tasks:buffer", body="body"),
            http_pb2.HttpRule(post=f"/{{v}}/{_QUEUE}/tasks/:buffer", body="body"),
        ],
    ),
}


def _same(payload: dict[str, Any]) -> dict[str, Any]:
    return payload


@dataclass(frozen=True, slots=True)
class Route:
    """One HTTP binding of one RPC."""

    rpc: str
    verb: str
    pattern: re.Pattern[str]
    fields: tuple[str, ...]  # the request field each group of `pattern` fills
    body: str  # "" (none), "*" (the whole request) or the one field the body fills
    request_type: type[Message]
    call: Call | None  # None: not implemented
    reply: Reply = _same


def _compile(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """`/v2/{name=projects/*/locations/*/queues/*}:purge` -> (regex with one group per variable, fields)."""
    regex, fields, position = "", [], 0
    for match in _VARIABLE.finditer(template):
        regex += re.escape(template[position : match.start()])
        position = match.end()
        # A `:verb` can follow only the last segment, and only there an ID must stop at a colon.
        last = "[^/]+" if template.startswith("/", position) else "[^/:]+"
        segments = (match.group(2) or "*").split("/")
        parts = ["[^/]+" if s == "*" else re.escape(s) for s in segments[:-1]]
        parts.append(last if segments[-1] == "*" else re.escape(segments[-1]))
        regex += "(" + "/".join(parts) + ")"
        fields.append(match.group(1))
    regex += re.escape(template[position:])
    return re.compile(regex), tuple(fields)


def _bindings(rule: http_pb2.HttpRule, version: str) -> Iterator[tuple[str, str, str]]:
    """(verb, template, body) of a rule and its additional bindings."""
    for binding in (rule, *rule.additional_bindings):
        kind = binding.WhichOneof("pattern")  # our rules use the five verbs, never `custom`
        yield kind.upper(), getattr(binding, kind).replace("{v}", version), binding.body


def _routes_of(
    rpc: str,
    rule: http_pb2.HttpRule,
    version: str,
    request_type: type[Message],
    call: Call | None,
    reply: Reply = _same,
) -> list[Route]:
    routes = []
    for verb, template, body in _bindings(rule, version):
        pattern, fields = _compile(template)
        routes.append(Route(rpc, verb, pattern, fields, body, request_type, call, reply))
    return routes


def build_routes(apis: Apis) -> list[Route]:
    """Every binding of every RPC of the three versions, Locations/Operations and BufferTask included."""
    routes: list[Route] = []
    for version, api in apis.versions.items():
        for method in api.pb.DESCRIPTOR.services_by_name["CloudTasks"].methods:
            rule = method.GetOptions().Extensions[annotations_pb2.http]
            request_type = pool.message_class(method.input_type)
            call = getattr(api, snake(method.name), None)
            routes += _routes_of(method.name, rule, version, request_type, call)
        extras: dict[str, tuple[type[Message], Call, Reply]] = {
            "ListLocations": (locations_pb2.ListLocationsRequest, apis.locations.list_locations, _same),
            "GetLocation": (locations_pb2.GetLocationRequest, apis.locations.get_location, _same),
            "BufferTask": (BufferTaskRequest, functools.partial(_buffer_task, api), lambda task: {"task": task}),
        }
        if api.spec.operations:
            extras["GetOperation"] = (operations_pb2.GetOperationRequest, apis.operations.get_operation, _same)
        for rpc, (request_type, call, reply) in extras.items():
            routes += _routes_of(rpc, _EXTRA_RULES[rpc], version, request_type, call, reply)
    return routes + _firebase_routes(apis.versions["v2"])


def _firebase_routes(api: CloudTasksApi) -> list[Route]:
    """v2 CreateTask and DeleteTask without the version prefix, as the Firebase Admin SDKs call an emulator.

    They expect the Firebase emulator's answer to a create: the task wrapped in {"task"}, its name
    with a leading slash.
    """
    service = api.pb.DESCRIPTOR.services_by_name["CloudTasks"]
    calls: dict[str, tuple[Call, Reply]] = {
        "CreateTask": (functools.partial(_firebase_create, api), lambda t: {"task": {**t, "name": f"/{t['name']}"}}),
        "DeleteTask": (api.delete_task, _same),
    }
    routes = []
    for rpc, (call, reply) in calls.items():
        method = service.methods_by_name[rpc]
        rule = http_pb2.HttpRule()
        rule.CopyFrom(method.GetOptions().Extensions[annotations_pb2.http])
        kind = rule.WhichOneof("pattern")
        setattr(rule, kind, getattr(rule, kind).removeprefix("/v2"))
        routes += _routes_of(rpc, rule, "v2", pool.message_class(method.input_type), call, reply)
    return routes


def _queue_url(api: CloudTasksApi, queue: Any, needed_by: str) -> str:
    """The URL a queue's http_target.uri_override addresses, for tasks that bring none of their own."""
    url = api.queue_url(queue.name)
    if url is None:
        raise EmuError(
            Code.FAILED_PRECONDITION,
            f"Queue {queue.name} has no httpTarget.uriOverride with a host, which {needed_by} needs for its URL.",
        )
    return url


def _buffer_task(api: CloudTasksApi, request: Any) -> Any:
    """BufferTask: an HTTP task of the raw body, sent where the queue's uri_override says, as CreateTask makes it."""
    queue = api.get_queue(api.pb.GetQueueRequest(name=request.queue))
    http_request = api.pb.HttpRequest(
        url=_queue_url(api, queue, "BufferTask"),
        http_method=queue.http_target.http_method or api.pb.POST,
        body=request.body.data,
    )
    if request.body.content_type:
        http_request.headers["Content-Type"] = request.body.content_type
    task = api.pb.Task(http_request=http_request)
    if request.task_id:
        task.name = f"{request.queue}/tasks/{request.task_id}"
    return api.create_task(api.pb.CreateTaskRequest(parent=request.queue, task=task))


def _firebase_create(api: CloudTasksApi, request: Any) -> Any:
    """Firebase's enqueue sends url "" when TaskOptions.uri is not given: take the queue's uri_override."""
    task = request.task
    if task.HasField("http_request") and not task.http_request.url:
        queue = api.get_queue(api.pb.GetQueueRequest(name=request.parent))
        task.http_request.url = _queue_url(api, queue, "a Firebase task enqueued without TaskOptions.uri")
    return api.create_task(request)


def _match(routes: list[Route], verb: str, path: str) -> tuple[Route, list[str]]:
    for route in routes:
        if route.verb == verb and (match := route.pattern.fullmatch(path)):
            return route, [unquote(value) for value in match.groups()]
    raise EmuError(Code.NOT_FOUND, f"The requested URL {verb} {unquote(path)} was not found on this server.")


def _query(query: MultiMapping[str]) -> dict[str, Any]:
    """Query parameters as request JSON: dotted names nest, repeated names gather, system parameters go."""
    out: dict[str, Any] = {}
    for key, value in query.items():
        if key.startswith("$") or key in _SYSTEM_PARAMS or not value:
            continue
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise invalid(f'Invalid query parameter "{key}".')
        if leaf in node:
            previous = node[leaf]
            node[leaf] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            node[leaf] = value
    return out


def _set_path_field(message: Message, field: str, value: str) -> None:
    *parents, leaf = field.split(".")
    for part in parents:
        message = getattr(message, part)
    setattr(message, leaf, value)


async def _read_body(request: web.Request) -> bytes:
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge as error:
        raise invalid(f"Request payload size exceeds the limit: {error.text}") from error


async def _transcode(route: Route, values: list[str], request: web.Request) -> Message:
    """The request proto of a call: body first, then the query, then the path, which wins."""
    message = route.request_type()
    target = (message if route.body == "*" else getattr(message, route.body)) if route.body else None
    raw_body = target is not None and target.DESCRIPTOR.full_name == _HTTP_BODY
    if not raw_body:  # BufferTask and UploadQueueYaml take any content type, as in the cloud
        require_json(request)
    try:
        if target is not None:
            raw = await _read_body(request)
            if raw_body:
                _fill_http_body(target, raw, request.headers.get("Content-Type", ""))
            elif raw.strip():
                json_format.ParseDict(json_object(raw), target, descriptor_pool=pool.POOL)
        json_format.ParseDict(_query(request.query), message, descriptor_pool=pool.POOL)
    except (ValueError, json_format.ParseError) as error:
        raise invalid(f"Invalid JSON payload received. {error}") from error
    for field, value in zip(route.fields, values, strict=True):
        _set_path_field(message, field, value)
    return message


def _fill_http_body(body: Any, raw: bytes, content_type: str) -> None:
    """A raw body; googleapiclient sends a str body JSON-quoted, so a JSON string stands for its text."""
    if content_type.startswith("application/json"):
        try:
            text = parse_json(raw)
        except EmuError:
            text = None
        if isinstance(text, str):
            raw = text.encode()
    body.content_type = content_type
    body.data = raw


# Where the REST surface lives: the three versions, and the unversioned paths of the Firebase Admin
# SDK and of the b2 queue.yaml upload; the rest of the port is left to the admin API and pages.
PREFIXES = ("/v2/", "/v2beta3/", "/v2beta2/", "/projects/", "/api/")


def add_rest_routes(app: web.Application, apis: Apis, faults: Faults) -> None:
    """Mount every REST route of v2, v2beta3 and v2beta2 (and the Locations/Operations mixins)."""
    routes = build_routes(apis)

    async def gateway(request: web.Request) -> web.Response:
        int_enums = "enum-encoding=int" in request.query.get("$alt", "")
        try:
            # An escaped ':' still separates the custom verb (…/queues/q%3Apause), as clients may encode it.
            raw_path = request.rel_url.raw_path.replace("%3A", ":").replace("%3a", ":")
            route, values = _match(routes, request.method, raw_path)
            message = await _transcode(route, values, request)
            result = await invoke(route.rpc, route.call, message, faults)
        except EmuError as error:
            return error_response(error)
        # Our pool resolves the Any payloads (Batch operations' metadata and response are our types).
        payload = json_format.MessageToDict(result, use_integers_for_enums=int_enums, descriptor_pool=pool.POOL)
        return web.json_response(route.reply(payload))

    for prefix in PREFIXES:
        app.router.add_route("*", prefix + "{path:.*}", gateway)

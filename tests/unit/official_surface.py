"""Dump the official google-cloud-tasks surface (types, RPC paths) as JSON on stdout.

Run as a subprocess: the official client and cloudtasks_emu._pb register the same proto names in
protobuf's default pool, so they cannot share a process. test_protos.py also loads this file for
flatten(), so both sides are flattened by the same code; only main() imports the official client.
"""

from __future__ import annotations

import importlib
import inspect
import json
import typing
from collections.abc import Iterable
from typing import Any

import grpc
from google.protobuf import descriptor, descriptor_pb2

VERSIONS = ("v2", "v2beta3", "v2beta2")

# full type name -> str(number) -> field tuple (messages) or value name (enums); JSON-native.
Types = dict[str, dict[str, Any]]


def _oneof(m: Any, f: descriptor_pb2.FieldDescriptorProto) -> str:
    """Name of the real oneof holding f; proto3 `optional` fields sit in a synthetic one, ignored."""
    if not f.HasField("oneof_index") or f.proto3_optional:
        return ""
    return str(m.oneof_decl[f.oneof_index].name)


def flatten(pkg: str, msgs: Iterable[Any], enums: Iterable[Any], out: Types) -> None:
    """Add messages (with nested types and map entries) and enums to out, keyed by full name."""
    for m in msgs:
        full = f"{pkg}.{m.name}"
        # proto-plus renames fields such as `type` to `type_` in the descriptor itself.
        out[full] = {
            str(f.number): [
                f.name.removesuffix("_"),
                f.type,
                f.type_name,
                f.label,
                _oneof(m, f),
                f.proto3_optional,
            ]
            for f in m.field
        }
        flatten(full, m.nested_type, m.enum_type, out)
    for e in enums:
        out[f"{pkg}.{e.name}"] = {str(v.number): v.name for v in e.value}


def package_types(files: Iterable[descriptor_pb2.FileDescriptorProto], package: str) -> Types:
    """Flatten every type declared in files of the given proto package."""
    out: Types = {}
    for f in files:
        if f.package == package:
            flatten(package, f.message_type, f.enum_type, out)
    return out


def official_files(ver: str) -> list[descriptor_pb2.FileDescriptorProto]:
    """FileDescriptorProtos of every file of package google.cloud.tasks.<ver> the client loads."""
    package = f"google.cloud.tasks.{ver}"
    mod = importlib.import_module(f"google.cloud.tasks_{ver}")
    pending = [o.pb().DESCRIPTOR.file for o in vars(mod).values() if hasattr(o, "pb") and hasattr(o, "meta")]
    seen: dict[str, descriptor.FileDescriptor] = {}
    while pending:
        f = pending.pop()
        if f.name not in seen and f.package == package:
            seen[f.name] = f
            pending.extend(f.dependencies)
    protos = []
    for f in seen.values():
        fdp = descriptor_pb2.FileDescriptorProto()
        f.CopyToProto(fdp)
        protos.append(fdp)
    return protos


class RecordingChannel(grpc.Channel):
    """A channel that records the unary-unary methods requested from it and never sends anything."""

    def __init__(self) -> None:
        self.calls: dict[str, tuple[Any, Any]] = {}

    def unary_unary(
        self,
        method: str,
        request_serializer: Any = None,
        response_deserializer: Any = None,
        *a: Any,
        **kw: Any,
    ) -> Any:
        self.calls[method] = (request_serializer, response_deserializer)
        return None

    # Any streaming RPC would show up as an error here rather than being silently dropped.
    def unary_stream(self, *a: Any, **kw: Any) -> Any:
        raise NotImplementedError("unary_stream")

    def stream_unary(self, *a: Any, **kw: Any) -> Any:
        raise NotImplementedError("stream_unary")

    def stream_stream(self, *a: Any, **kw: Any) -> Any:
        raise NotImplementedError("stream_stream")

    def subscribe(self, *a: Any, **kw: Any) -> None:
        pass

    def unsubscribe(self, *a: Any, **kw: Any) -> None:
        pass

    def close(self) -> None:
        pass


def proto_name(cls: Any) -> str | None:
    """Full proto name of a proto-plus or pb2 message class, else None."""
    if hasattr(cls, "pb") and hasattr(cls, "meta"):
        return str(cls.pb().DESCRIPTOR.full_name)
    desc = getattr(cls, "DESCRIPTOR", None)
    return str(desc.full_name) if isinstance(desc, descriptor.Descriptor) else None


def official_methods(ver: str) -> dict[str, list[str | None]]:
    """Method path -> [request type, response type] for every stub of the gRPC transport."""
    mod = importlib.import_module(f"google.cloud.tasks_{ver}.services.cloud_tasks.transports.grpc")
    channel = RecordingChannel()
    transport = mod.CloudTasksGrpcTransport(channel=channel)
    hints: dict[str, tuple[Any, ...]] = {}
    for name, value in inspect.getmembers(type(transport)):
        if isinstance(value, property) and value.fget and not name.startswith("_"):
            getattr(transport, name)
            hints[name] = typing.get_args(inspect.signature(value.fget).return_annotation)
    # Stubs are wrapped by grpc.intercept_channel, which only reaches our channel through the thunk.
    keys = {}
    for key, stub in transport._stubs.items():
        stub._thunk(stub._method)
        keys[stub._method] = key
    out: dict[str, list[str | None]] = {}
    for path, (req, resp) in channel.calls.items():
        # pb2 SerializeToString is unbound and names no class: fall back to the property's annotation.
        (hint_req,), hint_resp = hints[keys[path]]
        out[path] = [
            proto_name(getattr(req, "__self__", None)) or proto_name(hint_req),
            proto_name(getattr(resp, "__self__", None)) or proto_name(hint_resp),
        ]
    return out


def main() -> None:
    """Print {version: {"types", "methods", "mixins"}} as JSON."""
    out: dict[str, Any] = {}
    for ver in VERSIONS:
        methods = official_methods(ver)
        out[ver] = {
            "types": package_types(official_files(ver), f"google.cloud.tasks.{ver}"),
            "methods": methods,
            "mixins": sorted(p for p in methods if not p.startswith(f"/google.cloud.tasks.{ver}.")),
        }
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()

"""Our protos in a descriptor pool of our own, so they never meet the official client's.

google-cloud-tasks registers google.cloud.tasks.* in protobuf's default pool; so would ordinary
generated code, and one process could not hold both. scripts/gen-protos ships the compiled
FileDescriptorSet of our protos (package data) instead, and the cloudtasks_emu._pb modules build
their message classes from it here, at import, in POOL. This also works with every protobuf runtime
in our range: no generated code checks the runtime's version.

The dependencies (google/api, google/rpc, google/iam, google/longrunning, google/protobuf, ...) are
copied into POOL from the default pool, where googleapis-common-protos and grpc-google-iam-v1 put
them. Their classes in POOL are not theirs in the default pool: a message of one never goes into a
field of the other (CopyFrom and friends raise TypeError); `message_class` picks the right one.
"""

from __future__ import annotations

import importlib
from importlib import resources
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FileDescriptor
from google.protobuf.internal import enum_type_wrapper
from google.protobuf.message import Message

DESCRIPTORS = "descriptors.binpb"  # in cloudtasks_emu._pb, written by scripts/gen-protos
OWN_PACKAGE = "google.cloud.tasks."

POOL = descriptor_pool.DescriptorPool()
_DEFAULT = descriptor_pool.Default()


def _module_of(proto: str) -> str:
    """google/rpc/status.proto -> google.rpc.status_pb2, the module that registers it by default."""
    return proto.removesuffix(".proto").replace("/", ".") + "_pb2"


def adopt(name: str) -> FileDescriptor:
    """The file `name` in POOL: copied, with its imports, from the default pool where its module puts it."""
    try:
        return POOL.FindFileByName(name)
    except KeyError:
        pass
    try:
        found = _DEFAULT.FindFileByName(name)
    except KeyError:
        importlib.import_module(_module_of(name))
        found = _DEFAULT.FindFileByName(name)
    for dependency in found.dependencies:
        adopt(dependency.name)
    POOL.AddSerializedFile(found.serialized_pb)
    return POOL.FindFileByName(name)


def _load() -> dict[str, FileDescriptor]:
    data = resources.files("cloudtasks_emu._pb").joinpath(DESCRIPTORS).read_bytes()
    files = {}
    for proto in descriptor_pb2.FileDescriptorSet.FromString(data).file:
        for dependency in proto.dependency:
            adopt(dependency)
        POOL.Add(proto)
        files[proto.name] = POOL.FindFileByName(proto.name)
    return files


_FILES = _load()


def _nest(cls: Any, descriptor: Descriptor) -> None:
    """Nested message classes as attributes (Task.View is there anyway; HttpTarget.Header not always)."""
    for nested in descriptor.nested_types:
        nested_cls = message_factory.GetMessageClass(nested)
        if getattr(cls, nested.name, None) is not nested_cls:
            setattr(cls, nested.name, nested_cls)
        _nest(nested_cls, nested)


def build_module(name: str, namespace: dict[str, Any]) -> None:
    """Fill a _pb module's namespace as generated code would: DESCRIPTOR, messages, enums, enum values."""
    file = _FILES[name]
    namespace["DESCRIPTOR"] = file
    for enum in file.enum_types_by_name.values():
        namespace[enum.name] = enum_type_wrapper.EnumTypeWrapper(enum)
        for value in enum.values:
            namespace[value.name] = value.number
    for message in file.message_types_by_name.values():
        cls = message_factory.GetMessageClass(message)
        _nest(cls, message)
        namespace[message.name] = cls


def message_class(descriptor: Descriptor) -> type[Message]:
    """The class for messages of `descriptor` (a type in POOL) that the rest of the code expects.

    Ours for google.cloud.tasks.*; for any other type (IAM requests, Empty, Operation) the default
    pool's, which is what the code builds with googleapis-common-protos and grpc-google-iam-v1.
    """
    if descriptor.full_name.startswith(OWN_PACKAGE):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.GetMessageClass(_DEFAULT.FindMessageTypeByName(descriptor.full_name))


def serialize(message: Message) -> bytes:
    """A gRPC response serializer for a message of any pool."""
    return message.SerializeToString()

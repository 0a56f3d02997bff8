"""Point stock clients at the emulator: frameworks that build a bare `tasks_v2.CloudTasksClient()`.

`patch_clients()` changes `CloudTasksClient.__init__` of tasks_v2, tasks_v2beta3 and tasks_v2beta2
(the async clients build one of those, so they follow). A client made without a transport object and
without `client_options.api_endpoint` then talks to $CLOUD_TASKS_EMULATOR_HOST (read when the client
is made) with no credentials: over gRPC by default, over REST with `transport="rest"`, over
grpc.aio for CloudTasksAsyncClient. Clients given a transport or an endpoint are left alone.

Modules not imported yet are patched as they are imported, so installing the patch costs nothing
until a client library loads: the `.pth` hook relies on that (CLOUDTASKS_EMU_PATCH=1).
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from .clients import VERSIONS, grpc_address, http_address, transport_factory

_MODULES = {f"google.cloud.tasks_{v}.services.cloud_tasks.client": v for v in VERSIONS}
_ORIGINAL = "_cloudtasks_emu_original_init"
_state: dict[str, str | None] = {}  # "host": the address given to patch_clients, if any


def patch_clients(host: str | None = None) -> Callable[[], None]:
    """Make official clients built without a transport or endpoint use the emulator; returns an undo.

    Args:
        host: the emulator's address; by default $CLOUD_TASKS_EMULATOR_HOST when each client is made.
    """
    _state["host"] = host
    for name, version in _MODULES.items():
        if name in sys.modules:
            _patch(sys.modules[name], version)
    if not any(isinstance(finder, _PatchOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())
    return unpatch_clients


def unpatch_clients() -> None:
    """Undo patch_clients(): clients made from now on are stock again."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _PatchOnImport)]
    for name in _MODULES:
        module = sys.modules.get(name)
        cls = getattr(module, "CloudTasksClient", None)
        if cls is not None and _ORIGINAL in cls.__dict__:
            cls.__init__ = cls.__dict__[_ORIGINAL]
            delattr(cls, _ORIGINAL)


def install_from_environment() -> None:
    """The `.pth` hook: patch when CLOUDTASKS_EMU_PATCH=1; anything else leaves the interpreter as it was."""
    if os.environ.get("CLOUDTASKS_EMU_PATCH") == "1":
        patch_clients()


def _patch(module: ModuleType, version: str) -> None:
    cls = module.CloudTasksClient
    if _ORIGINAL in cls.__dict__:
        return
    original = cls.__init__
    setattr(cls, _ORIGINAL, original)

    @functools.wraps(original)
    def __init__(self: Any, *, credentials: Any = None, transport: Any = None, **kwargs: Any) -> None:
        options = kwargs.get("client_options")
        endpoint = options.get("api_endpoint") if isinstance(options, dict) else getattr(options, "api_endpoint", None)
        if endpoint or (transport is not None and not isinstance(transport, str)):
            original(self, credentials=credentials, transport=transport, **kwargs)
            return
        kind = transport or "grpc"
        host = _state.get("host")
        address = http_address(host) if kind == "rest" else grpc_address(host)
        made = transport_factory(version, kind, address)
        original(self, transport=made if takes_callable else made(), **kwargs)

    # Clients since early 2024 take a callable that builds the transport with the client's own
    # client_info; google-cloud-tasks 2.16 takes only a name or a transport object.
    takes_callable = "Callable" in str(inspect.signature(original).parameters["transport"].annotation)
    cls.__init__ = __init__


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds the client modules with the other finders and patches them once they have run."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        version = _MODULES.get(fullname)
        if version is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _PatchingLoader(spec.loader, version)
                return spec
        return None


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader, version: str) -> None:
        self._inner = inner
        self._version = version

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        _patch(module, self._version)

"""cloudtasks-emu: a local, fast, faithful emulator of Google Cloud Tasks.

Names are imported lazily so that `cloudtasks_emu.engine` can be used (and unit tested) without
loading the generated protos, which clash with the official client library in one process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Emulator
    from .clients import client
    from .config import Settings
    from .patch import patch_clients

__all__ = ["Emulator", "Settings", "__version__", "client", "patch_clients"]
# The one place for the version: pyproject.toml reads it, and so do `--version` and the start line.
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Emulator":
        from .app import Emulator

        return Emulator
    if name == "client":
        from .clients import client

        return client
    if name == "patch_clients":
        from .patch import patch_clients

        return patch_clients
    if name == "Settings":
        from .config import Settings

        return Settings
    raise AttributeError(name)

"""cloudtasks-emu: a local, fast, faithful emulator of Google Cloud Tasks."""

from .app import Emulator
from .config import Settings

__all__ = ["Emulator", "Settings"]

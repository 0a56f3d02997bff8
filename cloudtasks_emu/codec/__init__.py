"""Proto <-> model for the three API versions; the only package that knows both.

`spec` says what differs per version, `queues` and `tasks` convert by reading it, `parts` holds
the messages both share and `wellknown` the Duration/Timestamp rules.
"""

from __future__ import annotations

from .queues import QueueCodec
from .spec import SPECS, VERSIONS, VersionSpec
from .tasks import TaskCodec
from .wellknown import check_well_known


class Codec:
    """The queue and task codecs of one API version."""

    def __init__(self, spec: VersionSpec) -> None:
        self.spec = spec
        self.version = spec.version
        self.pb = spec.pb
        self.queues = QueueCodec(spec)
        self.tasks = TaskCodec(spec)


CODECS = {version: Codec(spec) for version, spec in SPECS.items()}

__all__ = ["CODECS", "VERSIONS", "Codec", "VersionSpec", "check_well_known"]

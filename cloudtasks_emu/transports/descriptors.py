"""One WARNING when the process's open descriptors near RLIMIT_NOFILE: past it every new connection,
gRPC and HTTP alike, is refused by the kernel and nothing else would say why."""

from __future__ import annotations

import asyncio
import logging
import os

from ..config import DESCRIPTORS_CHECK_S, DESCRIPTORS_REARM_SHARE, DESCRIPTORS_WARN_SHARE

try:
    import resource
except ImportError:  # Windows: no descriptor limit to watch
    resource = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

# Where the kernel lists this process's open descriptors (Linux; /dev/fd on macOS and the BSDs).
_LISTINGS = ("/proc/self/fd", "/dev/fd")


class DescriptorWatch:
    """Counts open descriptors every `check_s`; warns once per crossing of the warning share."""

    def __init__(self, check_s: float = DESCRIPTORS_CHECK_S) -> None:
        self.check_s = check_s
        self.listing = next((path for path in _LISTINGS if os.path.isdir(path)), "")
        self.warned = False

    def check(self) -> None:
        if resource is None or not self.listing:
            return
        limit, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if limit == resource.RLIM_INFINITY or limit <= 0:
            return
        try:
            count = len(os.listdir(self.listing))
        except OSError:  # listing needs a descriptor too: none left
            count = limit
        if not self.warned and count >= limit * DESCRIPTORS_WARN_SHARE:
            self.warned = True
            logger.warning(
                "%d of %d open file descriptors in use (RLIMIT_NOFILE): at the limit every new connection is "
                "refused; raise it (ulimit -n) or close idle connections",
                count,
                limit,
            )
        elif self.warned and count < limit * DESCRIPTORS_REARM_SHARE:
            self.warned = False

    async def run(self) -> None:
        while True:
            self.check()
            await asyncio.sleep(self.check_s)

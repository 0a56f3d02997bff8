"""Cloud Scheduler's own limits, once (those it shares with Cloud Tasks are config.py's, reused).

They sit here rather than in config.py only until the Scheduler API is wired in: then they move there.
"""

from __future__ import annotations

from ..config import APP_ENGINE_DEADLINE_MS, HTTP_DEADLINE_MS, MAX_HEADERS_BYTES, MAX_URL_LENGTH

MAX_RETRY_COUNT = 5
MAX_DESCRIPTION_CHARS = 500
MAX_JOB_ID_CHARS = 500
MAX_JOB_BYTES = 1024 * 1024  # the whole job, request overhead included
MAX_LIST_JOBS_PAGE = 500
# Job.attempt_deadline: the default and the allowed [low, high] in seconds, per target (Pub/Sub: ignored).
HTTP_DEADLINE_DEFAULT_S = 180.0
HTTP_DEADLINE_S = (HTTP_DEADLINE_MS[0] / 1000, HTTP_DEADLINE_MS[1] / 1000)
APP_ENGINE_DEADLINE_S = (APP_ENGINE_DEADLINE_MS[0] / 1000, APP_ENGINE_DEADLINE_MS[1] / 1000)

__all__ = [
    "APP_ENGINE_DEADLINE_S",
    "HTTP_DEADLINE_DEFAULT_S",
    "HTTP_DEADLINE_S",
    "MAX_DESCRIPTION_CHARS",
    "MAX_HEADERS_BYTES",
    "MAX_JOB_BYTES",
    "MAX_JOB_ID_CHARS",
    "MAX_LIST_JOBS_PAGE",
    "MAX_RETRY_COUNT",
    "MAX_URL_LENGTH",
]

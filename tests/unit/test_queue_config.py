"""queue.yaml and the API decide a queue's settings by the same rules."""

from __future__ import annotations

import pytest

from cloudtasks_emu.codec import CODECS
from cloudtasks_emu.errors import EmuError
from cloudtasks_emu.queue_config import queue_yaml_queues

PARENT = "projects/p/locations/l"


def _one(entry: dict[str, object]) -> object:
    [queue] = queue_yaml_queues({"queue": [{"name": "q", **entry}]}, "p", "l")
    return queue


def test_pull_queue_rate_limits_are_the_apis() -> None:
    codec = CODECS["v2beta2"]
    from_api = codec.queues.decode(codec.pb.Queue(name=f"{PARENT}/queues/q", pull_target={}))
    assert _one({"mode": "pull"}).rate == from_api.rate  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"rate": "501/s"}, "key rate must be less than or equal to 500."),
        ({"rate": "0/s"}, "key rate must be positive."),
        (
            {"retry_parameters": {"min_backoff_seconds": 5, "max_backoff_seconds": 1}},
            "key retry_parameters.min_backoff_seconds must be less than or equal to max_backoff_seconds.",
        ),
    ],
)
def test_queue_yaml_refuses_what_the_api_refuses(entry: dict[str, object], message: str) -> None:
    with pytest.raises(EmuError) as caught:
        _one(entry)
    assert caught.value.message == f"queue.yaml: queue 'q', {message}"

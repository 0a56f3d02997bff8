"""Closest queue names for a typo: compared by queue ID under one parent, by full name across parents."""

from __future__ import annotations

import logging

import pytest

from cloudtasks_emu.queue_hints import closest, unknown_queue

P = "projects/p/locations/us-central1/queues/"
KNOWN = [P + "emails", P + "exports", P + "work", "projects/other/locations/us-central1/queues/emails"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (P + "emials", [P + "emails"]),
        (P + "wrok", [P + "work"]),
        (P + "zzz", []),
        ("projects/p/locations/us-centrall/queues/work", [P + "work"]),  # a typo in the parent
    ],
)
def test_closest(name: str, expected: list[str]) -> None:
    assert closest(name, KNOWN) == expected


def test_unknown_queue_logs_one_info_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="cloudtasks_emu.queue_hints"):
        message = unknown_queue(P + "zzz", KNOWN)
    assert [r.getMessage() for r in caplog.records] == [message]
    assert "known queues: " in message
    assert unknown_queue(P + "q", []).endswith("no queues exist")

"""The attempt journal keeps the last N attempts of each queue."""

from __future__ import annotations

from cloudtasks_emu.engine.journal import Journal, JournalEntry


def entry(queue: str, n: int) -> JournalEntry:
    return JournalEntry(queue=queue, task=f"t{n}", url="u", status=200, error="", latency_s=0.0, at=float(n), attempt=1)


def test_each_queue_keeps_its_own_last_entries() -> None:
    journal = Journal(size_per_queue=3)
    for n in range(10):
        journal.record(entry("busy", n))
    journal.record(entry("quiet", 99))
    assert [e.task for e in journal.entries("busy")] == ["t7", "t8", "t9"]
    assert [e.task for e in journal.entries("quiet")] == ["t99"]
    assert [e.task for e in journal.entries()] == ["t7", "t8", "t9", "t99"]
    assert [e.task for e in journal.entries(limit=2)] == ["t9", "t99"]
    assert journal.entries(limit=0) == []
    journal.forget("busy")
    assert journal.entries("busy") == []


def test_a_zero_size_keeps_nothing() -> None:
    journal = Journal(size_per_queue=0)
    journal.record(entry("q", 1))
    assert journal.entries() == []

"""Who may reset the emulator's state."""

from __future__ import annotations

import pytest

from cloudtasks_emu.transports.admin import _is_loopback


@pytest.mark.parametrize(
    ("remote", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.5.5", True),
        ("::1", True),
        ("10.0.0.7", False),
        ("192.168.1.2", False),
        (None, False),
        ("garbage", False),
    ],
)
def test_only_loopback_counts_as_local(remote: str | None, loopback: bool) -> None:
    assert _is_loopback(remote) is loopback

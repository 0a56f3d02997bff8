"""dispatch.wire_url: what goes on the request line."""

from __future__ import annotations

import pytest

from cloudtasks_emu.dispatch import wire_url


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("http://h/a%2Fb/./c?y=%2Fz&b=1+2&c=%20&a=2&a=1&q=%zz", "/a%2Fb/./c?y=%2Fz&b=1+2&c=%20&a=2&a=1&q=%zz"),
        ("http://h/with space?q=é", "/with%20space?q=%C3%A9"),  # cannot go on a request line as they are
        ("http://h", ""),
    ],
)
def test_wire_url_keeps_what_it_can(given: str, sent: str) -> None:
    url = wire_url(given)
    assert url.raw_path_qs == (sent or "/")
    assert url.raw_host == "h"

"""listing.py: page sizes, page tokens that hold a position (and refuse another filter), ListQueues' filter."""

from __future__ import annotations

import base64

import pytest

from cloudtasks_emu.errors import EmuError
from cloudtasks_emu.listing import clamp_page_size, decode_page_token, encode_page_token, page, queue_filter
from cloudtasks_emu.model import HttpTarget, Queue, QueueState, Routing


def refused(call: object, *args: object) -> str:
    with pytest.raises(EmuError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.message


@pytest.mark.parametrize(("asked", "size"), [(0, 100), (1, 1), (100, 100), (101, 100)])
def test_page_size_defaults_to_and_is_capped_at_the_maximum(asked: int, size: int) -> None:
    assert clamp_page_size(asked, 100) == size


def test_a_negative_page_size_is_refused() -> None:
    assert refused(clamp_page_size, -1, 100) == "page_size must not be negative."


def test_pages_walk_the_items_and_the_last_page_has_no_token() -> None:
    items = [f"q{i}" for i in range(5)]
    seen, token, rounds = [], "", 0
    while rounds < 10:  # bounded: 3 pages
        rounds += 1
        after = decode_page_token(token, "")
        got = page(iter(i for i in items if i > after), 2, lambda i: i, "")
        seen += got.items
        token = got.next_token
        if not token:
            break
    assert (seen, rounds) == (items, 3)


def test_a_full_last_page_still_ends_without_a_token() -> None:
    assert page(iter(["a", "b"]), 2, lambda i: i, "").next_token == ""


def test_a_token_holds_a_position_not_an_offset() -> None:
    token = page(iter(["a", "b", "c"]), 1, lambda i: i, "").next_token
    assert decode_page_token(token, "") == "a"  # items inserted before "a" do not shift the next page
    assert decode_page_token("", "") == ""


def test_a_token_of_another_filter_is_refused() -> None:
    token = encode_page_token("a", "state: PAUSED")
    assert decode_page_token(token, "state: PAUSED") == "a"
    assert refused(decode_page_token, token, "") == "Invalid page token: the filter changed between pages."


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b'{"after": 3, "filter": "x"}').decode(),
        base64.urlsafe_b64encode(b"[" * 5000).decode(),  # nested deeper than json can go
    ],
)
def test_a_forged_token_is_invalid(token: str) -> None:
    assert refused(decode_page_token, token, "").startswith("Invalid page token")


QUEUES = {
    "app": Queue(name="a", app_engine_routing_override=Routing(service="s")),
    "http": Queue(name="h", http_target=HttpTarget()),
    "pull": Queue(name="p", pull=True, state=QueueState.PAUSED),
}


@pytest.mark.parametrize(
    ("filter_", "kept"),
    [
        ("", {"app", "http", "pull"}),
        ("state: PAUSED", {"pull"}),
        ('state = "RUNNING"', {"app", "http"}),
        ("httpTarget: *", {"http"}),
        ("app_engine_http_target: *", {"app"}),
        ("appEngineRoutingOverride: *", {"app"}),
        ("pull_target: *", {"pull"}),
        ("state: RUNNING AND http_target: *", {"http"}),
    ],
)
def test_queue_filter_keeps_the_matching_queues(filter_: str, kept: set[str]) -> None:
    keep = queue_filter(filter_)
    assert {kind for kind, queue in QUEUES.items() if keep(queue)} == kept


@pytest.mark.parametrize(
    ("filter_", "message"),
    [
        ("state PAUSED", "Invalid filter: 'state PAUSED'."),
        ("state: SLEEPING", "Invalid filter: unknown queue state 'SLEEPING'."),
        ("name: q", "Invalid filter: unsupported term 'name: q'."),
        ("http_target: yes", "Invalid filter: unsupported term 'http_target: yes'."),
    ],
)
def test_queue_filter_refuses_what_it_cannot_read(filter_: str, message: str) -> None:
    assert refused(queue_filter, filter_) == message

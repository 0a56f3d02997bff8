"""A queue's uri_override applied to task URLs, and the URL it names on its own."""

from __future__ import annotations

import pytest

from cloudtasks_emu.model import UriOverride
from cloudtasks_emu.urls import apply_uri_override, override_url

TASK_URL = "https://task.example:8443/orig?a=1"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (None, TASK_URL),
        (UriOverride(host="h.example"), "https://h.example:8443/orig?a=1"),
        (UriOverride(scheme="HTTP", port=80), "http://task.example:80/orig?a=1"),
        (UriOverride(scheme="SCHEME_UNSPECIFIED"), TASK_URL),  # unspecified means HTTPS
        (UriOverride(path="new", query="b=2"), "https://task.example:8443/new?b=2"),
        (UriOverride(host="h", path="/p", enforce_mode="ALWAYS"), "https://h:8443/p?a=1"),
        # IF_NOT_EXISTS fills only what the task URL lacks.
        (UriOverride(host="h", port=1, path="/p", query="q=1", enforce_mode="IF_NOT_EXISTS"), TASK_URL),
        (UriOverride(host="::1"), "https://[::1]:8443/orig?a=1"),
    ],
)
def test_apply_uri_override(override: UriOverride | None, expected: str) -> None:
    assert apply_uri_override(TASK_URL, override) == expected


def test_if_not_exists_fills_the_gaps() -> None:
    override = UriOverride(port=9000, path="/p", query="q=1", enforce_mode="IF_NOT_EXISTS")
    assert apply_uri_override("http://bare.example", override) == "http://bare.example:9000/p?q=1"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (UriOverride(), None),
        (UriOverride(host="h.example"), "https://h.example/"),
        (UriOverride(host="h", scheme="HTTP", port=8080, path="x/y", query="k=v"), "http://h:8080/x/y?k=v"),
        (UriOverride(host="h", path="", enforce_mode="IF_NOT_EXISTS"), "https://h/"),
    ],
)
def test_override_url_names_a_whole_url(override: UriOverride, expected: str | None) -> None:
    assert override_url(override) == expected

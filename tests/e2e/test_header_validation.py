"""Headers that no delivery could send are refused at create, naming the header: a name that is not an
HTTP token (RFC 9110 tchar), a value with CR, LF or NUL. On task HTTP and App Engine requests of every
version and on queue-level header overrides, over gRPC and REST."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import PARENT, app_engine_task, http_task, raises, unique_queue_name

pytestmark = pytest.mark.transports("grpc", "rest")

# (header name, value, words the refusal must contain: the header as the message names it)
BAD = [
    pytest.param("X Bad", "v", "'X Bad'", id="space-in-name"),
    pytest.param("X-Bad:", "v", "'X-Bad:'", id="colon-in-name"),
    pytest.param("", "v", "''", id="empty-name"),
    pytest.param("X-Smuggle", "a\r\nX-Injected: 1", "'X-Smuggle'", id="crlf-in-value"),
    pytest.param("X-Lf", "a\nb", "'X-Lf'", id="lf-in-value"),
    pytest.param("X-Nul", "a\x00b", "'X-Nul'", id="nul-in-value"),
]
# Every tchar is allowed in a name; tabs and other text in a value are fine.
GOOD = {"X-Tokens!#$%&'*+-.^_`|~09az": "any text\twith a tab: ok"}


def http_queue(client: Any, tasks: Any, version: str, **fields: Any) -> str:
    name = unique_queue_name("hdr")
    if version == "v2beta2":
        fields.setdefault("http_target", tasks.HttpTarget())
    client.create_queue(parent=PARENT, queue=tasks.Queue(name=name, **fields))
    client.pause_queue(name=name)
    return name


@pytest.mark.parametrize(("key", "value", "words"), BAD)
def test_create_task_refuses_a_bad_http_request_header(
    client: Any, tasks: Any, version: str, key: str, value: str, words: str
) -> None:
    queue = http_queue(client, tasks, version)
    with raises("INVALID_ARGUMENT", match=re.escape(words)) as info:
        client.create_task(parent=queue, task=http_task(version, headers={key: value}))
    assert "HttpRequest.headers" in str(info.value)
    assert list(client.list_tasks(parent=queue)) == []


@pytest.mark.parametrize(("key", "value", "words"), BAD)
def test_create_task_refuses_a_bad_app_engine_header(
    client: Any, version: str, queue_name: str, key: str, value: str, words: str
) -> None:
    with raises("INVALID_ARGUMENT", match=re.escape(words)) as info:
        client.create_task(parent=queue_name, task=app_engine_task(version, headers={key: value}))
    assert "AppEngineHttpRequest.headers" in str(info.value)
    assert list(client.list_tasks(parent=queue_name)) == []


def test_create_task_keeps_every_token_character_and_text_values(
    client: Any, tasks: Any, version: str, queue_name: str
) -> None:
    created = client.create_task(parent=queue_name, task=app_engine_task(version, headers=GOOD))
    assert dict(created.app_engine_http_request.headers).items() >= GOOD.items()
    queue = http_queue(client, tasks, version)
    created = client.create_task(parent=queue, task=http_task(version, headers=GOOD))
    assert dict(created.http_request.headers).items() >= GOOD.items()


def _target(tasks: Any, key: str, value: str) -> Any:
    header = tasks.HttpTarget.Header(key=key, value=value)
    return tasks.HttpTarget(header_overrides=[tasks.HttpTarget.HeaderOverride(header=header)])


@pytest.mark.parametrize("version", ["v2", "v2beta3"])
@pytest.mark.parametrize(("key", "value", "words"), BAD)
def test_queue_header_overrides_refuse_a_bad_header(
    client: Any, tasks: Any, version: str, key: str, value: str, words: str
) -> None:
    name = unique_queue_name("hdr")
    with raises("INVALID_ARGUMENT", match=re.escape(words)) as info:
        client.create_queue(parent=PARENT, queue=tasks.Queue(name=name, http_target=_target(tasks, key, value)))
    assert "HttpTarget.headerOverrides" in str(info.value)
    # An update is refused the same way, and leaves the queue's overrides as they were.
    client.create_queue(parent=PARENT, queue=tasks.Queue(name=name, http_target=_target(tasks, "X-Team", "blue")))
    update = tasks.Queue(name=name, http_target=_target(tasks, key, value))
    with raises("INVALID_ARGUMENT", match=re.escape(words)):
        client.update_queue(queue=update, update_mask={"paths": ["http_target"]})
    (kept,) = client.get_queue(name=name).http_target.header_overrides
    assert (kept.header.key, kept.header.value) == ("X-Team", "blue")

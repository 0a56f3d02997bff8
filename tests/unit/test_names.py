"""Resource names: what parses, what each refusal says, and the parts of a valid name."""

from __future__ import annotations

import pytest

from cloudtasks_emu import names
from cloudtasks_emu.errors import Code, EmuError

LOCATION = "projects/my-app:x.y/locations/us-central1"
QUEUE = f"{LOCATION}/queues/mail-1"
TASK = f"{QUEUE}/tasks/Task_42"


def refusal(parse: object, name: str) -> EmuError:
    with pytest.raises(EmuError) as caught:
        parse(name)  # type: ignore[operator]
    return caught.value


def test_valid_names_parse_into_their_parts() -> None:
    assert names.parse_project("projects/my-app:x.y") == "my-app:x.y"
    assert names.parse_location(LOCATION) == ("my-app:x.y", "us-central1")
    assert names.parse_queue(QUEUE) == (LOCATION, "mail-1")
    assert names.parse_queue(QUEUE).full == QUEUE
    assert names.parse_task(TASK) == (QUEUE, "Task_42")
    assert names.parse_task(TASK).full == TASK


def test_parts_of_a_valid_name() -> None:
    assert names.location_of(QUEUE) == LOCATION
    assert names.queue_of(TASK) == QUEUE
    assert (names.project_of(TASK), names.project_of(LOCATION)) == ("my-app:x.y", "my-app:x.y")
    assert (names.location_id_of(QUEUE), names.location_id_of(TASK)) == ("us-central1", "us-central1")
    assert (names.short_id(QUEUE), names.short_id(TASK)) == ("mail-1", "Task_42")


@pytest.mark.parametrize(("text", "ok"), [("my-app", True), ("s:my.app", True), ("", False), ("a b", False)])
def test_project_ids_follow_the_one_pattern(text: str, ok: bool) -> None:
    assert names.is_project_id(text) is ok
    if ok:
        assert names.parse_project(f"projects/{text}") == text
    else:
        assert refusal(names.parse_project, f"projects/{text}").code == Code.INVALID_ARGUMENT


def test_a_malformed_location_is_permission_denied_as_the_cloud_checks_iam_first() -> None:
    error = refusal(names.parse_location, "projects/p/location/l")
    assert (error.code, error.message) == (
        Code.PERMISSION_DENIED,
        "Permission denied on resource project projects/p/location/l.",
    )


@pytest.mark.parametrize(
    "name", [f"{LOCATION}/queues/", f"{LOCATION}/queues/bad_id", f"{LOCATION}/queues/{'q' * 101}", "queues/q"]
)
def test_a_malformed_queue_name_gets_the_format_and_its_help_link(name: str) -> None:
    error = refusal(names.parse_queue, name)
    assert (error.code, error.message, error.help_links) == (
        Code.INVALID_ARGUMENT,
        names.QUEUE_FORMAT_MESSAGE,
        names.QUEUE_NAME_HELP,
    )


def test_a_malformed_task_id_names_the_id_and_gets_its_help_link() -> None:
    error = refusal(names.parse_task, f"{QUEUE}/tasks/no.dots")
    assert error.message.startswith('Task ID "no.dots" can contain only letters')
    assert error.help_links == names.TASK_ID_HELP
    assert refusal(names.parse_task, f"{QUEUE}/tasks/{'t' * 501}").help_links == names.TASK_ID_HELP


def test_a_task_name_of_the_wrong_shape_gets_the_task_format() -> None:
    assert refusal(names.parse_task, QUEUE).message.startswith("Task name must be formatted:")
    # The queue part is checked as a queue name.
    assert refusal(names.parse_task, f"{LOCATION}/queues/bad_q/tasks/t").message == names.QUEUE_FORMAT_MESSAGE

"""The pytest plugin as a user's suite runs it: a fresh project in a temporary folder, run by pytest."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

PARENT = "projects/user-app/locations/us-central1"

USER_TESTS = f'''
import time

import pytest
from google.cloud import tasks_v2

import cloudtasks_emu

PARENT = "{PARENT}"
DECLARED = PARENT + "/queues/declared"
FROM_CONFIG = PARENT + "/queues/from-config"


def test_a_long_wait(cloudtasks_emulator, cloudtasks_handler):
    client = cloudtasks_emu.client("v2")
    client.pause_queue(name=FROM_CONFIG)  # changes that the next test must not see
    cloudtasks_handler.script("/work", [500, 200])
    client.create_task(parent=DECLARED, task={{"app_engine_http_request": {{"relative_uri": "/work"}}}})
    cloudtasks_emulator.drain(DECLARED)
    cloudtasks_emulator.advance(86400)  # a day of virtual time: past the backoff
    cloudtasks_emulator.drain(DECLARED)
    assert len(cloudtasks_handler.requests_to("/work")) == 2
    assert [a["status"] for a in cloudtasks_emulator.attempts(DECLARED)] == [500, 200]
    client.delete_queue(name=DECLARED)


def test_b_starts_where_the_suite_started(cloudtasks_emulator, cloudtasks_handler):
    # the previous test's day is gone: a countdown from the real clock means what it says
    assert abs(cloudtasks_emulator.now() - time.time()) < 3600
    assert cloudtasks_handler.requests_to("/work") == []
    assert cloudtasks_emulator.attempts(DECLARED) == []
    # and the queues of cloudtasks_emu_args are back as declared
    client = cloudtasks_emu.client("v2")
    assert client.get_queue(name=FROM_CONFIG).state == tasks_v2.Queue.State.RUNNING
    assert client.get_queue(name=FROM_CONFIG).rate_limits.max_concurrent_dispatches == 3
    due = int(time.time()) + 60
    client.create_task(
        parent=DECLARED,
        task={{"app_engine_http_request": {{"relative_uri": "/soon"}}, "schedule_time": {{"seconds": due}}}},
    )
    cloudtasks_emulator.drain(DECLARED)
    assert cloudtasks_handler.requests_to("/soon") == []
    cloudtasks_emulator.advance(120)
    cloudtasks_emulator.drain(DECLARED)
    assert len(cloudtasks_handler.requests_to("/soon")) == 1


def test_c_typo_is_an_error(cloudtasks_emulator):
    with pytest.raises(LookupError, match="did you mean " + DECLARED):
        cloudtasks_emulator.drain(PARENT + "/queues/declraed")


def test_d_stock_client(cloudtasks_patch):
    names = [q.name for q in tasks_v2.CloudTasksClient().list_queues(parent=PARENT)]
    assert DECLARED in names


def test_e_forgets_the_typo_and_fails(cloudtasks_emulator):
    cloudtasks_emulator.drain(PARENT + "/queues/declraed")  # no pytest.raises: this test must fail
'''


def run_user_suite(project: Path) -> subprocess.CompletedProcess[str]:
    """`pytest test_user.py` in the user's project, in a fresh interpreter that sees no emulator of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUD_TASKS_EMULATOR", "PYTEST_"))}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)


def test_plugin_in_a_fresh_project(tmp_path: Path) -> None:
    # Given a project that declares its queues for the plugin's emulator (a flag and a file), strict about
    # warnings as careful suites are (pytest-asyncio, installed beside us, wants a scope)
    (tmp_path / "queues.yaml").write_text(
        f"queues:\n  - name: {PARENT}/queues/from-config\n    rateLimits: {{maxConcurrentDispatches: 3}}\n"
    )
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nfilterwarnings = error\nasyncio_default_fixture_loop_scope = function\n"
        f"cloudtasks_emu_args = --queue {PARENT}/queues/declared --config queues.yaml\n"
    )
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS))
    # When its suite runs
    result = run_user_suite(tmp_path)
    # Then every honest test passes and the one that drains a typo fails, naming the queue it meant
    summary = (result.stdout.strip().splitlines() or [""])[-1]
    assert re.search(r"\b1 failed, 4 passed\b", summary), result.stdout + result.stderr
    assert "FAILED test_user.py::test_e_forgets_the_typo_and_fails - LookupError" in result.stdout


IN_PROCESS_TESTS = f'''
import json
import threading
import urllib.request

from cloudtasks_emu.testing import InProcessEmulator

QUEUE = "{PARENT}/queues/declared"


def test_in_this_process(cloudtasks_emulator, cloudtasks_handler):
    assert isinstance(cloudtasks_emulator, InProcessEmulator)
    assert any(t.name == "cloudtasks-emu" for t in threading.enumerate())
    body = json.dumps({{"task": {{"httpRequest": {{"url": cloudtasks_handler.url + "/work"}}}}}}).encode()
    request = urllib.request.Request(
        f"{{cloudtasks_emulator.http}}/v2/{{QUEUE}}/tasks", data=body, headers={{"Content-Type": "application/json"}}
    )
    urllib.request.urlopen(request, timeout=30).close()
    cloudtasks_emulator.drain(QUEUE)
    assert len(cloudtasks_handler.requests_to("/work")) == 1


def test_reset_between_tests(cloudtasks_emulator, cloudtasks_handler):
    assert cloudtasks_emulator.attempts(QUEUE) == []
    assert cloudtasks_handler.requests_to("/work") == []
'''


def test_plugin_runs_the_emulator_in_process_when_asked(tmp_path: Path) -> None:
    # Given a project that asks for the emulator in its own test process
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nfilterwarnings = error\nasyncio_default_fixture_loop_scope = function\n"
        f"cloudtasks_emu_in_process = true\ncloudtasks_emu_args = --queue {PARENT}/queues/declared\n"
    )
    (tmp_path / "test_user.py").write_text(textwrap.dedent(IN_PROCESS_TESTS))
    # When its suite runs
    result = run_user_suite(tmp_path)
    # Then the tests see an emulator of their own process, delivering and reset between tests
    summary = (result.stdout.strip().splitlines() or [""])[-1]
    assert re.search(r"\b2 passed\b", summary), result.stdout + result.stderr

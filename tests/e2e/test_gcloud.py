"""The real gcloud CLI against the emulator, configured as the README's "gcloud" section says.

gcloud (the Debian package google-cloud-cli) comes with this project's machine image; these tests
need it on PATH. Each command runs without --location where gcloud allows it, so every call also
goes through ListLocations and App Engine Admin apps.get, as it does against the cloud.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from cloudtasks_emu.testing import EmulatorProcess

from .conftest import http_call

GCLOUD = shutil.which("gcloud")
pytestmark = pytest.mark.skipif(GCLOUD is None, reason="gcloud (google-cloud-cli) is not installed")


class Gcloud:
    """gcloud with its own config directory, pointed at the emulator for one project."""

    def __init__(self, server: EmulatorProcess, config_dir: Path) -> None:
        self.project = f"gcloud-{uuid.uuid4().hex[:10]}"
        base = f"{server.http}/"  # gcloud appends `v2/projects/...`: the trailing slash is required
        self.env = {
            **os.environ,
            "CLOUDSDK_CONFIG": str(config_dir),
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS": base,
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_APPENGINE": base,
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE": base,
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE": f"{base}storage/v1/",
            "CLOUDSDK_AUTH_DISABLE_CREDENTIALS": "true",
            "CLOUDSDK_CORE_PROJECT": self.project,
            "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
            "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "true",
            "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "true",
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert GCLOUD is not None
        return subprocess.run([GCLOUD, *args], env=self.env, capture_output=True, text=True, timeout=90, check=False)

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--format=json"))


@pytest.fixture
def gcloud(server: EmulatorProcess, tmp_path: Path) -> Gcloud:
    return Gcloud(server, tmp_path / "gcloud-config")


def test_queue_lifecycle_finds_the_location_by_itself(gcloud: Gcloud) -> None:
    gcloud.ok("tasks", "queues", "create", "q1", "--max-attempts=7")
    gcloud.ok("tasks", "queues", "update", "q1", "--max-dispatches-per-second=10", "--max-concurrent-dispatches=3")
    queue = gcloud.json("tasks", "queues", "describe", "q1")
    assert queue["name"] == f"projects/{gcloud.project}/locations/us-central1/queues/q1"
    assert queue["rateLimits"]["maxDispatchesPerSecond"] == 10
    assert queue["rateLimits"]["maxConcurrentDispatches"] == 3
    assert queue["retryConfig"]["maxAttempts"] == 7
    gcloud.ok("tasks", "queues", "pause", "q1")
    assert gcloud.json("tasks", "queues", "describe", "q1")["state"] == "PAUSED"
    gcloud.ok("tasks", "queues", "resume", "q1")
    gcloud.ok("tasks", "queues", "purge", "q1")
    assert [q["name"].rsplit("/", 1)[1] for q in gcloud.json("tasks", "queues", "list")] == ["q1"]
    gcloud.ok("tasks", "queues", "delete", "q1")
    assert gcloud.json("tasks", "queues", "list") == []


def test_tasks_create_describe_run_delete(gcloud: Gcloud) -> None:
    gcloud.ok("tasks", "queues", "create", "q")
    gcloud.ok("tasks", "queues", "pause", "q")
    url = "http://127.0.0.1:9/a%2Fb?y=%2Fz&b=1+2&c=%20"
    gcloud.ok("tasks", "create-http-task", "t1", "--queue=q", f"--url={url}", "--body-content=hi")
    gcloud.ok("tasks", "create-app-engine-task", "--queue=q", "--relative-uri=/work?x=1")
    basic = gcloud.json("tasks", "describe", "t1", "--queue=q")
    assert basic["httpRequest"]["url"] == url
    assert "body" not in basic["httpRequest"]
    full = gcloud.json("tasks", "describe", "t1", "--queue=q", "--response-view=FULL")
    assert full["view"] == "FULL"
    assert full["httpRequest"]["body"] == "aGk="
    assert len(gcloud.json("tasks", "list", "--queue=q")) == 2
    gcloud.ok("tasks", "run", "t1", "--queue=q")
    gcloud.ok("tasks", "delete", "t1", "--queue=q")
    missing = gcloud.run("tasks", "describe", "t1", "--queue=q")
    assert missing.returncode != 0
    assert "NOT_FOUND" in missing.stderr


def test_buffer_with_gcloud_s_empty_task_id(gcloud: Gcloud, server: EmulatorProcess) -> None:
    gcloud.ok("tasks", "queues", "create", "hq", "--http-uri-override=host:127.0.0.1,port:9,path:/buf")
    gcloud.ok("tasks", "queues", "pause", "hq")
    gcloud.ok("tasks", "buffer", "--queue=hq", "--location=us-central1")
    answer = http_call(server.http, "GET", f"/v2/projects/{gcloud.project}/locations/us-central1/queues/hq/tasks")
    [task] = answer.json()["tasks"]
    assert task["httpRequest"]["url"] == "https://127.0.0.1:9/buf"


def test_alpha_pull_queue_lease(gcloud: Gcloud) -> None:
    gcloud.ok("alpha", "tasks", "queues", "create-pull-queue", "pq")
    gcloud.ok("alpha", "tasks", "create-pull-task", "--queue=pq", "--payload-content=hello", "--tag=t")
    [leased] = gcloud.json("alpha", "tasks", "lease", "--queue=pq", "--lease-duration=60")
    assert leased["pullMessage"]["tag"] == "t"
    task_id = leased["name"].rsplit("/", 1)[1]
    gcloud.ok("alpha", "tasks", "acknowledge", task_id, "--queue=pq", f"--schedule-time={leased['scheduleTime']}")
    assert gcloud.json("alpha", "tasks", "list", "--queue=pq") == []


def test_app_deploy_queue_yaml(gcloud: Gcloud, tmp_path: Path) -> None:
    # Given a queue the file leaves out, and `default`, which gcloud never pauses
    gcloud.ok("tasks", "queues", "create", "left-out")
    gcloud.ok("tasks", "queues", "create", "default")
    queue_yaml = tmp_path / "queue.yaml"
    queue_yaml.write_text(
        "queue:\n"
        "- name: fast\n  rate: 10/s\n  bucket_size: 20\n  max_concurrent_requests: 7\n"
        "  retry_parameters:\n    task_retry_limit: 4\n    min_backoff_seconds: 2\n"
        "- name: stopped\n  mode: push\n  rate: 0/s\n"
        "- name: pulled\n  mode: pull\n"
    )
    # When gcloud deploys it (v2beta3: list, then PATCH with a mask per queue)
    gcloud.ok("app", "deploy", str(queue_yaml), "--quiet")
    queues = {q["name"].rsplit("/", 1)[1]: q for q in gcloud.json("beta", "tasks", "queues", "list")}
    # Then the file's queues exist as converted, new ones with gcloud's long TTLs
    fast = queues["fast"]
    assert fast["rateLimits"] == {"maxDispatchesPerSecond": 10, "maxBurstSize": 20, "maxConcurrentDispatches": 7}
    assert fast["retryConfig"]["maxAttempts"] == 5
    assert fast["retryConfig"]["minBackoff"] == "2s"
    assert (fast["taskTtl"], fast["tombstoneTtl"]) == ("315360000s", "777600s")
    assert queues["pulled"]["type"] == "PULL"
    # and the rate-0 queue and the left-out one are paused, `default` is not
    assert queues["stopped"]["state"] == "PAUSED"
    assert queues["left-out"]["state"] == "PAUSED"
    assert queues["default"]["state"] == "RUNNING"


def readme_gcloud_setup() -> str:
    """The README's gcloud set-up block, as a user pastes it."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("\n## gcloud\n", 1)[1]
    return section.split("```bash\n", 1)[1].split("```", 1)[0]


def test_the_readme_setup_leaves_the_users_own_configuration_alone(server: EmulatorProcess, tmp_path: Path) -> None:
    assert GCLOUD is not None
    # Given a user's gcloud with its own active configuration and project
    user_config = tmp_path / "user-gcloud"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSDK_")}
    env |= {"CLOUDSDK_CONFIG": str(user_config), "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}
    env |= {"CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "true", "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "true"}
    subprocess.run([GCLOUD, "config", "set", "project", "users-own"], env=env, check=True, timeout=90)
    default = user_config / "configurations" / "config_default"
    before = (default.read_text(), (user_config / "active_config").read_text())

    # When they paste the README's block, use the emulator, and switch back as it says
    setup = readme_gcloud_setup().replace("http://127.0.0.1:8123/", f"{server.http}/")
    script = f"set -e\n{setup}\ngcloud tasks queues list --format=json\nunset CLOUDSDK_ACTIVE_CONFIG_NAME\n"
    script += "gcloud config get-value project\n"
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=300, check=False)

    # Then gcloud reached the emulator, and the user's configuration is as it was, active again
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "users-own"]  # the emulator's (empty) list, then the user's project
    assert (default.read_text(), (user_config / "active_config").read_text()) == before

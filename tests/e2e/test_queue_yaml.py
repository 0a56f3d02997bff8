"""A classic App Engine queue.yaml, as real projects have it, loads with --config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cloudtasks_emu import client as emulator_client
from cloudtasks_emu.testing import EmulatorProcess

REAL_WORLD = """
project: legacy-app
total_storage_limit: 120M
queue:
- name: default
  rate: 10/s
  bucket_size: 20
- name: mail
  rate: 2/s
  target: worker
  acl:
  - user_email: admin@example.com
  - writer_email: bot@example.com
  retry_parameters:
    task_retry_limit: 3
    task_age_limit: 1d
- name: pull-work
  mode: pull
  acl:
  - user_email: puller@example.com
"""


def test_real_world_queue_yaml_loads_with_one_warning_per_ignored_key(tmp_path: Path) -> None:
    config = tmp_path / "queue.yaml"
    config.write_text(REAL_WORLD)
    log_path = tmp_path / "emulator.log"
    with log_path.open("w") as log:
        emulator = EmulatorProcess("--config", str(config), stderr=log)
        try:
            client = emulator_client("v2beta2", host=emulator.grpc)
            mail = client.get_queue(name="projects/legacy-app/locations/us-central1/queues/mail")
            assert mail.rate_limits.max_tasks_dispatched_per_second == 2
            assert mail.retry_config.max_attempts == 4
            assert "pull_target" in client.get_queue(name="projects/legacy-app/locations/us-central1/queues/pull-work")
        finally:
            emulator.stop()
    warnings = [line for line in log_path.read_text().splitlines() if " WARNING " in line]
    assert len(warnings) == 3, warnings
    assert any("total_storage_limit" in line and str(config) in line for line in warnings)
    assert any("queue 'mail'" in line and "`acl`" in line for line in warnings)
    assert any("queue 'pull-work'" in line and "`acl`" in line for line in warnings)


@pytest.mark.parametrize(
    ("entry", "at_fault"),
    [
        ("- name: mail\n  rate: fast", "queue 'mail', key rate: must look like"),
        ("- name: mail\n  bucket_size: 900", "queue 'mail', key bucket_size: must be a whole number"),
        ("- name: mail\n  mode: later", "queue 'mail', key mode: must be push or pull"),
        (
            "- name: mail\n  retry_parameters: {task_age_limit: forever}",
            "queue 'mail', key retry_parameters.task_age_limit: must look like",
        ),
        ("- name: bad_name!", "queue 'bad_name!', key name:"),
        # The same rules, and words, as a Queue sent through the API.
        ("- name: mail\n  rate: 900/s", "queue 'mail', key rate must be less than or equal to 500."),
        (
            "- name: mail\n  retry_parameters: {min_backoff_seconds: 9, max_backoff_seconds: 2}",
            "queue 'mail', key retry_parameters.min_backoff_seconds must be less than or equal to max_backoff_seconds.",
        ),
    ],
)
def test_every_config_error_names_the_file_the_queue_and_the_key(tmp_path: Path, entry: str, at_fault: str) -> None:
    config = tmp_path / "queue.yaml"
    config.write_text(f"project: legacy-app\nqueue:\n{entry}\n")
    cmd = [sys.executable, "-m", "cloudtasks_emu", "start", "--port", "0", "--http-port", "0", "--config", str(config)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert f"{config}: {at_fault}" in result.stderr
    assert "Traceback" not in result.stderr

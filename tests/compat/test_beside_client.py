"""Our wheel installed into a user's existing project, at the newest and the oldest stack of our range.

Each case is a fresh virtualenv that first holds the user's project (google-cloud-tasks and what it
pulls in, or the early-2024 stack at the floor of every range we declare), then gets our built wheel
the way the user would add it. pip must change nothing the project had and leave `pip check` clean;
then one interpreter imports the official client and runs the emulator, and the plugin runs a user test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .conftest import Dist, Venv

PROJECT = Path(__file__).parent / "project"
# The floor of each range in pyproject.toml, with google-cloud-tasks 2.16 (January 2024) and the
# google-api-core of its day: what a project that has not upgraded since then has pinned.
OLDEST = [
    "google-cloud-tasks==2.16.0",
    "google-api-core==2.15.0",
    "protobuf==4.25.0",
    "grpcio==1.62.0",
    "grpcio-health-checking==1.62.0",
    "grpcio-reflection==1.62.0",
    "googleapis-common-protos==1.59.1",
    "grpc-google-iam-v1==0.12.4",
    "aiohttp==3.10.0",
    "yarl==1.9.4",
    "sortedcontainers==2.4.0",
    "PyYAML==6.0.1",
    "PyJWT==2.8.0",
    "cryptography==42.0.0",
    "orjson==3.10.0",
    "uvloop==0.19.0",
    "pytest==8.0.0",
]
NEWEST = ["google-cloud-tasks", "pytest"]


@pytest.mark.parametrize("project", [NEWEST, OLDEST], ids=["newest", "oldest"])
def test_wheel_joins_a_project_and_shares_its_process(
    project: list[str], dist: Dist, fresh_venv: Venv, tmp_path: Path
) -> None:
    # Given a user's project, installed from its requirements file
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(project) + "\n")
    fresh_venv.pip("install", "--quiet", "-r", str(requirements))
    before = fresh_venv.freeze()
    # When our wheel is added to the requirements and installed
    requirements.write_text(requirements.read_text() + f"cloudtasks-emu @ {dist.wheel.as_uri()}\n")
    fresh_venv.pip("install", "--quiet", "-r", str(requirements))
    # Then pip changed nothing the project had, and the environment is consistent
    after = fresh_venv.freeze()
    assert {name: after.get(name) for name in before} == before
    fresh_venv.pip("check")
    # And one interpreter runs the official client against the emulator, to a real handler
    work = tmp_path / "project"
    shutil.copytree(PROJECT, work)
    done = fresh_venv.run(fresh_venv.python, "scenario.py", cwd=work, timeout_s=120)
    assert done.stdout.strip().splitlines()[-1] == "delivered ['one']", done.stdout + done.stderr
    # And the pytest plugin, with the emulator in the test process, runs the user's test
    pytest_args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "cloudtasks_emu_in_process=true"]
    done = fresh_venv.run(fresh_venv.python, *pytest_args, "test_user.py", cwd=work, timeout_s=180)
    assert "1 passed" in done.stdout, done.stdout

"""The Node kit (kits/node) through `npm test` (node --test), both ways: containers of our image, and a
running emulator.

scripts/deps/57-kit-node.sh fills kits/node/node_modules from its package-lock.json; the runs here use
it offline. A failing run fails with the runner's own output.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import socket
import subprocess

import pytest

from cloudtasks_emu.testing import EmulatorProcess

from ..snippets import MARKED_BLOCK, region
from .conftest import ROOT, docker

KIT = ROOT / "kits" / "node"
NODE_TEST_TIMEOUT_S = 300  # warm, a run takes seconds; each container start is bounded by the kit
# The tests that run in each way (test/*.test.js); a run with fewer passes tested less than it should.
MIN_PASSED = 15

pytestmark = pytest.mark.timeout(NODE_TEST_TIMEOUT_S + 120)


def node_env(**extra: str) -> dict[str, str]:
    """The environment without the variables that pick a way in, plus `extra`."""
    drop = {"CLOUD_TASKS_EMULATOR_HOST", "CLOUDTASKS_EMU_IMAGE", "APP_ENGINE_EMULATOR_HOST"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        npm_config_offline="true",  # everything comes from kits/node/node_modules
        npm_config_update_notifier="false",  # no registry look-up for a newer npm
        npm_config_fund="false",
        **extra,
    )
    return env


def npm_test(env: dict[str, str]) -> str:
    """`npm test` in kits/node; fails with its output unless it passed at least MIN_PASSED tests."""
    if shutil.which("npm", path=env.get("PATH")) is None:
        pytest.fail("npm is not installed (scripts/deps/50-clients.sh installs Node)")
    if not (KIT / "node_modules" / "testcontainers").is_dir():
        pytest.fail("kits/node/node_modules is missing: run scripts/deps/57-kit-node.sh")
    try:
        done = subprocess.run(
            ["npm", "test"], cwd=KIT, env=env, capture_output=True, text=True, timeout=NODE_TEST_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"npm test ran over {NODE_TEST_TIMEOUT_S} s:\n{error.stdout!r}\n{error.stderr!r}")
    output = done.stdout + done.stderr
    if done.returncode != 0:
        pytest.fail(f"npm test exited {done.returncode}:\n{output}")
    counts = {key: int(n) for key, n in re.findall(r"^# (pass|fail|skipped|todo) (\d+)$", output, re.MULTILINE)}
    assert counts.get("pass", 0) >= MIN_PASSED, f"npm test passed {counts}, expected {MIN_PASSED}:\n{output}"
    assert counts.get("fail") == 0, output
    assert counts.get("skipped") == 0, output
    return output


def kit_containers(image: str) -> list[str]:
    """Containers that the testcontainers npm package made of the image, running or not."""
    listed = docker("ps", "-aq", "--filter", "label=org.testcontainers.lang=node", "--filter", f"ancestor={image}")
    return listed.stdout.split()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_kit_passes_with_containers_of_the_image(image: str) -> None:
    before = kit_containers(image)
    # Ryuk, Testcontainers' clean-up container, comes from Docker Hub, which is out of reach here;
    # the kit removes its containers itself.
    output = npm_test(node_env(CLOUDTASKS_EMU_IMAGE=image, TESTCONTAINERS_RYUK_DISABLED="true"))
    assert "# SKIP this run starts containers" in output  # the connect-only suite, and nothing else
    assert kit_containers(image) == before


def test_kit_passes_against_a_running_emulator() -> None:
    # App Engine tasks go to a port that the kit's test handler then listens on.
    app_engine = f"127.0.0.1:{free_port()}"
    emulator = EmulatorProcess("--virtual-clock", "--app-engine-url", f"http://{app_engine}")
    try:
        output = npm_test(node_env(CLOUD_TASKS_EMULATOR_HOST=emulator.address, APP_ENGINE_EMULATOR_HOST=app_engine))
    finally:
        emulator.stop()
    assert "# SKIP this run connects to a running emulator" in output


def test_kit_version_is_the_projects() -> None:
    version = importlib.metadata.version("cloudtasks-emu")
    package = json.loads((KIT / "package.json").read_text())
    assert package["name"] == "@cloudtasks-emu/testkit"
    assert package["version"] == version
    lock = json.loads((KIT / "package-lock.json").read_text())
    assert lock["version"] == lock["packages"][""]["version"] == version, "run npm install in kits/node"
    assert f"npm install --save-dev @cloudtasks-emu/testkit@{version}" in (KIT / "README.md").read_text()


def test_readme_snippets_are_cut_from_tested_files() -> None:
    blocks = MARKED_BLOCK.findall((KIT / "README.md").read_text())
    assert blocks, "kits/node/README.md quotes no tested region"
    for path, name, block in blocks:
        assert path.startswith("kits/node/test/"), f"{path}: not one of the kit's tests"
        assert block == region(ROOT / path, name, trim=True), f"README block {name} differs from {path}"
    # The promise: a test in under ten lines of code (imports and blank lines aside).
    first = next(block for _, name, block in blocks if name == "kit-node-readme")
    code = [line for line in first.splitlines() if line.strip() and not line.startswith("import ")]
    assert len(code) < 10, code

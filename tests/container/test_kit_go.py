"""The Go kit (kits/go) through `go test`, both ways: containers of our image, and a running emulator.

scripts/deps/55-kit-go.sh fills the module and build caches; the runs here are offline (GOPROXY=off)
with the installed Go (GOTOOLCHAIN=local). The test binary (`go test -c`) is linked once, the slow
part on a warm cache, and run twice. A failing run fails with its own output.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cloudtasks_emu.testing import EmulatorProcess

from ..snippets import MARKED_BLOCK, region
from .conftest import ROOT, docker

KIT = ROOT / "kits" / "go"
GO_TEST_TIMEOUT_S = 600  # a cold build on two shared cores; warm, it takes seconds
MODULE = "github.com/cloudtasks-emu/cloudtasks-emu/kits/go"
# The tests of kit_test.go and example_test.go; a run with fewer passes tested less than it should.
MIN_PASSED = 17

pytestmark = pytest.mark.timeout(GO_TEST_TIMEOUT_S + 120)


def go_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CLOUD_TASKS_EMULATOR_HOST", "CLOUDTASKS_EMU_IMAGE"}}
    env.update(
        GOTOOLCHAIN="local",  # the installed Go, never a downloaded one
        GOPROXY="off",  # modules come from the cache that scripts/deps/55-kit-go.sh filled
        GOFLAGS="-mod=readonly",
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def kit_test(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kit's test binary, as `go test` builds it: linked once, run both ways."""
    env = go_env()
    if shutil.which("go", path=env.get("PATH")) is None:
        pytest.fail("go is not installed (scripts/deps/55-kit-go.sh names the version kits/go needs)")
    binary = tmp_path_factory.mktemp("kit-go") / "kit.test"
    run(["go", "test", "-c", "-o", str(binary), "."], env)
    return binary


def run(command: list[str], env: dict[str, str]) -> str:
    """Run command in kits/go; a failure fails the test with the command's own output."""
    try:
        done = subprocess.run(
            command, cwd=KIT, env=env, capture_output=True, text=True, timeout=GO_TEST_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"{' '.join(command)} ran over {GO_TEST_TIMEOUT_S} s:\n{error.stdout!r}\n{error.stderr!r}")
    output = done.stdout + done.stderr
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {done.returncode}:\n{output}")
    return output


def go_test(binary: Path, env: dict[str, str]) -> str:
    flags = ["-test.v", "-test.count=1", f"-test.timeout={GO_TEST_TIMEOUT_S - 60}s"]
    output = run([str(binary), *flags], env)
    passed = re.findall(r"^--- PASS: ", output, re.MULTILINE)
    assert len(passed) >= MIN_PASSED, f"go test passed {len(passed)} tests, expected {MIN_PASSED}:\n{output}"
    assert not re.search(r"^--- SKIP: ", output, re.MULTILINE), output
    return output


def kit_containers(image: str) -> list[str]:
    """Containers that testcontainers-go made of the image, running or not."""
    listed = docker("ps", "-aq", "--filter", "label=org.testcontainers.lang=go", "--filter", f"ancestor={image}")
    return listed.stdout.split()


def test_kit_passes_with_containers_of_the_image(image: str, kit_test: Path) -> None:
    before = kit_containers(image)
    # Ryuk, Testcontainers' clean-up container, comes from Docker Hub, which is out of reach here;
    # the kit removes its containers itself.
    go_test(kit_test, go_env(CLOUDTASKS_EMU_IMAGE=image, TESTCONTAINERS_RYUK_DISABLED="true"))
    assert kit_containers(image) == before


def test_kit_passes_against_a_running_emulator(kit_test: Path) -> None:
    emulator = EmulatorProcess("--virtual-clock")
    try:
        go_test(kit_test, go_env(CLOUD_TASKS_EMULATOR_HOST=emulator.address))
    finally:
        emulator.stop()


def test_kit_version_is_the_projects() -> None:
    version = importlib.metadata.version("cloudtasks-emu")
    declared = re.search(r'^const Version = "([^"]+)"$', (KIT / "doc.go").read_text(), re.MULTILINE)
    assert declared is not None, "kits/go/doc.go declares no Version"
    assert declared.group(1) == version
    assert f"go get {MODULE}@v{version}" in (KIT / "README.md").read_text()


def test_readme_snippets_are_cut_from_tested_files() -> None:
    readme = (KIT / "README.md").read_text()
    blocks = MARKED_BLOCK.findall(readme)
    assert blocks, "kits/go/README.md quotes no tested region"
    assert len(blocks) == readme.count("```go"), "a Go block in kits/go/README.md is not cut from a tested file"
    for path, name, block in blocks:
        assert block == region(ROOT / path, name, trim=True), f"README block {name} differs from {path}"
    # The promise: a test in under ten lines, between its func line and its closing brace.
    first = next(block for _, name, block in blocks if name == "kit-go-readme")
    assert len(first.splitlines()) - 2 < 10

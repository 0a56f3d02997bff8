"""The Java test kit (kits/java) through its own runner: `mvn -o test`, against both emulators it serves.

One Maven run covers both ways in: ContainerTest starts the image built from this checkout through
Testcontainers (host network, Ryuk disabled: no registry here), ConnectTest and ReadmeExampleTest connect
to a real emulator that this test starts and names in CLOUD_TASKS_EMULATOR_HOST. scripts/deps/56-kit-java.sh
puts the kit's Maven artifacts in ~/.m2 first, so the run is offline.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cloudtasks_emu.testing import EmulatorProcess

from ..snippets import MARKED_BLOCK, region
from .conftest import ROOT

KIT = ROOT / "kits" / "java"
MAVEN = "{http://maven.apache.org/POM/4.0.0}"
# The queue the kit's scenario expects to be declared at start (ScenarioTests.DECLARED).
DECLARED = "projects/kit-java/locations/us-central1/queues/declared"
# Every test class of the kit: each must have run tests, none failed or skipped.
CLASSES = ("ContainerTest", "ConnectTest", "ReadmeExampleTest")
MAVEN_TIMEOUT_S = 540


def test_kit_version_is_the_package_version() -> None:
    version = ET.parse(KIT / "pom.xml").getroot().findtext(f"{MAVEN}version")
    assert version == importlib.metadata.version("cloudtasks-emu")


def test_readme_snippets_are_cut_from_tested_files() -> None:
    blocks = MARKED_BLOCK.findall((KIT / "README.md").read_text())
    for path, name, block in blocks:
        tested = region(ROOT / path, name)
        assert block == tested, f"kits/java/README.md block {name} differs from {path}; the tested code is:\n{tested}"
    # And every marked region of the kit's tests is quoted, the example of "A test" first.
    regions = {
        (str(source.relative_to(ROOT)), name)
        for source in (KIT / "src").rglob("*.java")
        for name in re.findall(r"\[START (kit-readme-java[\w-]*)\]", source.read_text())
    }
    assert [name for _, name, _ in blocks][:1] == ["kit-readme-java"]
    assert {(path, name) for path, name, _ in blocks} == regions


def surefire_counts(reports: Path) -> dict[str, tuple[int, int]]:
    """Test class -> (tests run, tests failed, errored or skipped), from Surefire's XML reports."""
    counts: dict[str, tuple[int, int]] = {}
    for report in reports.glob("TEST-*.xml"):
        suite = ET.parse(report).getroot()
        bad = sum(int(suite.get(key, "0")) for key in ("failures", "errors", "skipped"))
        counts[str(suite.get("name")).rsplit(".", 1)[-1]] = (int(suite.get("tests", "0")), bad)
    return counts


@pytest.mark.timeout(MAVEN_TIMEOUT_S + 120)
def test_kit_java_passes_in_a_container_and_connected(image: str, tmp_path: Path) -> None:
    mvn = shutil.which("mvn")
    assert mvn, "no mvn: scripts/deps/56-kit-java.sh installs Maven and a JDK"
    reports = KIT / "target" / "surefire-reports"
    shutil.rmtree(reports, ignore_errors=True)
    log = tmp_path / "emulator.log"
    with log.open("w") as stderr:
        emulator = EmulatorProcess("--virtual-clock", "--queue", DECLARED, stderr=stderr)
    try:
        env = {
            **os.environ,
            "CLOUD_TASKS_EMULATOR_HOST": emulator.address,
            "CLOUDTASKS_EMU_IMAGE": image,
            # Ryuk, Testcontainers' reaper, comes from Docker Hub; the kit stops its containers itself.
            "TESTCONTAINERS_RYUK_DISABLED": "true",
        }
        try:
            done = subprocess.run(
                [mvn, "-B", "-o", "-q", "test"],
                cwd=KIT,
                env=env,
                capture_output=True,
                text=True,
                timeout=MAVEN_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            pytest.fail(f"mvn test ran over {MAVEN_TIMEOUT_S} s: {error.stdout!r}")
    finally:
        emulator.stop()
    output = f"{done.stdout}\n{done.stderr}\nemulator log:\n{log.read_text()}"
    assert done.returncode == 0, (
        f"mvn -o test failed ({done.returncode}; offline: run scripts/deps/56-kit-java.sh):\n{output}"
    )
    counts = surefire_counts(reports)
    for name in CLASSES:
        ran, bad = counts.get(name, (0, 0))
        assert ran > 0, f"{name} ran no test\n{output}"
        assert bad == 0, f"{name}: {bad} of {ran} tests failed or skipped\n{output}"

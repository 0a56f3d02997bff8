"""scripts/test's install steps (scripts/deps/*.sh) say what each installs, and why, before they work."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STEPS = sorted((ROOT / "scripts" / "deps").glob("*.sh"))


@pytest.mark.parametrize("step", STEPS, ids=[step.name for step in STEPS])
def test_a_step_first_says_what_it_installs_and_for_which_tests(step: Path) -> None:
    # Its first command, before any install that may take minutes: one line naming the step.
    commands = [line for line in step.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert commands[0] == "set -euo pipefail"
    assert commands[1].startswith(f'echo "scripts/deps/{step.name}: '), commands[1]
    assert commands[1].endswith('" >&2'), commands[1]


def test_a_step_run_prints_its_line_first() -> None:
    # 30-postgres.sh is quick once PostgreSQL is installed, as it is wherever the tests run.
    done = subprocess.run(
        ["bash", "scripts/deps/30-postgres.sh"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0].startswith("scripts/deps/30-postgres.sh: PostgreSQL"), done.stderr

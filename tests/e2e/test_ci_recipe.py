"""The README's CI recipe as a CI job runs it: install from a git URL, start in the background, wait
for the ready file, then reach the emulator."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _ci_steps() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## In CI") :]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "the README's CI section has no bash block"
    return match.group(1).strip().splitlines()


def test_readme_ci_recipe(tmp_path: Path) -> None:
    install, *steps = _ci_steps()
    assert re.fullmatch(r'pip install "cloudtasks-emu\[client\] @ git\+https://\S+"', install)
    # Given the install line, fed this repository's committed history instead of the network
    # (the dependencies are those installed beside this test run)
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site)]
    built = subprocess.run([*pip, f"cloudtasks-emu @ git+file://{ROOT}"], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    assert (site / "cloudtasks_emu_patch.pth").is_file()  # the wheel carries the start-up hook
    # When the other lines run verbatim, but on free ports and with a ready file of the test's own
    ready = tmp_path / "ready.json"
    script = "\n".join(steps).replace("/tmp/cloudtasks-emu.json", str(ready))
    script = script.replace("cloudtasks-emu start ", "cloudtasks-emu start --port 0 --http-port 0 ")
    probe = (
        "import json, sys, cloudtasks_emu; address = json.load(open(sys.argv[1]))['address']; "
        "cloudtasks_emu.client('v2', host=address).list_queues(parent='projects/p/locations/us-central1'); "
        "print(cloudtasks_emu.__file__)"
    )
    script += f'\npython -c "{probe}" {ready}\nkill %1\nwait\n'
    path = f"{site / 'bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}"
    env = {**os.environ, "PATH": path, "PYTHONPATH": str(site)}
    # (from a folder of its own, so that python -c imports the installed copy, not this checkout)
    result = subprocess.run(
        ["bash", "-e", "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    # Then the emulator installed from git answered, and stopping it removed the ready file
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith(str(site))
    assert not ready.exists()

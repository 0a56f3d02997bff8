"""The scheduler package stays pure: importing it loads no protos of ours, gRPC, aiohttp or storage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

_SCRIPT = """
import json, sys
import cloudtasks_emu.scheduler.job_rules, cloudtasks_emu.scheduler.retry, cloudtasks_emu.scheduler.schedule
prefixes = ("grpc", "aiohttp", "cloudtasks_emu._pb", "cloudtasks_emu.codec", "cloudtasks_emu.engine.storage",
            "google.cloud")
print(json.dumps(sorted(m for m in sys.modules if m.startswith(prefixes))))
"""


def test_scheduler_imports_nothing_but_its_rules() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=ROOT, capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []

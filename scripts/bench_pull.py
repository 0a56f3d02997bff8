#!/usr/bin/env python3
"""Pull benchmark: the pull section of scripts/bench (lease+acknowledge cycles), which takes the same flags.

python scripts/bench_pull.py [--pull-tasks 10000 --pull-workers 4 --pull-batch 10]
"""

import sys
from pathlib import Path

from bench.cli import main

OUT = Path(__file__).resolve().parent.parent / "bench-results" / "pull.json"

if __name__ == "__main__":
    main(["--sections", "pull", "--out", str(OUT), *sys.argv[1:]])

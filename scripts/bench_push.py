#!/usr/bin/env python3
"""Push delivery benchmark: the burst and paced sections of scripts/bench, which takes the same flags.

python scripts/bench_push.py [--push-tasks 10000 --push-queues 10 --paced-rate 50 --paced-seconds 10]
"""

import sys
from pathlib import Path

from bench.cli import main

OUT = Path(__file__).resolve().parent.parent / "bench-results" / "push.json"

if __name__ == "__main__":
    main(["--sections", "burst,paced", "--out", str(OUT), *sys.argv[1:]])

"""`python scripts/bench [flags]`: put scripts/ on the path so the package imports as `bench`, then run it."""

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.cli import main  # noqa: E402

main()

"""Docs snippets cut from tested files: a block marked `<!-- tested: PATH NAME -->` must equal the lines
between `[START NAME]` and `[END NAME]` in PATH (README.md, docs and each kit's README use this)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

MARKED_BLOCK = re.compile(r"<!-- tested: (\S+) (\S+) -->\n```\w*\n(.*?)```", re.DOTALL)


def region(path: Path, name: str, *, trim: bool = False) -> str:
    """The lines between [START name] and [END name] in path, dedented; `trim` drops trailing blank lines."""
    lines = path.read_text().splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if f"[START {name}]" in line]
    ends = [i for i, line in enumerate(lines) if f"[END {name}]" in line]
    assert len(starts) == len(ends) == 1, f"{path}: no single region {name}"
    assert starts[0] < ends[0], f"{path}: region {name} ends before it starts"
    text = textwrap.dedent("".join(lines[starts[0] + 1 : ends[0]]))
    return text.rstrip("\n") + "\n" if trim else text

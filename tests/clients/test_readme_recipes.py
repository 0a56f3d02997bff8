"""The README's client recipes are cut from the programs in tests/clients/ that CI runs.

In the README, `<!-- tested: PATH REGION -->` stands before each such code block; in PATH, the region lies
between lines holding `[START REGION]` and `[END REGION]`. The block must equal the region, dedented.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.snippets import MARKED_BLOCK, region

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
SOURCES = [p for p in (ROOT / "tests/clients").rglob("*") if p.suffix in {".go", ".java", ".js", ".py"}]


def readme_blocks() -> list[tuple[str, str, str]]:
    return MARKED_BLOCK.findall(README.read_text())


@pytest.mark.parametrize(("path", "name", "block"), [pytest.param(*b, id=b[1]) for b in readme_blocks()])
def test_readme_block_is_the_tested_region(path: str, name: str, block: str) -> None:
    tested = region(ROOT / path, name)
    assert block == tested, f"README block {name} differs from {path}; the tested code is:\n{tested}"


def test_every_region_is_in_the_readme() -> None:
    in_readme = {(path, name) for path, name, _ in readme_blocks()}
    regions = {
        (str(p.relative_to(ROOT)), name)
        for p in SOURCES
        if "node_modules" not in p.parts
        for name in re.findall(r"\[START (readme-[\w-]+)\]", p.read_text())
    }
    assert len(regions) >= 5
    assert regions == in_readme

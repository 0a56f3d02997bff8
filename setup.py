"""Ship `cloudtasks_emu_patch.pth` at the top of site-packages, in wheels and in editable installs.

Python runs a `.pth` line that starts with `import` at every interpreter start; ours patches the
official clients only when CLOUDTASKS_EMU_PATCH=1 (see cloudtasks_emu/patch.py). Everything else about
the package is in pyproject.toml.
"""

from __future__ import annotations

import os
from typing import Any

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

PTH_NAME = "cloudtasks_emu_patch.pth"
# One line, and cheap when the variable is unset: `os` is loaded already when .pth files run.
PTH_LINE = (
    'import os; os.environ.get("CLOUDTASKS_EMU_PATCH") == "1" and '
    '__import__("cloudtasks_emu.patch").patch.install_from_environment()\n'
)


class BuildPyWithPth(build_py):
    """Regular wheels: whatever sits at the top of build_lib lands at the top of site-packages."""

    def run(self) -> None:
        super().run()
        with open(os.path.join(self.build_lib, PTH_NAME), "w", encoding="utf-8") as file:
            file.write(PTH_LINE)


class _StrategyWithPth:
    """Wraps setuptools' editable strategy so the editable wheel carries our .pth too."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __enter__(self) -> _StrategyWithPth:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> Any:
        return self._inner.__exit__(*exc)

    def __call__(self, wheel: Any, files: Any, mapping: Any) -> None:
        self._inner(wheel, files, mapping)
        wheel.writestr(PTH_NAME, PTH_LINE.encode())


class EditableWheelWithPth(editable_wheel):
    """Editable installs (`pip install -e .`) link the packages only, so add the .pth by hand."""

    def _select_strategy(self, *args: Any, **kwargs: Any) -> Any:
        return _StrategyWithPth(super()._select_strategy(*args, **kwargs))


setup(cmdclass={"build_py": BuildPyWithPth, "editable_wheel": EditableWheelWithPth})

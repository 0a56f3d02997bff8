"""The release artefacts: what `python -m build` makes is what PyPI will show and pip will install."""

from __future__ import annotations

import re
import tarfile
import zipfile
from email.parser import HeaderParser

from cloudtasks_emu import __version__

from .conftest import ROOT, Dist, Venv

# Nothing of the repository's own tooling, tests or caches belongs in what users download.
UNWANTED = re.compile(r"(^|/)(tests?|__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache|\.venv|node_modules)/|\.pyc$")


def test_sdist_and_wheel_carry_the_package_and_nothing_else(dist: Dist) -> None:
    # Given the two artefacts (twine check --strict passed when they were built)
    with tarfile.open(dist.sdist) as sdist:
        sdist_names = [name.split("/", 1)[1] for name in sdist.getnames() if "/" in name]
    with zipfile.ZipFile(dist.wheel) as wheel:
        wheel_names = wheel.namelist()
        metadata = HeaderParser().parsestr(wheel.read(f"cloudtasks_emu-{__version__}.dist-info/METADATA").decode())
    # Then neither holds tests or caches, and both carry the license
    assert [n for n in sdist_names + wheel_names if UNWANTED.search(n)] == []
    assert "LICENSE" in sdist_names
    assert f"cloudtasks_emu-{__version__}.dist-info/licenses/LICENSE" in wheel_names
    assert "cloudtasks_emu_patch.pth" in wheel_names  # the start-up hook of CLOUDTASKS_EMU_PATCH
    assert "cloudtasks_emu/dashboard/static/index.html" in wheel_names
    # And the metadata is the one version, the declared license, real URLs and the README as description
    assert dist.wheel.name == f"cloudtasks_emu-{__version__}-py3-none-any.whl"
    assert metadata["Version"] == __version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().strip() == (ROOT / "README.md").read_text().strip()
    urls = metadata.get_all("Project-URL") or []
    assert urls
    assert all("https://github.com/cloudtasks-emu/cloudtasks-emu" in url for url in urls), urls
    assert any(c.startswith("Programming Language :: Python :: 3.11") for c in metadata.get_all("Classifier") or [])


def test_license_file_is_the_apache_license(dist: Dist) -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_installed_wheel_answers_its_version(dist: Dist, fresh_venv: Venv) -> None:
    # Given the wheel installed into a fresh virtualenv, its dependencies from the index
    fresh_venv.pip("install", "--quiet", str(dist.wheel))
    # Then the command says the version the package declares, as does the metadata pip installed
    done = fresh_venv.run("cloudtasks-emu", "--version")
    assert done.stdout.strip() == f"cloudtasks-emu {__version__}"
    assert fresh_venv.freeze()["cloudtasks-emu"] == __version__

"""The backends stay behind engine/storage/: above it, code holds the Backend bundle's interfaces only.

Nothing outside engine/storage/ imports psycopg or a backend module (only the package itself, whose
`open_backend` is the one opener), nor asks which storage class it holds.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "cloudtasks_emu"
STORAGE = "cloudtasks_emu.engine.storage"


def _module(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path) -> list[str]:
    """Every module `path` imports, made absolute (a `from X import y` counts X.y as well: y may be a module)."""
    here = _module(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found += [module, *(f"{module}.{alias.name}" for alias in node.names)]
    return found


def _storage_classes(root: Path) -> set[str]:
    """Classes defined under engine/storage/, but for its errors (caught by type like any error)."""
    names = set()
    for path in (root / "engine" / "storage").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and not node.name.endswith("Error"):
                names.add(node.name)
    return names


def _outside_storage(root: Path) -> list[Path]:
    storage = root / "engine" / "storage"
    return [path for path in sorted(root.rglob("*.py")) if storage not in path.parents and "_pb" not in path.parts]


def boundary_breaches(root: Path = PACKAGE) -> list[str]:
    """What crosses into engine/storage/ from outside it: backend imports and type questions."""
    classes, exports = _storage_classes(root), _storage_exports(root)
    breaches = []
    for path in _outside_storage(root):
        where = path.relative_to(root.parent)
        for name in _imports(path, root):
            # `from .engine.storage import Backend` names the package's own interface: allowed.
            backend = name.startswith(STORAGE + ".") and name[len(STORAGE) + 1 :] not in exports
            if name.split(".")[0] == "psycopg" or backend:
                breaches.append(f"{where} imports {name}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance":
                kinds = list(ast.walk(node.args[-1]))
                named = {n.id for n in kinds if isinstance(n, ast.Name)} | {
                    n.attr for n in kinds if isinstance(n, ast.Attribute)
                }
                breaches += [f"{where}:{node.lineno} asks isinstance(..., {c})" for c in sorted(named & classes)]
    return breaches


def _storage_exports(root: Path) -> set[str]:
    """The names engine/storage/__init__.py defines or lists in __all__ (what callers may import)."""
    tree = ast.parse((root / "engine" / "storage" / "__init__.py").read_text(encoding="utf-8"))
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            assert isinstance(node.value, ast.List)
            names |= {str(elt.value) for elt in node.value.elts if isinstance(elt, ast.Constant)}
    return names


def test_nothing_outside_storage_imports_a_backend_or_asks_its_type() -> None:
    assert boundary_breaches() == []


def test_the_check_sees_a_backend_import_and_a_type_question(tmp_path: Path) -> None:
    # Guards the guard: a copy of the package with one of each breach added.
    root = tmp_path / "cloudtasks_emu"
    (root / "engine" / "storage").mkdir(parents=True)
    (root / "engine" / "storage" / "__init__.py").write_text("def open_backend(): ...\n")
    (root / "engine" / "storage" / "memory.py").write_text("class MemoryStorage: ...\n")
    (root / "engine" / "__init__.py").write_text("")
    (root / "engine" / "scheduler.py").write_text(
        "from .storage import open_backend\nfrom .storage.memory import MemoryStorage\n"
        "def f(s: object) -> bool:\n    return isinstance(s, MemoryStorage)\n"
    )
    (root / "app.py").write_text("import psycopg\nfrom .engine.storage import open_backend\n")
    assert boundary_breaches(root) == [
        "cloudtasks_emu/app.py imports psycopg",
        "cloudtasks_emu/engine/scheduler.py imports cloudtasks_emu.engine.storage.memory",
        "cloudtasks_emu/engine/scheduler.py imports cloudtasks_emu.engine.storage.memory.MemoryStorage",
        "cloudtasks_emu/engine/scheduler.py:4 asks isinstance(..., MemoryStorage)",
    ]


def test_importing_the_emulator_loads_no_backend_module_or_database_driver() -> None:
    script = (
        "import sys, cloudtasks_emu.app, cloudtasks_emu.cli\n"
        "print(sorted(m for m in sys.modules if m.startswith(('psycopg', 'cloudtasks_emu.engine.storage.'))))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"

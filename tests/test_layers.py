"""The layers of DESIGN.md section 1: imports point inward only.

``ledger`` is pure (no clock, randomness, network, disk, concurrency) and imports nothing else of
the project; ``store`` and ``ordering`` build on ``ledger`` alone; ``node`` never reaches up into
the layers that sit on top of it. Every import statement counts, wherever it is (module level,
inside a function, under ``if TYPE_CHECKING``), and relative imports are resolved first.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = "reliefledger"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "src" / PACKAGE

FORBIDDEN_IN_LEDGER = frozenset(
    {
        "time", "datetime", "random", "secrets", "os", "socket", "asyncio", "sqlite3", "http",
        "urllib", "uuid", "threading", "subprocess", "multiprocessing", "pathlib", "io", "select",
        "ssl", "nats", "httpx", "fastapi", "uvicorn",
    }
)
"""Top-level modules the pure core may not import: clocks, randomness, I/O, networking."""

ABOVE_NODE = ("cli", "web", "analytics", "sim", "interop")


def find_modules(package_root: Path, layer: str) -> list[Path]:
    """Every .py file under ``package_root/layer`` (none when the directory does not exist)."""
    directory = package_root / layer
    if not directory.is_dir():
        return []
    return sorted(directory.rglob("*.py"))


def get_module_name(package_root: Path, path: Path) -> str:
    """``reliefledger.ledger.contracts.membership`` for .../reliefledger/ledger/contracts/membership.py."""
    parts = list(path.relative_to(package_root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package_root.name, *parts])


def find_imports(package_root: Path, path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every module ``path`` imports.

    ``from a.b import c`` is recorded as ``a.b.c``, since ``c`` may be a submodule: so
    ``from reliefledger import store`` counts as importing ``reliefledger.store``.
    """
    module_name = get_module_name(package_root, path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve_from(module_name, is_package, node.level, node.module)
            for alias in node.names:
                found.append((node.lineno, base if alias.name == "*" else f"{base}.{alias.name}"))
    return found


def resolve_from(module_name: str, is_package: bool, level: int, module: str | None) -> str:
    """The absolute module a ``from`` import reads from."""
    if level == 0:
        return module or ""
    parts = module_name.split(".")
    if not is_package:
        parts = parts[:-1]  # a module's relative imports start at its package
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    return ".".join([*parts, module] if module else parts)


def is_within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def find_ledger_violations(package_root: Path) -> list[str]:
    violations = []
    for path in find_modules(package_root, "ledger"):
        for line, name in find_imports(package_root, path):
            top = name.split(".")[0]
            if top in FORBIDDEN_IN_LEDGER:
                violations.append(f"{path}:{line}: imports {name} (no clock, randomness or I/O in ledger)")
            elif top == PACKAGE and not is_within(name, f"{PACKAGE}.ledger"):
                violations.append(f"{path}:{line}: imports {name} (ledger imports nothing else of the project)")
    return violations


def find_inner_layer_violations(package_root: Path, layer: str) -> list[str]:
    allowed = (f"{PACKAGE}.ledger", f"{PACKAGE}.{layer}")
    violations = []
    for path in find_modules(package_root, layer):
        for line, name in find_imports(package_root, path):
            if name.split(".")[0] == PACKAGE and not any(is_within(name, prefix) for prefix in allowed):
                violations.append(f"{path}:{line}: imports {name} ({layer} may import only reliefledger.ledger)")
    return violations


def find_node_violations(package_root: Path) -> list[str]:
    violations = []
    for path in find_modules(package_root, "node"):
        for line, name in find_imports(package_root, path):
            for layer in ABOVE_NODE:
                if is_within(name, f"{PACKAGE}.{layer}"):
                    violations.append(f"{path}:{line}: imports {name} (node sits below {layer})")
    return violations


def test_package_is_where_the_test_expects():
    assert (PACKAGE_ROOT / "__init__.py").is_file()
    assert find_modules(PACKAGE_ROOT, "ledger"), "no ledger modules found: the layer test would check nothing"


def test_ledger_is_pure_and_self_contained():
    violations = find_ledger_violations(PACKAGE_ROOT)
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("layer", ["store", "ordering"])
def test_store_and_ordering_import_only_ledger(layer):
    violations = find_inner_layer_violations(PACKAGE_ROOT, layer)
    assert not violations, "\n".join(violations)


def test_node_does_not_import_the_layers_above_it():
    violations = find_node_violations(PACKAGE_ROOT)
    assert not violations, "\n".join(violations)


# The checker itself, on a synthetic tree ---------------------------------------------------------


def write_tree(root: Path, files: dict[str, str]) -> Path:
    package_root = root / PACKAGE
    package_root.mkdir(parents=True, exist_ok=True)
    for relative, text in files.items():
        path = package_root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (package_root / "__init__.py").write_text("", encoding="utf-8")
    return package_root


def test_checker_finds_every_kind_of_ledger_violation(tmp_path):
    package_root = write_tree(
        tmp_path,
        {
            "ledger/__init__.py": "",
            "ledger/clean.py": "import hashlib\nfrom typing import Any\nfrom reliefledger.ledger import limits\nfrom . import errors\n",
            "ledger/clock.py": "import time\n",
            "ledger/dotted.py": "import os.path\n",
            "ledger/from_import.py": "from datetime import datetime\n",
            "ledger/late.py": "def f():\n    import random\n    return random.random()\n",
            "ledger/contracts/__init__.py": "",
            "ledger/contracts/deep.py": "from urllib.parse import quote\n",
            "ledger/contracts/upward.py": "from ...store import block_store\n",
            "ledger/up_absolute.py": "from reliefledger import store\n",
            "ledger/up_module.py": "import reliefledger.node.api\n",
            "ledger/lookalike.py": "import iofile\nimport timeit_extra\n",
        },
    )
    report = "\n".join(find_ledger_violations(package_root))
    for expected in (
        "clock.py:1: imports time",
        "dotted.py:1: imports os.path",
        "from_import.py:1: imports datetime.datetime",
        "late.py:2: imports random",
        "deep.py:1: imports urllib.parse.quote",
        "upward.py:1: imports reliefledger.store.block_store",
        "up_absolute.py:1: imports reliefledger.store",
        "up_module.py:1: imports reliefledger.node.api",
    ):
        assert expected in report, expected
    assert "clean.py" not in report and "lookalike.py" not in report


def test_checker_resolves_relative_imports_of_packages_and_modules():
    assert resolve_from("reliefledger.ledger.contracts.membership", False, 1, "arguments") == "reliefledger.ledger.contracts.arguments"
    assert resolve_from("reliefledger.ledger.contracts", True, 1, "membership") == "reliefledger.ledger.contracts.membership"
    assert resolve_from("reliefledger.ledger.contracts.membership", False, 2, "errors") == "reliefledger.ledger.errors"
    assert resolve_from("reliefledger.ledger.contracts.membership", False, 3, None) == "reliefledger"


def test_checker_finds_store_ordering_and_node_violations(tmp_path):
    package_root = write_tree(
        tmp_path,
        {
            "store/__init__.py": "from reliefledger.store import schema\nfrom reliefledger.ledger import state\n",
            "store/bad.py": "from reliefledger.node import api\n",
            "ordering/jet.py": "from ..store import block_store\nimport reliefledger.ordering.protocol\n",
            "node/api.py": "from reliefledger import web\nfrom reliefledger.store import block_store\n",
            "node/loop.py": "import reliefledger.sim.scenario\nfrom ..cli import app\nfrom reliefledger.analytics import models\n",
        },
    )
    store = "\n".join(find_inner_layer_violations(package_root, "store"))
    assert "bad.py:1: imports reliefledger.node.api" in store and "__init__.py" not in store
    ordering = "\n".join(find_inner_layer_violations(package_root, "ordering"))
    assert "jet.py:1: imports reliefledger.store.block_store" in ordering
    assert "jet.py:2" not in ordering
    node = "\n".join(find_node_violations(package_root))
    assert "api.py:1: imports reliefledger.web" in node and "api.py:2" not in node
    assert "loop.py:1: imports reliefledger.sim.scenario" in node
    assert "loop.py:2: imports reliefledger.cli.app" in node
    assert "loop.py:3: imports reliefledger.analytics.models" in node


def test_missing_layer_directories_have_no_modules(tmp_path):
    package_root = write_tree(tmp_path, {})
    assert find_modules(package_root, "node") == []
    assert find_node_violations(package_root) == []
    assert find_inner_layer_violations(package_root, "ordering") == []

"""Every import in the code resolves, the lazy ones inside functions too: a module renamed (as
tests/test_review.py became tests/test_case_review.py) must not leave a bench phase, a demo step or
a tool failing only when it runs."""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("chalicelib", "bench", "devstack", "tools", "infra")


def _imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_every_import_of_our_own_modules_resolves() -> None:
    ours = PACKAGES + ("tests", "app")
    missing = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for module in _imported_modules(path):
                if module.split(".")[0] in ours and importlib.util.find_spec(module) is None:
                    missing.append(f"{path.relative_to(ROOT)}: {module}")
    assert missing == [], missing

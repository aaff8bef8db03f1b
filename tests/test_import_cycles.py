"""No import cycle among the modules of ``chalicelib`` (issue 10 §4, docs/decisions/0023).

Every import counts, the ones inside functions too (a lazy import is still a dependency: it only
moves the failure to run time); only ``if TYPE_CHECKING:`` blocks are left out, since they never run.
The few lazy imports allowed to close a cycle are listed in ``ALLOWED`` with the reason; a new
cycle, or an allowed edge that became a module-level import or disappeared, fails.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "chalicelib"

#: (importer, imported): lazy imports that close a cycle, each with why it is tolerated for now.
ALLOWED = {
    # A city's eligibility.json is validated by the rules engine's own parser (one parser, not a
    # second copy in the file model), and the engine loads the file through that model.
    ("chalicelib.city_files", "chalicelib.domain.eligibility"):
        "EligibilityFile is checked by eligibility.parse when the file loads",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, known: set[str]) -> dict[str, bool]:
    """{imported module: True when imported at module level (False: only inside a function)}."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function |= {id(n) for n in ast.walk(node) if n is not node}
    found: dict[str, bool] = {}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name in known:
                found[name] = found.get(name, False) or id(node) not in in_function
    return found


def graph() -> dict[str, dict[str, bool]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(files)
    return {name: {m: top for m, top in imports(p, known).items() if m != name} for name, p in files.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_checker_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_chalicelib() -> None:
    g = graph()
    edges = {m: {t for t in targets if (m, t) not in ALLOWED} for m, targets in g.items()}
    found = cycles(edges)
    assert not found, f"import cycles among chalicelib modules (lazy imports count): {found}"


def test_allowed_edges_are_real_and_lazy() -> None:
    g = graph()
    for (importer, imported), why in ALLOWED.items():
        assert imported in g[importer], f"{importer} no longer imports {imported}: drop it from ALLOWED ({why})"
        assert not g[importer][imported], f"{importer} imports {imported} at module level"


def test_the_composition_root_is_imported_only_by_entry_points() -> None:
    """Nothing in chalicelib imports the root (app.py, devstack and tests do), and the domain's
    accessor (chalicelib.deps) imports no repository or domain module."""
    g = graph()
    importers = sorted(m for m, targets in g.items() if "chalicelib.composition" in targets)
    assert importers == [], importers
    assert set(g["chalicelib.deps"]) <= {"chalicelib", "chalicelib.config", "chalicelib.config.Settings",
                                         "chalicelib.config.settings"}, g["chalicelib.deps"]
    for name, targets in g.items():
        if name.startswith("chalicelib.repositories"):
            assert "chalicelib.deps" not in targets, f"{name} reaches the global container: hand it in instead"

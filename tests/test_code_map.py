"""The code stays findable (issue 10 §1, docs/decisions/0025): one name per concept, modules small
enough to read, and the README's map naming every module.

- No module in ``chalicelib`` is over ``MAX_LINES`` lines, except the ones in ``LARGE`` (each with
  why). A module that grows past it mixes concepts: split it by concept, not by size.
- Every module file in ``chalicelib`` is named in README.md's "Where things are" table, in a row
  for its folder (``chalicelib/domain/`` or a ``chalicelib/domain/...`` path): by its path, or as
  `` `name` `` / `` `name.py` ``. A new module without a line in the map fails here.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "chalicelib"
MAX_LINES = 500

#: Modules allowed over MAX_LINES, with why.
LARGE = {
    "chalicelib/repositories/tables.py": "the single table definition: every PynamoDB model in one file",
    "chalicelib/bodies.py": "every request body in one module: the label, masking and boundary tests walk it "
                            "(its concepts' bodies grew past 500 lines with rent, issue 11)",
    "chalicelib/errors.py": "every domain error in one module (STYLE: one exceptions module; error_table.py maps "
                            "each class): it grew past 500 lines with issue 12's renewal and move-out",
}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_no_module_is_over_the_limit() -> None:
    sizes = {rel(p): len(p.read_text(encoding="utf-8").splitlines()) for p in modules()}
    over = {m: n for m, n in sizes.items() if n > MAX_LINES and m not in LARGE}
    assert not over, f"modules over {MAX_LINES} lines (split them by concept): {over}"
    for m, why in LARGE.items():
        assert m in sizes, f"{m} is gone: drop it from LARGE ({why})"
        assert sizes[m] > MAX_LINES, f"{m} is {sizes[m]} lines now: drop it from LARGE ({why})"


def code_map() -> list[tuple[str, str]]:
    """The rows of README.md's "Where things are" table: (path cell, what cell)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Where things are", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2 and cells[0] not in ("path", "---"):
            rows.append((cells[0], "|".join(cells[1:])))
    return rows


def folders_of(cell: str) -> set[str]:
    """The folders a row's path cell speaks for: `chalicelib/domain/` or `chalicelib/domain/x.py`."""
    out = set()
    for token in re.findall(r"`([^`]+)`", cell):
        token = token.strip()
        if token.endswith("/"):
            out.add(token.rstrip("/"))
        elif token.endswith(".py") and "/" in token:
            out.add(token.rsplit("/", 1)[0])
    return out


def named(path: str, rows: list[tuple[str, str]]) -> bool:
    folder, _, name = path.rpartition("/")
    stem = name.removesuffix(".py")
    for cell, what in rows:
        row = f"{cell} {what}"
        if f"`{path}`" in row:
            return True
        if folder in folders_of(cell) and re.search(rf"`{re.escape(stem)}(\.py)?`", row):
            return True
    return False


def test_every_module_is_named_in_the_readme_map() -> None:
    rows = code_map()
    assert rows, "README.md has no 'Where things are' table"
    missing = [rel(p) for p in modules() if p.name != "__init__.py" and not named(rel(p), rows)]
    assert not missing, f"modules the README's map does not name (add them to its table): {missing}"


def test_the_map_checker_sees_a_missing_module() -> None:
    rows = [("`chalicelib/domain/`", "the domain: `leases.py`, `groups`"), ("`app.py`", "the app")]
    assert named("chalicelib/domain/leases.py", rows) and named("chalicelib/domain/groups.py", rows)
    assert not named("chalicelib/domain/lease.py", rows)  # a prefix is not a name
    assert not named("chalicelib/handlers/leases.py", rows)  # named for another folder only
    assert named("app.py", rows)


def test_every_handler_module_tags_its_routes_with_its_own_name() -> None:
    """The OpenAPI tag is what a generated SDK names its API module after (`api/<tag>/...`): one concept,
    one name, in the document too."""
    import chalicelib.handlers  # noqa: F401  (declaring the routes fills OPERATIONS)
    from chalicelib.web import OPERATIONS

    modules_of = {}
    for path in sorted((ROOT / "chalicelib" / "handlers").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        found = re.search(r'Api\(bp, "([^"]+)"\)', text)
        if found:
            modules_of[path.stem] = found.group(1)
    wrong = {module: tag for module, tag in modules_of.items() if tag != module}
    assert modules_of and not wrong, f"handler modules whose routes carry another concept's tag: {wrong}"
    assert {o.tag for o in OPERATIONS} <= set(modules_of)

"""No domain exception escapes a route as a 500 (the guide: "no 500"). Static scans (AST), so a new
``raise`` is covered the moment it is written:

1. every ``raise`` of a class in chalicelib/domain raises a chalicelib.errors class (the error table
   gives it a status, a code and a zh-CN message), or a class listed here with why it cannot reach
   a caller: ``CONTAINED`` (a module's own exception, turned into an errors class at every call from
   another module), ``CONTROL_FLOW`` (a signal some ``except`` of chalicelib handles) or
   ``INVARIANTS`` (a programming error in this module: a 500 with a correlation id is the honest
   answer, never bad input or bad data);
2. a ``CONTAINED`` class: every call from another chalicelib module of a function of its module
   that can raise it (directly, or through another function of the module) sits in a ``try`` whose
   handler names the class. The lottery's commit and draw calling ``draw.commitment_document`` and
   ``draw.draw`` unguarded answered 500 for a repeated registration number; this is that check.

The call-site check follows calls one module deep: a function of another module that catches the
class only to re-raise it hands the duty to its own callers, which this scan does not follow.
Raises of values (``raise exc``, ``raise conflict``, ``raise _invalid(...)``: lowercase names, a
method, ``type(exc)(...)``) are re-raises or factories of errors classes and are not classes here.
"""
from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHALICELIB = ROOT / "chalicelib"
DOMAIN = CHALICELIB / "domain"

#: The module's own exception, mapped to an errors class by every caller outside the module.
CONTAINED = {
    "DrawError": "draw",  # lottery.commit / run_draw: ROUND_DATA_INCONSISTENT
    "InvalidRules": "eligibility",  # city_files (a wrong city file fails loading), rule_versions (400)
}
#: (module, function) that can raise its module's CONTAINED class in principle, never in fact: what it
#: checks was checked by the same code before.
CHECKED_BEFORE = {
    ("eligibility", "rule_book"): "parses the city's eligibility.json, which city_files validated with the same "
                                  "parse when it loaded the file (a wrong file fails loading and the tests)",
}
#: Signals raised and handled inside a step (a retried change with nothing left to do, a row refused).
CONTROL_FLOW = {"Skip", "_Done", "Refused"}
#: (module, class): a programming error in that module, not something a caller sent or stored data says.
INVARIANTS = {
    ("bills", "ValueError"),  # month_bounds of a month checked before (billing_runs.check_month)
    ("reconciliation_matching", "ValueError"),  # inputs from our own sorted queries
    ("pdf", "ValueError"),  # money not a whole number of fen
    ("reviews", "AssertionError"),  # unreachable after the retry loop
    ("lottery", "AssertionError"),  # unreachable after the numbering loop
    ("lifecycle", "TypeError"),  # a lifecycle table malformed: at import
    ("lifecycle", "AttributeError"),  # the module's __getattr__
    ("imports", "TypeError"),  # json.dumps' default (_listed): a stored value no record holds
}


@cache
def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(_text(path), filename=str(path))


def _modules(root: Path) -> dict[Path, ast.Module]:
    return {p: _tree(p) for p in sorted(root.rglob("*.py"))}


def _errors_names(tree: ast.Module) -> set[str]:
    """Names a module imported from chalicelib.errors."""
    return {a.asname or a.name for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "chalicelib.errors" for a in node.names}


def _raised(exc: ast.expr) -> list[str]:
    """The class names a ``raise`` names ("errors.X" for the errors module), values left out."""
    if isinstance(exc, ast.IfExp):
        return _raised(exc.body) + _raised(exc.orelse)
    target = exc.func if isinstance(exc, ast.Call) else exc
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "errors":
        return [f"errors.{target.attr}"]
    if isinstance(target, ast.Name) and target.id.lstrip("_")[:1].isupper():
        return [target.id]
    return []


@cache
def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _handler_names(handler: ast.ExceptHandler) -> set[str]:
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type] if handler.type else []
    return {t.attr if isinstance(t, ast.Attribute) else t.id for t in types if isinstance(t, (ast.Name, ast.Attribute))}


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST], cls: str) -> bool:
    """``node`` sits in the body of a ``try`` with a handler naming ``cls``."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Try) and child in parent.body and any(cls in _handler_names(h) for h in parent.handlers):
            return True
        child, parent = parent, parents.get(parent)
    return False


def _enclosing_function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str | None:
    parent = parents.get(node)
    while parent is not None:
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)) and isinstance(parents.get(parent), ast.Module):
            return parent.name
        parent = parents.get(parent)
    return None


def raising_functions(tree: ast.Module, cls: str) -> set[str]:
    """Top-level functions of a module from which ``cls`` can leave (raised, or a call of another such
    function, outside a ``try`` that catches it)."""
    parents = _parents(tree)
    raising: set[str] = set()
    while True:
        found = set(raising)
        for node in ast.walk(tree):
            hit = (isinstance(node, ast.Raise) and node.exc is not None and cls in _raised(node.exc)) or (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in raising)
            if hit and not _guarded(node, parents, cls):
                name = _enclosing_function(node, parents)
                if name:
                    found.add(name)
        if found == raising:
            return raising
        raising = found


def _aliases(tree: ast.Module, module: str) -> tuple[set[str], set[str]]:
    """How a module refers to chalicelib.domain.<module>: as a module name, and by imported function names."""
    as_module, functions = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "chalicelib.domain":
            as_module |= {a.asname or a.name for a in node.names if a.name == module}
        elif isinstance(node, ast.ImportFrom) and node.module == f"chalicelib.domain.{module}":
            functions |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            as_module |= {a.asname for a in node.names if a.name == f"chalicelib.domain.{module}" and a.asname}
    return as_module, functions


def unguarded_calls(cls: str, module: str) -> list[str]:
    """Calls from other chalicelib modules of ``module``'s functions that can raise ``cls``, outside a
    ``try`` naming ``cls``: each one a 500 waiting to happen."""
    home = DOMAIN / f"{module}.py"
    raising = raising_functions(_tree(home), cls) - {f for m, f in CHECKED_BEFORE if m == module}
    out = []
    for path in sorted(CHALICELIB.rglob("*.py")):
        if path == home or (f"chalicelib.domain.{module}" not in _text(path) and not re.search(
                rf"from chalicelib\.domain import[^\n]*\b{module}\b", _text(path))):
            continue  # no import of the module: nothing to walk
        tree = _tree(path)
        as_module, functions = _aliases(tree, module)
        if not as_module and not functions & raising:
            continue
        parents = _parents(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = (f.attr if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in as_module
                    else f.id if isinstance(f, ast.Name) and f.id in functions else None)
            if name in raising and not _guarded(node, parents, cls):
                out.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}() can raise {cls}")
    return out


def test_every_class_the_domain_raises_is_an_error_of_the_table_or_accounted_for() -> None:
    unaccounted = []
    for path, tree in _modules(DOMAIN).items():
        from_errors = _errors_names(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            for cls in _raised(node.exc):
                if (cls.startswith("errors.") or cls in from_errors or cls in CONTAINED or cls in CONTROL_FLOW
                        or (path.stem, cls) in INVARIANTS):
                    continue
                unaccounted.append(f"{path.relative_to(ROOT)}:{node.lineno} raise {cls}")
    assert not unaccounted, ("raise an errors class (errors.py + error_table.py: status, code, zh-CN message), or "
                             "say here why it cannot reach a caller as a 500:\n" + "\n".join(unaccounted))


def test_every_errors_class_the_domain_raises_has_a_row_in_the_error_table() -> None:
    from chalicelib import errors
    from chalicelib.error_table import ERRORS

    raised = {cls[len("errors."):] for tree in _modules(DOMAIN).values() for node in ast.walk(tree)
              if isinstance(node, ast.Raise) and node.exc is not None
              for cls in _raised(node.exc) if cls.startswith("errors.")}
    missing = sorted(name for name in raised if getattr(errors, name) not in ERRORS)
    assert not missing, f"errors without their own row (status, code, zh-CN message): {missing}"


def test_a_contained_exception_is_caught_at_every_call_from_another_module() -> None:
    problems = [p for cls, module in CONTAINED.items() for p in unguarded_calls(cls, module)]
    assert not problems, "\n".join(problems)


def test_every_control_flow_signal_is_handled_somewhere() -> None:
    handled = {name for path in sorted(CHALICELIB.rglob("*.py")) if re.search(r"except .*\b_?[A-Z]", _text(path))
               for node in ast.walk(_tree(path))
               if isinstance(node, ast.ExceptHandler) for name in _handler_names(node)}
    assert CONTROL_FLOW <= handled, sorted(CONTROL_FLOW - handled)


def test_the_scan_finds_the_escape_it_exists_for() -> None:
    """The call-site check on the bug it was written for: a commit calling the draw unguarded."""
    tree = ast.parse((DOMAIN / "draw.py").read_text(encoding="utf-8"))
    assert {"commitment_document", "draw", "derive_seed"} <= raising_functions(tree, "DrawError")
    assert "verify" not in raising_functions(tree, "DrawError")  # it catches its own
    caller = ast.parse("from chalicelib.domain import draw\n\ndef commit():\n    return draw.draw({}, 'x')\n\n"
                       "def guarded():\n    try:\n        return draw.draw({}, 'x')\n    except draw.DrawError:\n"
                       "        raise\n")
    parents = _parents(caller)
    calls = [n for n in ast.walk(caller) if isinstance(n, ast.Call)]
    assert [_guarded(c, parents, "DrawError") for c in calls] == [False, True]

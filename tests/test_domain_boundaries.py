"""The domain knows nothing of HTTP and receives types (issue 10 §3, docs/decisions/0022).

Static scans (AST, no import of the app), so a new domain module or a new handler is covered the
moment it is written:

1. no module under chalicelib/domain imports chalicelib.web, chalicelib.handlers or chalice (at
   the top or inside a function), nor names the web layer's error shaping (``error_body``,
   ``item_failure``, ``json_response``, ``Response``);
2. a request body reaches the domain as its validated model (``chalicelib.bodies``), never as a
   dict. The rule, checked at every call a route handler makes into a chalicelib.domain function:
   - no argument is the body dict whole: ``call.body()`` or a name bound to it (a single value
     taken out of it, ``call.body()["version"]``, is a typed scalar and fine);
   - an argument ``call.model()`` lands on a parameter annotated with a model of chalicelib.bodies;
   - no parameter of the called function is annotated as a plain dict or ``Any`` and named like a
     body (``body``, ``data``, ``payload``, ``changes``) — except the two documented bodies whose
     shape is the city's data, not a model (self-assessment answers, a rules version: they are
     validated by the rules engine against the city's facts).
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ROOT / "chalicelib" / "domain"
HANDLERS = ROOT / "chalicelib" / "handlers"
BODIES = ROOT / "chalicelib" / "bodies.py"

FORBIDDEN_IMPORTS = ("chalicelib.web", "chalicelib.handlers", "chalice")
FORBIDDEN_NAMES = {"error_body", "error_response", "item_failure", "error_code", "json_response", "Response"}
BODY_LIKE = {"body", "data", "payload", "changes"}
#: Bodies documented by a schema the city's data gives (``body_schema=``), checked by the rules engine.
CITY_SHAPED = {("self_assessment", "assess", "answers"), ("rule_versions", "publish", "body")}


#: Ratchet (issue 10 §3, not finished in one sitting): domain functions that still take the body as a
#: dict. The list only shrinks: a new function of the kind fails, and so does an entry that no
#: longer needs to be here (remove it when its function takes the model).
STILL_DICTS: set[str] = set()  # every domain function called by a handler takes its model now: keep it empty


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.py"))


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "module" \
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return [node.args[0].value]  # lazy.module("chalicelib.web")
    return []


def _is_forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN_IMPORTS)


def test_the_domain_imports_nothing_of_http() -> None:
    found = []
    modules = _modules(DOMAIN)
    assert len(modules) > 20, "the scan must see the domain"
    for path in modules:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            for module in _imported(node):
                if _is_forbidden(module):
                    found.append(f"{path.name}:{node.lineno} imports {module}")
            if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
                found.append(f"{path.name}:{node.lineno} uses {node.id}")
            if isinstance(node, ast.ImportFrom) and any(a.name in FORBIDDEN_NAMES for a in node.names):
                found.append(f"{path.name}:{node.lineno} imports the web layer's {node.names[0].name}")
    assert not found, "the domain knows nothing of HTTP: " + "; ".join(found)


def test_the_import_scan_catches_what_it_forbids() -> None:
    """The scan itself: each forbidden form, top level and inside a function, is seen."""
    samples = ["from chalicelib.web import error_body", "import chalice", "from chalice import Response",
               "def f():\n    from chalicelib.handlers.case_review import approve\n",
               "x = lazy.module('chalicelib.web')"]
    for source in samples:
        tree = ast.parse(source)
        assert any(_is_forbidden(m) for n in ast.walk(tree) for m in _imported(n)), source
    assert not any(_is_forbidden(m) for n in ast.walk(ast.parse("import chalicelib.errors")) for m in _imported(n))


# --- the adapters come from the composition root ---------------------------------------------------
#: The adapter functions the domain reaches only through ``deps()`` (notifier, workflow,
#: real_name_check, payment_providers: docs/decisions/0023, 0026), by the module that defines them.
ADAPTER_FUNCTIONS = {"chalicelib.notify": {"notify"}, "chalicelib.workflow": {"start_verification"},
                     "chalicelib.realname": {"check"}, "chalicelib.payment_providers": {"providers", "Providers"}}


def _adapter_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """``from chalicelib.notify import notify`` (any alias), and ``<module>.notify`` where the module
    was imported whole (``import chalicelib.workflow``, ``from chalicelib import realname as rn``)."""
    found: list[tuple[int, str]] = []
    whole: dict[str, str] = {}  # local name -> adapter module
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in ADAPTER_FUNCTIONS:
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names
                      if a.name in ADAPTER_FUNCTIONS[node.module]]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "chalicelib":
            for a in node.names:
                if f"chalicelib.{a.name}" in ADAPTER_FUNCTIONS:
                    whole[a.asname or a.name] = f"chalicelib.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name in ADAPTER_FUNCTIONS:
                    whole[a.asname or a.name] = a.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            dotted = ast.unparse(node.value)
            module = whole.get(dotted)
            if module and node.attr in ADAPTER_FUNCTIONS[module]:
                found.append((node.lineno, f"{module}.{node.attr}"))
    return found


def test_the_domain_reaches_its_adapters_through_the_container() -> None:
    found = []
    for path in _modules(DOMAIN):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [f"{path.name}:{line} uses {name}" for line, name in _adapter_calls(tree)]
    assert not found, ("the domain calls its adapters through deps().notifier / .workflow / .real_name_check / "
                       ".payment_providers, "
                       "never the module functions: " + "; ".join(found))


def test_the_adapter_scan_catches_what_it_forbids() -> None:
    samples = ["def f():\n    from chalicelib.notify import Notice, notify\n",
               "from chalicelib.workflow import start_verification as go",
               "from chalicelib.realname import CheckStatus, check",
               "import chalicelib.workflow\nchalicelib.workflow.start_verification('a', 'r')",
               "from chalicelib import realname as rn\nrn.check(settings)",
               "from chalicelib import notify\nnotify.notify(n)",
               "from chalicelib.payment_providers import providers",
               "from chalicelib import payment_providers as pp\npp.providers(settings).get('wechat')"]
    for source in samples:
        assert _adapter_calls(ast.parse(source)), source
    allowed = ["from chalicelib.notify import Notice", "from chalicelib.realname import CheckStatus",
               "from chalicelib.domain.grants import check", "deps().notifier.notify(n)",
               "deps().workflow.start_verification('a', 'r')", "deps().real_name_check.start('n', 'i')",
               "from chalicelib.payment_providers import NotificationRefused, ProviderPayment",
               "deps().payment_providers.get('wechat').prepay('pay_1', 1, 'x', 'y')"]
    for source in allowed:
        assert not _adapter_calls(ast.parse(source)), source


# --- the domain receives types -------------------------------------------------------------------
def _body_models() -> set[str]:
    tree = ast.parse(BODIES.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.ClassDef)}


def _domain_functions() -> dict[str, dict[str, ast.FunctionDef]]:
    out = {}
    for path in _modules(DOMAIN):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        out[path.stem] = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    return out


def _aliases(tree: ast.Module) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """A handler module's names for domain modules (``apps`` -> applications) and functions."""
    modules: dict[str, str] = {}
    functions: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            for module in _imported(node.value):
                if module.startswith("chalicelib.domain."):
                    modules[node.targets[0].id] = module.rsplit(".", 1)[1]
        elif isinstance(node, ast.ImportFrom) and node.module == "chalicelib.domain":
            for a in node.names:
                modules[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chalicelib.domain."):
            for a in node.names:
                functions[a.asname or a.name] = (node.module.rsplit(".", 1)[1], a.name)
    return modules, functions


def _is_call_of(node: ast.AST, method: str) -> bool:
    """``call.body()`` / ``call.model()``."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "call")


def _annotation(arg: ast.arg) -> str:
    return ast.unparse(arg.annotation) if arg.annotation is not None else ""


def _plain(annotation: str) -> bool:
    bare = annotation.replace(" ", "").replace("|None", "")
    return bare in ("Any", "dict", "Mapping") or bare.startswith(("dict[", "Mapping[", "Dict["))


def _problems(handler_sources: dict[str, str]) -> list[str]:
    models = _body_models()
    domain = _domain_functions()
    problems = []
    calls = 0
    for name, source in handler_sources.items():
        tree = ast.parse(source)
        modules, functions = _aliases(tree)
        for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
            bound_to_body = {t.id for n in ast.walk(fn) if isinstance(n, ast.Assign) and _is_call_of(n.value, "body")
                             for t in n.targets if isinstance(t, ast.Name)}
            for node in ast.walk(fn):
                if not isinstance(node, ast.Call):
                    continue
                target = None
                if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
                        and node.func.value.id in modules:
                    target = (modules[node.func.value.id], node.func.attr)
                elif isinstance(node.func, ast.Name) and node.func.id in functions:
                    target = functions[node.func.id]
                if target is None or target[1] not in domain.get(target[0], {}):
                    continue
                calls += 1
                where = f"{name}.{fn.name} -> {target[0]}.{target[1]}"
                definition = domain[target[0]][target[1]]
                params = definition.args.posonlyargs + definition.args.args + definition.args.kwonlyargs
                passed = list(zip(definition.args.posonlyargs + definition.args.args, node.args, strict=False))
                passed += [(p, k.value) for k in node.keywords for p in params if p.arg == k.arg]
                for param, value in passed:
                    if _is_call_of(value, "body") or (isinstance(value, ast.Name) and value.id in bound_to_body):
                        problems.append(f"{where}: the body dict passed whole as {param.arg!r} (pass call.model())")
                    if _is_call_of(value, "model") and _annotation(param).split(" | ")[0] not in models:
                        problems.append(f"{where}: {param.arg!r} gets the model but is annotated "
                                        f"{_annotation(param) or 'nothing'}")
                for param in params:
                    if param.arg in BODY_LIKE and _plain(_annotation(param)) \
                            and (target[0], target[1], param.arg) not in CITY_SHAPED:
                        problems.append(f"{where}: parameter {param.arg!r} is a plain {_annotation(param)}")
    assert calls > 50, f"the scan must see the handlers' calls into the domain (saw {calls})"
    return problems


def _handler_sources() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in _modules(HANDLERS)}


def _target(problem: str) -> str:
    return problem.split(": ")[0].split(" -> ")[1]


def test_the_domain_receives_request_models_not_dicts() -> None:
    problems = _problems(_handler_sources())
    new = [p for p in problems if _target(p) not in STILL_DICTS]
    assert not new, "a request body reaches the domain as its model:\n  " + "\n  ".join(new)
    done = STILL_DICTS - {_target(p) for p in problems}
    assert not done, f"these take the model now: remove them from STILL_DICTS: {sorted(done)}"


def test_the_body_scan_catches_a_dict_passed_to_the_domain() -> None:
    """Against the real handlers with one call changed back to a dict: the rule notices."""
    sources = _handler_sources()
    sources["case_review"] = sources["case_review"].replace(
        "case_review.reject(application_id, call.actor, call.model())",
        "case_review.reject(application_id, call.actor, call.body())")
    assert any("case_review.reject" in p and "passed whole" in p for p in _problems(sources))
    sources = _handler_sources()
    sources["case_review"] = sources["case_review"].replace(
        "    return present(case_review.reject(application_id, call.actor, call.model())",
        "    body = call.body()\n    return present(case_review.reject(application_id, call.actor, body)")
    assert any("case_review.reject" in p and "passed whole" in p for p in _problems(sources))

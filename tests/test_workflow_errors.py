"""The error names in the state machines (infra/workflows/*.asl.json) are the Python exception class
names the steps raise: a renamed exception, a typo or a new retryable error fails here, not in a
department outage (issue 9 §7)."""
from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

import chalicelib
from chalicelib.handlers.verification import RETRY_ON

WORKFLOWS = sorted((Path(__file__).resolve().parent.parent / "infra" / "workflows").glob("*.asl.json"))
_FUNCTION = re.compile(r"^\$\{fn_([a-z_]+)\}$")
#: Error names Step Functions itself produces (the runtime's and the Lambda service's).
SERVICE_PREFIXES = ("States.", "Lambda.")


def exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in the app's code (chalicelib and its subpackages), by name."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == module.__name__:
                found[name] = value
    return found


def tasks(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        if state.get("Type") == "Task":
            yield name, state
        for branch in state.get("Branches", []):
            yield from tasks(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from tasks(state[key]["States"])


def steps(path: Path) -> list[tuple[str, str, set[str], set[str]]]:
    """(state, function, names its Retry lists, names its Catch lists) for every Task calling a function."""
    out = []
    for name, state in tasks(json.loads(path.read_text(encoding="utf-8"))["States"]):
        match = _FUNCTION.match(state.get("Resource", ""))
        assert match, f"{path.name}: {name} calls {state.get('Resource')!r}, not one of the app's functions"
        retry = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
        catch = {e for c in state.get("Catch", []) for e in c["ErrorEquals"]}
        out.append((name, match.group(1), retry, catch))
    return out


def test_there_are_workflows_with_steps() -> None:
    assert WORKFLOWS and all(steps(p) for p in WORKFLOWS)


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_every_error_name_is_an_exception_the_step_raises(path: Path) -> None:
    classes = exception_classes()
    for state, function, retry, catch in steps(path):
        assert function in RETRY_ON, f"{path.name}: {state} calls {function}, which declares no RETRY_ON"
        for error in sorted((retry | catch)):
            if error.startswith(SERVICE_PREFIXES):
                continue
            assert error in classes, f"{path.name}: {state} names {error!r}, which is no exception class of the app"
            assert error in RETRY_ON[function], f"{path.name}: {state} names {error!r}, which {function} does not raise"


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_every_retryable_exception_of_a_step_is_retried(path: Path) -> None:
    classes = exception_classes()
    for state, function, retry, _ in steps(path):
        for error in RETRY_ON.get(function, ()):
            assert error in classes and issubclass(classes[error], Exception), (function, error)
            assert error in retry, f"{path.name}: {state} ({function}) raises {error} for a retry, but Retry omits it"


def test_the_names_the_steps_declare_are_raised_under_those_names() -> None:
    """Step Functions sees a Python exception by its class name (``errorType``): the declared names
    are the classes' own names, not aliases."""
    classes = exception_classes()
    for function, names in RETRY_ON.items():
        for name in names:
            assert classes[name].__name__ == name, (function, name)

"""Every lifecycle is an enum plus one table (docs/decisions/0021): this file walks every table in
``LIFECYCLES`` and scans the domain and the repositories for a status spelled as a bare string.
Pure domain: no AWS, no app."""
from __future__ import annotations

import ast
import importlib
import pkgutil
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest

import chalicelib.domain
from chalicelib import errors
from chalicelib.domain.lifecycle import LIFECYCLES, Lifecycle
from chalicelib.web import ERRORS

ROOT = Path(__file__).resolve().parent.parent
PAIRS = [(name, s, t) for name, lc in LIFECYCLES.items() for s in lc.states for t in lc.states]
NAMES = sorted(LIFECYCLES)

#: The values stored and served today: changing one is a data migration and an API change, not a refactor.
STORED = {
    "export": {"queued", "running", "done", "failed"},
    "bill": {"unpaid", "paid", "cancelled"},
    "billing_run": {"running", "finished", "failed"},
    "payment": {"created", "paid", "closed", "refunding", "refunded"},
    "application": {"draft", "submitted", "verifying", "under_review", "supplement_requested", "approved",
                    "rejected", "in_publicity", "qualified", "housed", "withdrawn"},
    "consent": {"pending", "given", "withdrawn"},
    "document": {"awaiting_upload", "accepted", "rejected"},
    "identity_conflict": {"open", "resolved"},
    "import": {"awaiting_upload", "dry_running", "dry_run_done", "applying", "applied", "failed"},
    "lease": {"draft", "confirmed", "ended"},
    "move_out": {"requested", "scheduled", "inspected", "settled", "completed", "cancelled"},
    "objection": {"open", "upheld", "dismissed"},
    "policy": {"draft", "published", "withdrawn"},
    "publicity_batch": {"open", "closed"},
    "publicity_entry": {"in_publicity", "qualifying", "qualified", "removing", "removed", "dropped"},
    "real_name": {"pending", "verified", "disputed", "unverified"},
    "reconciliation": {"running", "completed", "failed"},
    "reconciliation_mismatch": {"open", "resolved"},
    "renewal": {"requested", "awaiting_review", "approved", "renewed", "refused", "cancelled"},
    "review": {"open", "verifying", "recommended", "decided"},
    "review_campaign_pass": {"running", "finished", "failed"},
    "round": {"open", "closed", "committed", "drawn", "published", "selection", "finished", "cancelled"},
    "selection_household": {"waiting", "invited", "chosen", "passed", "confirmed"},
    "selection_phase": {"starting", "first", "reinvite", "finished"},
    "stats_recount": {"running", "finished", "failed"},
    "unit": {"vacant", "reserved", "leased", "under_repair"},
    "verification_run": {"queued", "not_started", "running", "decided", "failed"},
    "ticket": {"filed", "accepted", "in_progress", "waiting_citizen", "resolved", "closed", "reopened"},
}


def answer(exc: errors.DomainError) -> tuple[int, str]:
    status, code, _ = next(ERRORS[k] for k in type(exc).__mro__ if k in ERRORS)  # type: ignore[index]
    return status, code


def test_the_registry_holds_every_lifecycle_of_the_domain() -> None:
    """A Lifecycle defined in any domain module is in LIFECYCLES (its module is in lifecycle._MODULES),
    and every *Status enum of the domain is the states of one."""
    found: dict[str, Lifecycle[Any]] = {}
    enums: set[type] = set()
    for info in pkgutil.iter_modules(chalicelib.domain.__path__):
        module = importlib.import_module(f"chalicelib.domain.{info.name}")
        for attr, value in vars(module).items():
            if isinstance(value, Lifecycle):
                found[value.name] = value
            if isinstance(value, type) and issubclass(value, StrEnum) and attr.endswith("Status") \
                    and value.__module__ == module.__name__:
                enums.add(value)
    assert found == LIFECYCLES
    assert enums <= {lc.states for lc in LIFECYCLES.values()}  # a lifecycle's states may be named otherwise (a phase)
    assert set(LIFECYCLES) == set(STORED), "a new lifecycle: add its stored values to STORED"


@pytest.mark.parametrize("name", NAMES)
def test_values_are_todays_strings_and_every_state_is_named(name: str) -> None:
    lc = LIFECYCLES[name]
    assert issubclass(lc.states, StrEnum)
    assert {s.value for s in lc.states} == STORED[name]
    assert set(lc.transitions) == set(lc.states)
    assert all(lc.names[s].strip() and not lc.names[s].isascii() for s in lc.states)  # zh-CN for the app


@pytest.mark.parametrize(("name", "current", "target"), PAIRS)
def test_every_pair_is_allowed_or_refused_with_a_409_code(name: str, current: StrEnum, target: StrEnum) -> None:
    lc = LIFECYCLES[name]
    if target in lc.transitions[current]:
        assert lc.move(current, target) is target
        assert lc.move(current.value, target.value) is target  # as read from storage
        assert lc.allows(current, target)
        return
    assert not lc.allows(current, target)
    with pytest.raises(errors.Conflict) as refused:
        lc.move(current, target)
    status, code = answer(refused.value)
    assert status == 409
    assert code not in ("CONFLICT", "INTERNAL_ERROR")  # a stable code of its own, not the generic one
    assert type(refused.value) is (lc.refusal(current, target).__class__)
    assert refused.value.field


@pytest.mark.parametrize("name", NAMES)
def test_terminal_states_have_no_exits(name: str) -> None:
    lc = LIFECYCLES[name]
    for state in lc.terminal:
        assert not lc.transitions[state]
        for target in lc.states:
            with pytest.raises(errors.Conflict):
                lc.move(state, target)


@pytest.mark.parametrize("name", NAMES)
def test_every_state_is_reachable_from_the_initial_one(name: str) -> None:
    lc = LIFECYCLES[name]
    seen, todo = {lc.initial}, [lc.initial]
    while todo:
        for target in lc.transitions[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    assert seen == set(lc.states), f"unreachable from {lc.initial.value}: {set(lc.states) - seen}"


def test_a_refused_move_is_a_409_through_the_error_table() -> None:
    """The answer a client gets (not just the class): ILLEGAL_TRANSITION, and the named refusals."""
    from chalicelib.domain.leases import LEASES, LeaseStatus
    from chalicelib.domain.round_status import ROUNDS, RoundStatus
    from chalicelib.web import error_body

    def body(exc: Exception) -> tuple[int, dict[str, Any]]:
        assert isinstance(exc, errors.DomainError)
        return error_body(exc, None)

    with pytest.raises(errors.IllegalTransition) as illegal:
        ROUNDS.move(RoundStatus.OPEN, RoundStatus.DRAWN)
    assert body(illegal.value) == (409, {"error": {"code": "ILLEGAL_TRANSITION", "message": "当前状态不允许此操作",
                                                   "field": "status", "detail": "round: open -> drawn"}})
    with pytest.raises(errors.AlreadyDrawn) as again:
        ROUNDS.move(RoundStatus.PUBLISHED, RoundStatus.DRAWN)
    assert body(again.value)[1]["error"]["code"] == "ALREADY_DRAWN"
    with pytest.raises(errors.LeaseAlreadyConfirmed) as twice:
        LEASES.move(LeaseStatus.CONFIRMED, LeaseStatus.CONFIRMED)
    assert body(twice.value)[1]["error"]["field"] == "lease_id"
    with pytest.raises(ValueError):
        ROUNDS.move("opened", RoundStatus.CLOSED)  # a value no lifecycle has is a bug, never a silent write


# --- the scan: no status spelled as a bare string in the domain or the repositories --------------------
SCANNED = ("chalicelib/domain", "chalicelib/repositories")
#: Names that hold a lifecycle's state besides ``*status*``.
STATE_NAMES = ("status", "real_name")
#: Sub-records not yet on an enum: documents (awaiting_upload/accepted/rejected), consents
#: (pending/given), verification runs and department answers, all dicts inside an application.
#: Each module's count may only go down (docs/decisions/0021, "left to do").
NOT_YET: dict[str, int] = {}  # every status of the domain is an enum now: keep it empty


def _holds_state(node: ast.AST) -> bool:
    def named(text: str) -> bool:
        return any(n in text.lower() for n in STATE_NAMES)

    if isinstance(node, ast.Name):
        return named(node.id)
    if isinstance(node, ast.Attribute):
        return named(node.attr)
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str) and named(node.slice.value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
        key = node.args[0]
        return isinstance(key, ast.Constant) and isinstance(key.value, str) and named(key.value)
    return False


def _literal(node: ast.AST | None) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_literal(e) for e in node.elts)
    return False


def bare_statuses(source: str) -> list[tuple[int, str]]:
    """(line, what) for every status compared with, set to, or stored as a string literal."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_holds_state(s) for s in sides) and any(_literal(s) for s in sides):
                found.append((node.lineno, "compared with a literal"))
        elif isinstance(node, ast.keyword) and node.arg and any(n in node.arg for n in STATE_NAMES) \
                and _literal(node.value):
            found.append((node.value.lineno, f"{node.arg}= a literal"))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and isinstance(key.value, str) and \
                        any(n in key.value for n in STATE_NAMES) and _literal(value):
                    found.append((key.lineno, f"{key.value!r}: a literal"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "set" \
                and _holds_state(node.func.value) and node.args and _literal(node.args[0]):
            found.append((node.lineno, "set to a literal"))
    return sorted(found)


@pytest.mark.parametrize("source", [
    'if lease.status == "confirmed": pass',
    'ok = doc.get("status") not in ("accepted", "rejected")',
    'x = replace(batch, status="closed")',
    'y = {"status": "open"}',
    'Record.status.set("removing")',
    'c = Record.entry_status == "in_publicity"',
    'if person.real_name == "disputed": pass',
])
def test_the_scan_catches_a_bare_status(source: str) -> None:
    assert bare_statuses(source)


@pytest.mark.parametrize("source", [
    "if lease.status == LeaseStatus.CONFIRMED: pass",
    "x = replace(batch, status=BATCHES.move(batch.status, BatchStatus.CLOSED))",
    'kind = app.kind == "group"',
])
def test_the_scan_passes_an_enum(source: str) -> None:
    assert not bare_statuses(source)


def test_no_domain_or_repository_module_spells_a_status_as_a_string() -> None:
    found: dict[str, list[tuple[int, str]]] = {}
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            hits = bare_statuses(path.read_text(encoding="utf-8"))
            if hits:
                found[str(path.relative_to(ROOT))] = hits
    over = {m: hits for m, hits in found.items() if len(hits) > NOT_YET.get(m, 0)}
    assert not over, f"use the lifecycle's enum (chalicelib/domain/lifecycle.py), not a string: {over}"
    stale = {m: (n, len(found.get(m, []))) for m, n in NOT_YET.items() if len(found.get(m, [])) < n}
    assert not stale, f"fewer bare statuses than NOT_YET says: lower the count {stale}"

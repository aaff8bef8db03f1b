"""One shape for every lifecycle: a StrEnum of states, the one table of allowed moves, the states
with no way out, and the error a refused move raises (409). Decisions: docs/decisions/0021.

A new lifecycle is a few lines beside its concept::

    class BillStatus(StrEnum):
        ISSUED = "issued"
        PAID = "paid"

    BILLS = Lifecycle("bill", BillStatus.ISSUED, {BillStatus.ISSUED: {BillStatus.PAID}, BillStatus.PAID: set()},
                      names={BillStatus.ISSUED: "待缴费", BillStatus.PAID: "已缴费"})

then its module's name in ``_MODULES`` below, so that ``LIFECYCLES`` (and tests/test_lifecycles.py,
which walks every table in it) knows it. Every status change goes through ``move``; stored and API
values are the enum's values, so the enum is the only place a status is spelled.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from chalicelib import errors

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class Refusal(Generic[E]):
    """A refused move with its own error (e.g. a second draw is ALREADY_DRAWN, not ILLEGAL_TRANSITION):
    any move from one of ``sources`` to one of ``targets`` that the table does not allow."""

    sources: frozenset[E]
    targets: frozenset[E]
    error: type[errors.Conflict]
    field: str = "status"  # the request field the answer names (what the caller should look at)


class Lifecycle(Generic[E]):
    """A lifecycle as data. ``move(current, target)`` returns the target or raises the 409."""

    def __init__(self, name: str, initial: E, transitions: Mapping[E, Iterable[E]], *,
                 names: Mapping[E, str], error: type[errors.Conflict] = errors.IllegalTransition,
                 refusals: Iterable[Refusal[E]] = ()) -> None:
        self.name = name
        self.states: type[E] = type(initial)
        self.initial = initial
        self.transitions: dict[E, frozenset[E]] = {s: frozenset(t) for s, t in transitions.items()}
        self.names = dict(names)
        self.error = error
        self.refusals = tuple(refusals)
        missing = set(self.states) - set(self.transitions)
        unnamed = set(self.states) - set(self.names)
        if missing or unnamed:  # a state without a row or a zh-CN name is a bug at import, not a 500 later
            raise TypeError(f"lifecycle {name}: no row for {sorted(missing)}, no name for {sorted(unnamed)}")

    @property
    def terminal(self) -> frozenset[E]:
        """The states with no way out."""
        return frozenset(s for s, targets in self.transitions.items() if not targets)

    def parse(self, value: E | str) -> E:
        """A stored value as the enum (ValueError for a value this lifecycle does not have)."""
        return self.states(value)

    def allows(self, current: E | str, target: E | str) -> bool:
        return self.parse(target) in self.transitions[self.parse(current)]

    def move(self, current: E | str, target: E | str) -> E:
        """The target, if the table allows ``current -> target``; else the refusal's error or ``error``."""
        current, target = self.parse(current), self.parse(target)
        if target in self.transitions[current]:
            return target
        raise self.refusal(current, target)

    def refusal(self, current: E, target: E) -> errors.Conflict:
        """The error a refused ``current -> target`` raises: its refusal's, else ``error``."""
        rule = next((r for r in self.refusals if current in r.sources and target in r.targets), None)
        detail = f"{self.name}: {current.value} -> {target.value}"
        return rule.error(detail, field=rule.field) if rule else self.error(detail, field="status")

    def __repr__(self) -> str:
        return f"Lifecycle({self.name!r}, {self.states.__name__})"


#: The modules that define a lifecycle (a module attribute that is a ``Lifecycle``); imported when
#: ``LIFECYCLES`` is first read, so importing this module stays cheap.
_MODULES = (
    "chalicelib.domain.application_status",
    "chalicelib.domain.round_status",
    "chalicelib.domain.units",
    "chalicelib.domain.leases",
    "chalicelib.domain.selection",
    "chalicelib.domain.publicity",
    "chalicelib.domain.policies",
    "chalicelib.domain.real_name_status",
    "chalicelib.domain.bills",
    "chalicelib.domain.billing_runs",
    "chalicelib.domain.payments",
    "chalicelib.domain.reconciliation",
    "chalicelib.domain.reviews",
    "chalicelib.domain.renewals",
    "chalicelib.domain.move_outs",
    "chalicelib.domain.review_campaigns",
    "chalicelib.domain.tickets",
    "chalicelib.domain.stats_recount",
    "chalicelib.domain.imports",
    "chalicelib.domain.exports",
)


def _collect() -> dict[str, Lifecycle[Any]]:
    found: dict[str, Lifecycle[Any]] = {}
    for module_name in _MODULES:
        for value in vars(importlib.import_module(module_name)).values():
            if isinstance(value, Lifecycle):
                if value.name in found and found[value.name] is not value:
                    raise TypeError(f"two lifecycles named {value.name}")
                found[value.name] = value
    return dict(sorted(found.items()))


def __getattr__(name: str) -> Any:
    """``LIFECYCLES``: every lifecycle by name (its enum is ``.states``), built on first use."""
    if name == "LIFECYCLES":
        value = _collect()
        globals()["LIFECYCLES"] = value
        return value
    raise AttributeError(name)

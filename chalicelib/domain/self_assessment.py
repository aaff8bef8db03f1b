"""Self-assessment (资格自评): the city's eligibility rules applied to what a citizen says.

Nothing is stored: the answers are judged and returned, and never logged.
"""
from __future__ import annotations

import math
from typing import Any

from chalicelib import errors
from chalicelib.domain import eligibility
from chalicelib.domain.common import now
from chalicelib.domain.eligibility import Assessment, RuleBook

KINDS = ("individual", "graduate")
DECLARED = "declared"  # the source of every fact here: what the citizen said


def questions(city: str) -> tuple[RuleBook, eligibility.RuleVersion]:
    book = eligibility.rule_book(city)
    return book, book.in_force(now())


def assess(city: str, kind: str, answers: Any,
           rules: tuple[RuleBook, eligibility.RuleVersion] | None = None) -> Assessment:
    """Judge declared answers by ``rules`` (default: the shipped versions in force now; the route
    passes the city's merged book, published versions included)."""
    book, version = rules or questions(city)
    if kind not in KINDS:
        raise errors.InvalidInput(f"one of {', '.join(KINDS)}", field="kind")
    facts = _validated(book, answers)
    return eligibility.evaluate(book, version, kind, facts, dict.fromkeys(facts, DECLARED))


def _validated(book: RuleBook, answers: Any) -> dict[str, Any]:
    if not isinstance(answers, dict):
        raise errors.InvalidInput("an object of answers", field="answers")
    facts: dict[str, Any] = {}
    for name, value in answers.items():
        fact = book.facts.get(name)
        where = f"answers.{name}"
        if fact is None or not fact.asked:
            raise errors.InvalidInput("not a question of this city", field=where)
        if value is None:
            continue  # skipped: the rules that need it say "unknown"
        if fact.type == "boolean":
            if not isinstance(value, bool):
                raise errors.InvalidInput("true or false", field=where)
        else:
            whole = fact.type in ("integer", "money")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not float(value).is_integer()):
                raise errors.InvalidInput("an integer" if whole else "a number", field=where)
            if not math.isfinite(value) or (fact.minimum is not None and value < fact.minimum) or (
                    fact.maximum is not None and value > fact.maximum):
                raise errors.InvalidInput(f"between {fact.minimum:g} and {fact.maximum:g}", field=where)
            value = int(value) if whole else round(float(value), 2)
        facts[name] = value
    return facts

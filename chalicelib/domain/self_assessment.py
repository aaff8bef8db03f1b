"""Self-assessment (资格自评): the city's eligibility rules applied to what a citizen says.

Nothing is stored: the answers are judged and returned, and never logged.
"""
from __future__ import annotations

import math
import re
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
        raise errors.InvalidInput(f"one of {', '.join(KINDS)}", field="kind",
                                  message=f"申请类别应为以下之一：{'、'.join(KINDS)}")
    facts = _validated(book, answers)
    return eligibility.evaluate(book, version, kind, facts, dict.fromkeys(facts, DECLARED))


def _validated(book: RuleBook, answers: Any) -> dict[str, Any]:
    """Strict: a boolean question takes only true/false, an integer or money question only a JSON
    integer (not 1.0, not "1", not true), an area any finite number; messages name the question."""
    if not isinstance(answers, dict):
        raise errors.InvalidInput("an object of answers", field="answers", message="问卷回答应为对象（问题 id -> 回答）")
    facts: dict[str, Any] = {}
    for name, value in answers.items():
        fact = book.facts.get(name)
        label = re.split(r"[（(]", fact.label, maxsplit=1)[0] if fact is not None else name
        where = f"answers.{name}"
        if fact is None or not fact.asked:
            raise errors.InvalidInput("not a question of this city", field=where,
                                      message=f"“{name}”不是本市资格自评的问题")
        if value is None:
            continue  # skipped: the rules that need it say "unknown"
        if fact.type == "boolean":
            if not isinstance(value, bool):
                raise errors.InvalidInput("true or false", field=where, message=f"{label}应为 true 或 false")
        else:
            whole = fact.type in ("integer", "money")
            if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
                raise errors.InvalidInput("an integer" if whole else "a number", field=where,
                                          message=f"{label}应为{'整数' if whole else '数字'}")
            if not math.isfinite(value):
                raise errors.InvalidInput("a finite number", field=where, message=f"{label}应为有限的数字")
            if fact.minimum is not None and value < fact.minimum:
                raise errors.InvalidInput(f">= {fact.minimum:g}", field=where,
                                          message=f"{label}不能小于 {fact.minimum:g}")
            if fact.maximum is not None and value > fact.maximum:
                raise errors.InvalidInput(f"<= {fact.maximum:g}", field=where,
                                          message=f"{label}不能超过 {fact.maximum:g}")
            value = int(value) if whole else round(float(value), 2)
        facts[name] = value
    return facts

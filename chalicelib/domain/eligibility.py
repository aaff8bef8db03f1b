"""Eligibility (准入条件): a city's rules as data, one engine for self-assessment and verification.

The rules live in ``chalicelib/cities/<city>/eligibility.json``: the facts they use (what a citizen
is asked, or a department answers), versions with an effective date and their limits, the rules
(conditions with explanations and policy clauses) and priority points. They are validated when
loaded. Evaluation is three-valued: a rule whose facts are missing is *unknown*, never guessed.
"""
from __future__ import annotations

import enum
import math
import string
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib import errors

CITIES_DIR = Path(__file__).resolve().parent.parent / "cities"
FACT_TYPES = ("integer", "boolean", "money", "area")
OPS = {"==": lambda a, b: a == b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
       ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
MAX_DEPTH = 12  # nested all/any in one rule: deep enough for any real clause, far from recursion limits
#: What a department's "no record" (found: false) means, per department in the city file's ``no_record``
#: (docs/decisions/0019-no-record.md): ``answer`` the empty value (owns nothing, no car, no company);
#: ``unconfirmed`` the identity is not confirmed (manual review, flagged); ``unknown`` the facts the
#: department gives are unknown (the rules that need them are unknown, not failed).
NO_RECORD_MEANINGS = ("answer", "unconfirmed", "unknown")
#: What a failed review rule (年审, ``review_versions``) calls for, mildest first: the household
#: continues at a higher rent, or must leave (腾退); the worst failed rule wins (domain/review_outcomes.py).
ON_FAIL = ("higher_rent", "must_leave")


class Result(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Verdict(str, enum.Enum):
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    NEEDS_REVIEW = "needs_review"


VERDICT_NAMES = {Verdict.ELIGIBLE: "可能符合条件", Verdict.NOT_ELIGIBLE: "暂不符合条件",
                 Verdict.NEEDS_REVIEW: "需进一步核实"}
RESULT_NAMES = {Result.PASSED: "符合", Result.FAILED: "不符合", Result.UNKNOWN: "无法判断"}


class InvalidRules(Exception):
    """A city's rules file is wrong: found when it is loaded, never while a citizen waits."""


@dataclass(frozen=True)
class Fact:
    id: str
    type: str
    label: str
    asked: bool = False
    minimum: float | None = None
    maximum: float | None = None
    unit: str | None = None
    derived: dict[str, Any] | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    clause: str
    when: dict[str, Any]
    explain: dict[str, str]
    applies_to: tuple[str, ...] = ()
    on_fail: str | None = None  # review rules only: the outcome a failure calls for (ON_FAIL)


@dataclass(frozen=True)
class RuleVersion:
    version: str
    effective_from: datetime
    policy: str
    params: dict[str, float]
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class RuleBook:
    """Everything a city says about eligibility, all versions."""

    city: str
    facts: dict[str, Fact]
    versions: tuple[RuleVersion, ...]  # oldest first
    priority: tuple[dict[str, Any], ...]
    next_steps: dict[str, list[str]]
    no_record: dict[str, str] = field(default_factory=dict)  # department -> one of NO_RECORD_MEANINGS
    #: The rules for continuing (年审: thresholds above those for entry), versioned the same way;
    #: every rule says what its failure calls for (``on_fail``).
    review_versions: tuple[RuleVersion, ...] = ()

    def in_force(self, at: datetime) -> RuleVersion:
        """The version in force at ``at`` (an application is judged by the one of its submission)."""
        current = [v for v in self.versions if v.effective_from <= at]
        if not current:
            raise errors.InvalidInput("no eligibility rules in force at that time", field="at", message="该时间没有施行中的准入条件")
        return current[-1]

    def review_in_force(self, at: datetime) -> RuleVersion:
        """The review rules in force at ``at`` (a review is judged by the version of its verification)."""
        current = [v for v in self.review_versions if v.effective_from <= at]
        if not current:
            raise errors.InvalidInput("no review rules in force at that time", field="at", message="该时间没有施行中的年审条件")
        return current[-1]


@dataclass(frozen=True)
class RuleOutcome:
    rule_id: str
    title: str
    result: Result
    explanation: str
    clause: str
    sources: dict[str, str]  # fact -> where it came from ("declared", a department ...)


@dataclass(frozen=True)
class Assessment:
    rules_version: str
    policy: str
    verdict: Verdict
    outcomes: list[RuleOutcome]
    priority_points: int
    priority_groups: list[dict[str, Any]]
    next_steps: list[str] = field(default_factory=list)


# --- loading -----------------------------------------------------------------------------------
@cache
def rule_book(city: str) -> RuleBook:
    """The city's eligibility.json, validated once through its model (chalicelib/city_files.py)."""
    from chalicelib.city_files import city_file

    return parse(city_file(city, "eligibility.json").model_dump())


def parse(data: dict[str, Any]) -> RuleBook:
    """Validate and build a rule book; every problem names where it is."""
    facts = {}
    for fid, spec in data.get("facts", {}).items():
        if spec.get("type") not in FACT_TYPES:
            raise InvalidRules(f"facts.{fid}.type must be one of {FACT_TYPES}")
        derived = spec.get("derived")
        if derived is not None and (set(derived) != {"divide"} or len(derived["divide"]) != 2):
            raise InvalidRules(f"facts.{fid}.derived: only {{'divide': [a, b]}} is supported")
        facts[fid] = Fact(fid, spec["type"], spec["label"], bool(spec.get("asked")), spec.get("min"),
                          spec.get("max"), spec.get("unit"), derived)
    for fact in facts.values():
        for source in (fact.derived or {}).get("divide", []):
            if source not in facts or facts[source].derived:
                raise InvalidRules(f"facts.{fact.id}.derived uses unknown or derived fact {source!r}")
    rule_sets = {name: [_rule(r, f"rule_sets.{name}[{i}]") for i, r in enumerate(rules)]
                 for name, rules in data.get("rule_sets", {}).items()}
    versions = _versions(data.get("versions", []), "versions", rule_sets, facts, review=False)
    if not versions:
        raise InvalidRules("no versions")
    review_versions = _versions(data.get("review_versions", []), "review_versions", rule_sets, facts, review=True)
    for p in data.get("priority", []):
        if p.get("fact") not in facts or facts[p["fact"]].type != "boolean" or not isinstance(p.get("points"), int):
            raise InvalidRules(f"priority {p.get('id')!r}: needs a boolean fact and integer points")
    steps = data.get("next_steps", {})
    if set(steps) != {v.value for v in Verdict}:
        raise InvalidRules("next_steps must name every verdict")
    return RuleBook(data["city"], facts, tuple(versions), tuple(data.get("priority", [])), steps,
                    _no_record(data.get("no_record")), tuple(review_versions))


def _versions(specs: Any, key: str, rule_sets: dict[str, list[Rule]], facts: dict[str, Fact], *,
              review: bool) -> list[RuleVersion]:
    """Entry versions (``versions``) or review versions (``review_versions``: every rule names its
    ``on_fail``; entry rules name none), oldest first, each checked against the facts."""
    if not isinstance(specs, list):
        raise InvalidRules(f"{key} must be a list")
    versions = []
    for i, v in enumerate(specs):
        where = f"{key}[{i}]"
        if not isinstance(v, dict):
            raise InvalidRules(f"{where} must be an object")
        _check_header(v, where)
        rules = v.get("rules")
        if isinstance(rules, str):
            if not rules.startswith("@") or rules[1:] not in rule_sets:
                raise InvalidRules(f"{where}.rules: unknown rule set {rules!r}")
            built = rule_sets[rules[1:]]
        elif isinstance(rules, list) and rules:
            built = [_rule(r, f"{where}.rules[{j}]") for j, r in enumerate(rules)]
        else:
            raise InvalidRules(f"{where}.rules: a non-empty list of rules or \"@rule_set\"")
        ids = [r.id for r in built]
        if len(set(ids)) != len(ids):
            raise InvalidRules(f"{where}.rules: two rules share an id")
        for rule in built:
            if review and rule.on_fail not in ON_FAIL:
                raise InvalidRules(f"{where} rule {rule.id}: on_fail must be one of {', '.join(ON_FAIL)}")
            if not review and rule.on_fail is not None:
                raise InvalidRules(f"{where} rule {rule.id}: on_fail is for review rules (review_versions) only")
        try:
            effective = datetime.fromisoformat(v["effective_from"])
        except (KeyError, ValueError):
            raise InvalidRules(f"{where}.effective_from must be ISO 8601 with an offset") from None
        if effective.tzinfo is None:
            raise InvalidRules(f"{where}.effective_from needs an offset (+08:00)")
        version = RuleVersion(v["version"], effective, v.get("policy", ""), dict(v.get("params", {})), tuple(built))
        for rule in version.rules:
            _check_rule(rule, facts, version.params, f"{where} rule {rule.id}")
        versions.append(version)
    versions.sort(key=lambda v: v.effective_from)
    if len({v.effective_from for v in versions}) != len(versions) or len({v.version for v in versions}) != len(versions):
        raise InvalidRules("two versions share a name or an effective date" + ("" if key == "versions" else f" ({key})"))
    return versions


def _no_record(spec: Any) -> dict[str, str]:
    """Every department named once with what its "no record" means; anything else fails loading."""
    from chalicelib.departments.contract import DEPARTMENTS  # here: the app's import stays without the adapters

    if not isinstance(spec, dict):
        raise InvalidRules("no_record must map each department to one of " + ", ".join(NO_RECORD_MEANINGS))
    for department, meaning in spec.items():
        if department not in DEPARTMENTS:
            raise InvalidRules(f"no_record.{department}: unknown department (one of {', '.join(DEPARTMENTS)})")
        if not isinstance(meaning, str) or meaning not in NO_RECORD_MEANINGS:
            raise InvalidRules(f"no_record.{department}: {meaning!r} is not one of {', '.join(NO_RECORD_MEANINGS)}")
    missing = [d for d in DEPARTMENTS if d not in spec]
    if missing:
        raise InvalidRules(f"no_record.{missing[0]}: missing (every department says what its no record means)")
    return {d: spec[d] for d in DEPARTMENTS}


def _check_header(v: dict[str, Any], where: str) -> None:
    """A version's name, policy and limits: the types the engine and the API rely on."""
    name = v.get("version")
    if not isinstance(name, str) or not name.strip():
        raise InvalidRules(f"{where}.version must be a non-empty string")
    if not isinstance(v.get("policy", ""), str):
        raise InvalidRules(f"{where}.policy must be a string")
    params = v.get("params", {})
    if not isinstance(params, dict):
        raise InvalidRules(f"{where}.params must be an object of numbers")
    for key, value in params.items():
        if not _is_number(value):
            raise InvalidRules(f"{where}.params.{key} must be a finite number")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _rule(spec: Any, where: str) -> Rule:
    if not isinstance(spec, dict):
        raise InvalidRules(f"{where} must be an object")
    try:
        rule = Rule(spec["id"], spec["title"], spec["clause"], spec["when"], spec["explain"],
                    spec.get("applies_to", ()), spec.get("on_fail"))
    except KeyError as missing:
        raise InvalidRules(f"{where}: missing {missing}") from None
    for name in ("id", "title", "clause"):
        if not isinstance(getattr(rule, name), str) or not getattr(rule, name).strip():
            raise InvalidRules(f"{where}.{name} must be a non-empty string")
    if not isinstance(rule.when, dict):
        raise InvalidRules(f"{where}.when must be an object")
    if not isinstance(rule.explain, dict) or not all(isinstance(t, str) for t in rule.explain.values()):
        raise InvalidRules(f"{where}.explain must map passed, failed and unknown to texts")
    kinds = rule.applies_to
    if not isinstance(kinds, (list, tuple)) or not all(isinstance(k, str) for k in kinds):
        raise InvalidRules(f"{where}.applies_to must be a list of application kinds")
    return Rule(rule.id, rule.title, rule.clause, rule.when, dict(rule.explain), tuple(kinds), rule.on_fail)


def _check_rule(rule: Rule, facts: dict[str, Fact], params: dict[str, float], where: str) -> None:
    def walk(node: Any, depth: int) -> None:
        if not isinstance(node, dict):
            raise InvalidRules(f"{where}: a condition must be an object")
        if depth > MAX_DEPTH:
            raise InvalidRules(f"{where}: conditions nested deeper than {MAX_DEPTH}")
        if "all" in node or "any" in node:
            if "all" in node and "any" in node:
                raise InvalidRules(f"{where}: give all or any, not both")
            children = node.get("all", node.get("any"))
            if not isinstance(children, list) or not children:
                raise InvalidRules(f"{where}: all/any needs a non-empty list")
            for child in children:
                walk(child, depth + 1)
            return
        fact = facts.get(node["fact"]) if isinstance(node.get("fact"), str) else None
        if fact is None:
            raise InvalidRules(f"{where}: unknown fact {node.get('fact')!r}")
        if not isinstance(node.get("op"), str) or node["op"] not in OPS:
            raise InvalidRules(f"{where}: unknown op {node.get('op')!r}")
        if ("param" in node) == ("value" in node):
            raise InvalidRules(f"{where}: give exactly one of param or value")
        if "param" in node and (not isinstance(node["param"], str) or node["param"] not in params):
            raise InvalidRules(f"{where}: unknown param {node['param']!r}")
        # The comparison must make sense for the fact's type, or it would fail while a citizen waits.
        if fact.type == "boolean":
            if node["op"] != "==" or not isinstance(node.get("value"), bool):
                raise InvalidRules(f"{where}: boolean fact {fact.id!r} is compared only with == true/false")
        elif "value" in node and not _is_number(node["value"]):
            raise InvalidRules(f"{where}: fact {fact.id!r} is compared with a number")

    walk(rule.when, 1)
    if set(rule.explain) != {r.value for r in Result}:
        raise InvalidRules(f"{where}: explain needs passed, failed and unknown")
    for text in rule.explain.values():
        try:
            fields = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise InvalidRules(f"{where}: explanation {text!r}: {exc}") from None
        for _, name, spec, conversion in fields:
            if name is None:
                continue
            if not name or (name not in facts and name not in params):
                raise InvalidRules(f"{where}: explanation names unknown {name!r}")
            if spec or conversion:  # values are shown as formatted text: no format spec or conversion
                raise InvalidRules(f"{where}: explanation {{{name}}} takes no format spec or conversion")


# --- evaluating --------------------------------------------------------------------------------
def evaluate(book: RuleBook, version: RuleVersion, kind: str, facts: dict[str, Any],
             sources: dict[str, str]) -> Assessment:
    """Judge a household: every rule passed, failed or unknown, explained, with its sources."""
    values = dict(facts)
    for fact in book.facts.values():
        if fact.derived:
            a, b = (values.get(name) for name in fact.derived["divide"])
            values[fact.id] = (a / b) if a is not None and b else None
    # What explanations may name, formatted once per assessment (money in yuan, areas in m²).
    shown = {**{k: _show(book.facts[k], values.get(k)) for k in book.facts},
             **{k: _show_param(k, v, version, book) for k, v in version.params.items()}}
    outcomes = []
    for rule in version.rules:
        if rule.applies_to and kind not in rule.applies_to:
            continue
        result = _judge(rule.when, values, version.params)
        used = _facts_of(rule.when, book)
        outcomes.append(RuleOutcome(rule.id, rule.title, result, rule.explain[result.value].format(**shown),
                                    f"《{version.policy}》{rule.clause}",
                                    {f: sources.get(f, "unknown") for f in used if values.get(f) is not None}))
    results = {o.result for o in outcomes}
    verdict = (Verdict.NOT_ELIGIBLE if Result.FAILED in results
               else Verdict.NEEDS_REVIEW if Result.UNKNOWN in results else Verdict.ELIGIBLE)
    groups = [{"id": p["id"], "title": p["title"], "points": p["points"]}
              for p in book.priority if values.get(p["fact"]) is True]
    return Assessment(version.version, version.policy, verdict, outcomes, sum(g["points"] for g in groups),
                      groups, list(book.next_steps[verdict.value]))


def _judge(node: dict[str, Any], values: dict[str, Any], params: dict[str, float]) -> Result:
    if "all" in node or "any" in node:
        results = [_judge(child, values, params) for child in node.get("all", node.get("any"))]
        decisive, other = (Result.FAILED, Result.PASSED) if "all" in node else (Result.PASSED, Result.FAILED)
        if decisive in results:
            return decisive
        return Result.UNKNOWN if Result.UNKNOWN in results else other
    value = values.get(node["fact"])
    if value is None:
        return Result.UNKNOWN
    limit = params[node["param"]] if "param" in node else node["value"]
    return Result.PASSED if OPS[node["op"]](value, limit) else Result.FAILED


def _facts_of(node: dict[str, Any], book: RuleBook) -> list[str]:
    if "all" in node or "any" in node:
        return [f for child in node.get("all", node.get("any")) for f in _facts_of(child, book)]
    fact = book.facts[node["fact"]]
    return list(fact.derived["divide"]) if fact.derived else [fact.id]


def _show(fact: Fact, value: Any) -> str:
    if value is None:
        return "（未填写）"
    if fact.type == "money":
        return f"{value / 100:,.2f} 元"
    if fact.type == "area":
        return f"{value:.2f} 平方米"
    if fact.type == "boolean":
        return "是" if value else "否"
    return f"{value} {fact.unit or ''}".strip()


def _show_param(name: str, value: float, version: RuleVersion, book: RuleBook) -> str:
    """A limit shown like the facts it is compared with (money as yuan, areas in m²)."""
    for rule in version.rules:
        for fact_id in _params_facts(rule.when, name):
            fact = book.facts[fact_id]
            if fact.type in ("money", "area"):
                return _show(fact, value)
    return f"{value:g}"


def _params_facts(node: dict[str, Any], param: str) -> list[str]:
    if "all" in node or "any" in node:
        return [f for child in node.get("all", node.get("any")) for f in _params_facts(child, param)]
    return [node["fact"]] if node.get("param") == param else []

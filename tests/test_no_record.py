"""Issue 9 §6: a department's "no record" is not a fact. Each city's rules say, per department, what
it means (``no_record`` in chalicelib/cities/<city>/eligibility.json, validated when loaded):
``answer`` (the empty value), ``unconfirmed`` (identity not confirmed: manual review, flagged) or
``unknown`` (the facts it gives are unknown: rules unknown, not failed). Pure tests of the decision
step's assembly (verification.assemble / recommend) over every department x meaning, and every
declared fact a department gives x (contradicted, no record, unavailable). The seeded households are
checked in tests/test_departments.py, the state machine in tests/test_workflow.py."""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from chalicelib.departments import DEPARTMENTS
from chalicelib.domain import eligibility
from chalicelib.domain.eligibility import NO_RECORD_MEANINGS, InvalidRules
from chalicelib.domain.verification import CHECKED, GIVES, assemble, recommend
from devstack.departments import default_facts

CITIES = ("jiangmen", "xining", "sandbox")
CLEAN = default_facts("jiangmen")
AT = datetime.fromisoformat("2026-11-24T10:00:00+08:00")


@dataclass
class _App:  # what verification.assemble() reads of an application
    members: list[dict[str, Any]]
    data: dict[str, Any] = field(default_factory=dict)
    kind: str = "individual"

    def main(self) -> dict[str, Any]:
        return next(m for m in self.members if m["relation"] == "self")


ADULT = {"member_id": "m_1", "relation": "self", "birth_date": "1990-01-01"}
CHILD = {"member_id": "m_2", "relation": "child", "birth_date": "2016-05-01"}


def app(*members: dict[str, Any], declared: dict[str, Any] | None = None) -> _App:
    return _App(list(members or [ADULT]), {"declared": declared or {}})


def answers(members: list[dict[str, Any]], no_record: dict[str, tuple[str, ...]] | None = None,
            down: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every department answering a clean citizen, except: ``no_record`` department -> members it has
    no record of; ``down`` departments unavailable."""
    out = []
    for dept in DEPARTMENTS:
        if dept in down:
            out.append({"department": dept, "status": "unavailable", "error": "DepartmentUnavailable: 503"})
            continue
        missing = (no_record or {}).get(dept, ())
        out.append({"department": dept, "status": "answered", "answered_at": "2026-11-24T10:00:00+08:00",
                    "persons": [{"member_id": m["member_id"], "found": False, "facts": {}}
                                if m["member_id"] in missing else
                                {"member_id": m["member_id"], "found": True, "facts": dict(CLEAN[dept])}
                                for m in members]})
    return out


def judge(application: _App, given: list[dict[str, Any]], means: dict[str, str] | None = None,
          city: str = "jiangmen") -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, str], str]:
    book = eligibility.rule_book(city)
    facts, sources, flags, _ = assemble(application, given, city, means)  # type: ignore[arg-type]
    assessment = eligibility.evaluate(book, book.in_force(AT), application.kind, facts, sources)
    results = {o.rule_id: o.result.value for o in assessment.outcomes}
    return facts, flags, results, recommend(assessment.verdict, flags)


# --- the city's rules say it, validated when loaded --------------------------------------------------
@pytest.mark.parametrize("city", CITIES)
def test_every_city_says_what_each_department_s_no_record_means(city: str) -> None:
    means = eligibility.rule_book(city).no_record
    assert set(means) == set(DEPARTMENTS) and set(means.values()) <= set(NO_RECORD_MEANINGS)
    # the defaults for the demo cities
    assert means["public_security"] == "unconfirmed"
    assert means["social_insurance"] == means["provident_fund"] == "unknown"
    assert means["real_estate"] == means["vehicles"] == means["business"] == "answer"


@pytest.mark.parametrize("city", CITIES)
@pytest.mark.parametrize("breakage,names", [
    (lambda d: d["no_record"].update(police="answer"), "no_record.police"),
    (lambda d: d["no_record"].update(vehicles="nothing"), "no_record.vehicles"),
    (lambda d: d["no_record"].update(vehicles=None), "no_record.vehicles"),
    (lambda d: d["no_record"].pop("provident_fund"), "no_record.provident_fund"),
    (lambda d: d.pop("no_record"), "no_record"),
    (lambda d: d.update(no_record=["answer"]), "no_record"),
])
def test_an_unknown_department_or_meaning_fails_loading_naming_the_field(city: str, breakage: Any,
                                                                         names: str) -> None:
    data = copy.deepcopy(json.loads((eligibility.CITIES_DIR / city / "eligibility.json").read_text(encoding="utf-8")))
    eligibility.parse(data)  # the shipped file is valid
    breakage(data)
    with pytest.raises(InvalidRules, match=names.replace(".", r"\.")):
        eligibility.parse(data)


# --- every department x every meaning ------------------------------------------------------------------
@pytest.mark.parametrize("meaning", NO_RECORD_MEANINGS)
@pytest.mark.parametrize("dept", DEPARTMENTS)
def test_a_no_record_means_what_the_city_says(dept: str, meaning: str) -> None:
    means = {d: "answer" for d in DEPARTMENTS} | {dept: meaning}
    a = app()
    facts, flags, results, recommendation = judge(a, answers(a.members, {dept: ("m_1",)}), means)
    given = GIVES[dept]
    if meaning == "answer":  # the empty value: no home, no car, no company, no allowance...
        assert all(facts[f] is not None for f in given), facts
        assert not any(f["department"] == dept for f in flags), flags
    else:  # unknown: never the empty value nor guessed; the rules that need it are unknown, not failed
        assert all(facts[f] is None for f in given), facts
        for rule_id, result in results.items():
            assert result != "failed", (rule_id, results)
    if meaning == "unconfirmed":  # identity not confirmed: a person looks, whatever the rules say, flagged
        assert recommendation == "manual_review"
        flag = next(f for f in flags if f["reason"] == "unconfirmed")
        assert flag["department"] == dept and flag["members"] == ["m_1"] and "身份未核实" in flag["note"]
    if meaning == "answer" and dept != "public_security":  # clean citizen, nothing owned: still a pass
        assert recommendation == "pass", (results, flags)


def test_public_security_no_record_is_manual_review_flagged_not_a_non_local_fail() -> None:
    a = app()
    facts, flags, results, recommendation = judge(a, answers(a.members, {"public_security": ("m_1",)}))
    assert facts["hukou_local"] is None and results["residence"] == "unknown"
    assert recommendation == "manual_review"
    assert [(f["fact"], f["department"], f["reason"]) for f in flags] == [("identity", "public_security", "unconfirmed")]
    # even where another rule fails, an identity nobody vouched for is looked at by a person
    given = answers(a.members, {"public_security": ("m_1",)})
    next(g for g in given if g["department"] == "real_estate")["persons"][0]["facts"] = {
        "properties": [{"city": "jiangmen", "floor_area": 120.0}]}
    assert judge(a, given)[3] == "manual_review"


def test_a_child_without_public_security_record_is_flagged_even_with_a_known_main_applicant() -> None:
    a = app(ADULT, CHILD)
    facts, flags, _, recommendation = judge(a, answers(a.members, {"public_security": ("m_2",)}))
    assert facts["hukou_local"] is True  # read from the main applicant's record
    assert recommendation == "manual_review"
    assert any(f["reason"] == "unconfirmed" and f["members"] == ["m_2"] for f in flags)


def test_social_insurance_no_record_is_unknown_not_zero_months() -> None:
    a = app(declared={"hukou_local": False, "residence_permit": True})  # residence then rests on the months
    given = answers(a.members, {"social_insurance": ("m_1",)})
    ps = next(g for g in given if g["department"] == "public_security")["persons"][0]
    ps["facts"] = {"identity_valid": True, "hukou_city": "maoming", "residence_permit_city": "jiangmen"}
    facts, _, results, recommendation = judge(a, given)
    assert facts["social_insurance_months"] is None and results["residence"] == "unknown"
    assert recommendation == "manual_review"
    # the same person answered "0 months" is a fail: the difference the city's rule makes
    given = answers(a.members)
    next(g for g in given if g["department"] == "public_security")["persons"][0]["facts"] = ps["facts"]
    next(g for g in given if g["department"] == "social_insurance")["persons"][0]["facts"] = {
        "months_in_city": 0, "employer_in_city": False}
    assert judge(a, given)[3] == "fail"


def test_provident_fund_no_record_makes_income_unknown_but_a_minor_s_is_nothing() -> None:
    a = app()
    facts, _, results, recommendation = judge(a, answers(a.members, {"provident_fund": ("m_1",)}))
    assert facts["household_monthly_income"] is None and results["income"] == "unknown"
    assert recommendation == "manual_review"
    family = app(ADULT, CHILD)  # children have no insurance or fund of their own: not "unknown"
    facts, flags, results, recommendation = judge(family, answers(family.members, {
        "provident_fund": ("m_2",), "social_insurance": ("m_2",)}))
    assert facts["household_monthly_income"] == CLEAN["provident_fund"]["monthly_deposit_base"]
    assert recommendation == "pass" and flags == []


def test_no_record_at_real_estate_vehicles_and_business_is_owning_nothing() -> None:
    a = app(declared={"homes_owned_in_city": 0, "max_vehicle_value": 0, "max_company_capital": 0})
    facts, flags, results, recommendation = judge(a, answers(a.members, {
        "real_estate": ("m_1",), "vehicles": ("m_1",), "business": ("m_1",)}))
    assert (facts["homes_owned_in_city"], facts["max_vehicle_value"], facts["max_company_capital"]) == (0, 0, 0)
    assert results["housing"] == results["vehicles"] == results["business"] == "passed"
    assert recommendation == "pass" and flags == []


# --- a declaration a department contradicts or cannot confirm is always flagged ---------------------
#: For each fact a department gives: a declared value that disagrees with a clean citizen's records.
DISAGREES = {"hukou_local": False, "residence_permit": True, "homes_owned_in_city": 2, "housing_floor_area": 80.0,
             "subsistence_allowance": True, "max_vehicle_value": 5_000_000, "social_insurance_months": 6,
             "employed_in_city": False, "max_company_capital": 100, "veteran": True,
             "household_monthly_income": 999_999}
#: ...and one that agrees (what a clean citizen would declare).
AGREES = {"hukou_local": True, "residence_permit": False, "homes_owned_in_city": 0, "housing_floor_area": 0,
          "subsistence_allowance": False, "max_vehicle_value": 0, "social_insurance_months": 60,
          "employed_in_city": True, "max_company_capital": 0, "veteran": False, "household_monthly_income": 180_000}


def test_every_fact_a_department_gives_is_checked_against_the_declaration() -> None:
    assert set(CHECKED) == {f for given in GIVES.values() for f in given} == set(DISAGREES) == set(AGREES)


def _flags_on(fact: str, flags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in flags if f["fact"] == fact]


@pytest.mark.parametrize("fact", sorted(CHECKED))
def test_a_declaration_the_department_contradicts_is_flagged(fact: str) -> None:
    a = app(declared={fact: DISAGREES[fact]})
    _, flags, _, recommendation = judge(a, answers(a.members))
    [flag] = _flags_on(fact, flags)
    assert flag["department"] == CHECKED[fact] and flag["reason"] == "contradicted" and "不一致" in flag["note"]
    assert recommendation != "pass"
    a = app(declared={fact: AGREES[fact]})  # agreeing: no flag, a clean pass
    _, flags, _, recommendation = judge(a, answers(a.members))
    assert flags == [] and recommendation == "pass"


@pytest.mark.parametrize("fact", sorted(CHECKED))
def test_a_declaration_the_department_cannot_confirm_is_flagged(fact: str) -> None:
    dept = CHECKED[fact]
    a = app(declared={fact: AGREES[fact]})
    _, flags, _, recommendation = judge(a, answers(a.members, down=(dept,)))  # unavailable
    [flag] = _flags_on(fact, flags)
    assert (flag["department"], flag["reason"]) == (dept, "unavailable") and "未能核实" in flag["note"]
    assert recommendation == "manual_review"
    # no record, where the city says it is not an answer: not confirmed, flagged with field and department
    means = {d: "answer" for d in DEPARTMENTS} | {dept: "unknown"}
    _, flags, _, recommendation = judge(a, answers(a.members, {dept: ("m_1",)}), means)
    [flag] = _flags_on(fact, flags)
    assert (flag["department"], flag["reason"], flag["found"]) == (dept, "no_record", None)
    assert "未能核实" in flag["note"] and "无记录" in flag["note"]
    assert recommendation == "manual_review"

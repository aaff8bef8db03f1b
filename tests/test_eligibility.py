"""The eligibility engine (pure, no AWS) and the self-assessment routes."""
from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.domain import eligibility, self_assessment
from chalicelib.domain.eligibility import InvalidRules, Result, Verdict
from tests.conftest import body, post

BOOK = eligibility.rule_book("jiangmen")
CLEAN = {"household_size": 3, "hukou_local": True, "homes_owned_in_city": 0, "household_monthly_income": 600_000,
         "max_vehicle_value": 0, "max_company_capital": 0}


def _assess(kind: str = "individual", **answers: Any) -> eligibility.Assessment:
    return self_assessment.assess("jiangmen", kind, {**CLEAN, **answers})


def _results(a: eligibility.Assessment) -> dict[str, Result]:
    return {o.rule_id: o.result for o in a.outcomes}


def test_a_clean_household_is_eligible_with_every_rule_explained() -> None:
    a = _assess()
    assert a.verdict is Verdict.ELIGIBLE and a.rules_version == "2024-01"
    assert set(_results(a).values()) == {Result.PASSED}
    assert "graduate" not in _results(a)  # applies to graduate applications only
    income = next(o for o in a.outcomes if o.rule_id == "income")
    assert income.explanation == "家庭人均月收入 2,000.00 元，低于 2,500.00 元"
    assert income.clause.endswith("第五条第（三）项") and income.sources == {
        "household_monthly_income": "declared", "household_size": "declared"}


@pytest.mark.parametrize("answers,rule", [
    ({"household_monthly_income": 750_000}, "income"),  # exactly at the limit per person is not below it
    ({"homes_owned_in_city": 1, "housing_floor_area": 90}, "housing"),  # 30 m² per person
    ({"max_vehicle_value": 15_000_000}, "vehicles"),
    ({"max_company_capital": 200_000_000}, "business"),
    ({"hukou_local": False, "residence_permit": True, "social_insurance_months": 11}, "residence"),
])
def test_each_rule_fails_on_its_own(answers: dict[str, Any], rule: str) -> None:
    a = _assess(**answers)
    assert a.verdict is Verdict.NOT_ELIGIBLE
    assert [r for r, res in _results(a).items() if res is Result.FAILED] == [rule]


def test_boundaries() -> None:
    assert _results(_assess(household_monthly_income=749_999))["income"] is Result.PASSED
    assert _results(_assess(homes_owned_in_city=1, housing_floor_area=44.99))["housing"] is Result.PASSED
    assert _results(_assess(max_vehicle_value=10_000_000))["vehicles"] is Result.PASSED
    permit = {"hukou_local": False, "residence_permit": True, "social_insurance_months": 12}
    assert _results(_assess(**permit))["residence"] is Result.PASSED


def test_missing_facts_are_unknown_never_guessed() -> None:
    a = self_assessment.assess("jiangmen", "individual", {"household_size": 2, "hukou_local": True})
    results = _results(a)
    assert results["residence"] is Result.PASSED and results["income"] is Result.UNKNOWN
    assert a.verdict is Verdict.NEEDS_REVIEW
    assert next(o for o in a.outcomes if o.rule_id == "income").explanation == "缺少家庭人数或月收入信息，无法判断"
    # a failure decides even when other facts are missing
    assert self_assessment.assess("jiangmen", "individual",
                                  {"max_vehicle_value": 50_000_000}).verdict is Verdict.NOT_ELIGIBLE


def test_graduate_rule_and_priority_points() -> None:
    a = _assess("graduate", years_since_graduation=6, employed_in_city=True)
    assert _results(a)["graduate"] is Result.FAILED
    assert _results(_assess("graduate", years_since_graduation=2, employed_in_city=True))["graduate"] is Result.PASSED
    p = _assess(subsistence_allowance=True, disability=True, veteran=False)
    assert p.priority_points == 40 and [g["id"] for g in p.priority_groups] == ["subsistence", "disability"]


def test_the_version_in_force_is_chosen_by_date() -> None:
    old = BOOK.in_force(datetime.fromisoformat("2023-06-01T00:00:00+08:00"))
    new = BOOK.in_force(datetime.fromisoformat("2024-01-01T00:00:00+08:00"))
    assert (old.version, new.version) == ("2021-07", "2024-01")
    facts = {**CLEAN, "household_monthly_income": 690_000}  # 2,300 yuan per person
    assert eligibility.evaluate(BOOK, old, "individual", facts, {}).verdict is Verdict.NOT_ELIGIBLE  # limit 2,200
    assert eligibility.evaluate(BOOK, new, "individual", facts, {}).verdict is Verdict.ELIGIBLE  # limit 2,500
    with pytest.raises(errors.InvalidInput):
        BOOK.in_force(datetime.fromisoformat("2020-01-01T00:00:00+08:00"))


@pytest.mark.parametrize("breakage", [
    lambda d: d["rule_sets"]["standard"][0]["when"]["any"][0].update(fact="no_such_fact"),
    lambda d: d["rule_sets"]["standard"][2]["when"].update(op="~"),
    lambda d: d["rule_sets"]["standard"][2]["when"].update(param="no_such_limit"),
    lambda d: d["rule_sets"]["standard"][2]["explain"].update(passed="人均 {typo}"),
    lambda d: d["rule_sets"]["standard"][2]["explain"].pop("unknown"),
    lambda d: d["versions"][1].update(effective_from="2024-01-01"),
    lambda d: d["versions"][1].update(effective_from=d["versions"][0]["effective_from"]),
    lambda d: d["versions"][1].update(rules="@missing"),
    lambda d: d["facts"]["household_size"].update(type="text"),
    lambda d: d["priority"][0].update(fact="household_size"),
    lambda d: d["next_steps"].pop("needs_review"),
])
def test_a_broken_rules_file_is_refused_when_loaded(breakage: Any) -> None:
    path = eligibility.CITIES_DIR / "jiangmen" / "eligibility.json"
    data = copy.deepcopy(json.loads(path.read_text(encoding="utf-8")))
    eligibility.parse(data)  # the shipped file is valid
    breakage(data)
    with pytest.raises(InvalidRules):
        eligibility.parse(data)


# --- routes ------------------------------------------------------------------------------------
def test_questions_come_from_the_city_rules(client: Any) -> None:
    r = client.http.get("/v1/self-assessment/questions")
    assert r.status_code == 200
    q = body(r)
    ids = {x["id"] for x in q["questions"]}
    assert q["rules_version"] == "2024-01" and "household_monthly_income" in ids
    assert "income_per_person" not in ids  # derived, never asked
    assert ids == {f.id for f in BOOK.facts.values() if f.asked}


def test_self_assessment_route_needs_no_login_and_explains(client: Any, no_scans: list[str]) -> None:
    assert client.http.get("/v1/self-assessment/questions").status_code == 200  # the city's rule book, cached
    no_scans.clear()
    r = post(client, "/v1/self-assessment", {"kind": "individual", "answers": CLEAN}, {"Content-Type": "application/json"})
    assert r.status_code == 200
    a = body(r)
    assert a["verdict"] == "eligible" and a["verdict_name"] == "可能符合条件"
    assert {x["rule_id"] for x in a["rules"]} == {"residence", "housing", "income", "vehicles", "business"}
    assert all(x["explanation"] and x["clause"] for x in a["rules"])
    assert no_scans == []  # stores nothing, reads nothing (the rule book is cached per process)


@pytest.mark.parametrize("payload,field", [
    ({"answers": {"household_size": 0}}, "answers.household_size"),
    ({"answers": {"household_size": 2.5}}, "answers.household_size"),
    ({"answers": {"household_size": True}}, "answers.household_size"),
    ({"answers": {"hukou_local": "yes"}}, "answers.hukou_local"),
    ({"answers": {"household_monthly_income": -1}}, "answers.household_monthly_income"),
    ({"answers": {"income_per_person": 100}}, "answers.income_per_person"),
    ({"answers": {"name": "张三"}}, "answers.name"),
    ({"answers": []}, "answers"),
    ({"kind": "castle", "answers": {}}, "kind"),
    ({"answers": {}, "id_number": "440703199001011234"}, "id_number"),
])
def test_bad_answers_are_400_naming_the_field(client: Any, payload: dict[str, Any], field: str) -> None:
    r = post(client, "/v1/self-assessment", payload, {"Content-Type": "application/json"})
    assert r.status_code == 400, r.body
    assert body(r)["error"]["code"] == "INVALID_PARAMETER" and body(r)["error"]["field"] == field


def test_every_deployable_city_ships_valid_rules() -> None:
    from pathlib import Path

    cities = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "infra" / "cities").glob("*.json"))
    assert cities == ["jiangmen", "sandbox", "xining"]
    for city in cities:
        book = eligibility.rule_book(city)
        assert book.city == city and book.versions

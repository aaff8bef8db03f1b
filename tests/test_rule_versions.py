"""Admins publish eligibility rules versions with a future date; they take effect on that date and
an application keeps the version it was submitted under."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import body, post

CN = timezone(timedelta(hours=8))
PATH = "/v1/admin/eligibility-rules"


def version_doc(name: str, days: float, **changes: Any) -> dict[str, Any]:
    return {"version": name, "effective_from": (datetime.now(CN) + timedelta(days=days)).isoformat(timespec="seconds"),
            "policy": "江门市公共租赁住房准入条件（测试修订）",
            "params": {"income_limit": 300000, "area_limit": 15, "vehicle_limit": 10000000,
                       "capital_limit": 100000000, "insurance_months": 12, "graduation_years": 5},
            "rules": "@standard", **changes}


@pytest.fixture(autouse=True)
def fresh_cache() -> Any:
    from chalicelib.domain import rule_versions

    rule_versions.clear_cache()
    yield
    rule_versions.clear_cache()


def test_publish_list_and_current(client: Any, tokens: Any) -> None:
    admin = tokens.headers("admin")
    r = post(client, PATH, version_doc("2027-test-a", 30), admin)
    assert r.status_code == 201, r.body
    listed = body(client.http.get(PATH, headers=admin))["items"]
    mine = next(v for v in listed if v["version"] == "2027-test-a")
    assert mine["source"] == "published" and mine["state"] == "scheduled" and mine["published_by"]
    assert sum(v["state"] == "in_force" for v in listed) == 1
    current = body(client.http.get("/v1/eligibility-rules/current"))
    assert current["version"] != "2027-test-a" and current["rules"][0]["clause"]
    r = post(client, PATH, version_doc("2027-test-a", 40), admin)
    assert r.status_code == 409 and body(r)["error"]["code"] == "ALREADY_EXISTS"


@pytest.mark.parametrize("change, field", [
    ({"effective_from": "2020-01-01T00:00:00+08:00"}, "effective_from"),
    ({"effective_from": "2030-01-01T00:00:00"}, "effective_from"),
    ({"effective_from": "next year"}, "effective_from"),
    ({"rules": "@nonexistent"}, "rules"),
    ({"rules": [{"id": "x", "title": "t", "clause": "c", "when": {"fact": "no_such_fact", "op": "==", "value": 1},
                 "explain": {"passed": "p", "failed": "f", "unknown": "u"}}]}, "rules"),
    ({"params": {"income_limit": "lots"}}, "rules"),
    ({"version": ""}, "version"),
])
def test_bad_versions_are_400_and_nothing_is_stored(client: Any, tokens: Any, change: dict[str, Any],
                                                    field: str) -> None:
    admin = tokens.headers("admin")
    doc = version_doc("2027-bad", 20, **change)
    r = post(client, PATH, doc, admin)
    assert r.status_code == 400 and body(r)["error"]["field"] == field, body(r)
    assert "2027-bad" not in [v["version"] for v in body(client.http.get(PATH, headers=admin))["items"]]


def test_only_admins_publish(client: Any, tokens: Any) -> None:
    for role, status in (("applicant", 403), ("staff", 403), (None, 401)):
        r = post(client, PATH, version_doc("2027-nope", 20), tokens.headers(role))
        assert r.status_code == status


def test_a_published_version_takes_effect_on_its_date(client: Any, tokens: Any, monkeypatch: Any) -> None:
    """The self-assessment and a submit made after the date use it; before, the old one."""
    from chalicelib.domain import common, rule_versions

    r = post(client, PATH, version_doc("2027-test-b", 1, params={
        "income_limit": 1, "area_limit": 15, "vehicle_limit": 10000000, "capital_limit": 100000000,
        "insurance_months": 12, "graduation_years": 5}), tokens.headers("admin"))
    assert r.status_code == 201
    answers = {"kind": "individual", "answers": {"household_size": 1, "hukou_local": True,
                                                 "homes_owned_in_city": 0, "household_monthly_income": 100000}}
    before = body(post(client, "/v1/self-assessment", answers, {"Content-Type": "application/json"}))
    assert before["rules_version"] != "2027-test-b"
    later = datetime.now(CN) + timedelta(days=2)
    monkeypatch.setattr(common, "now", lambda: later)
    monkeypatch.setattr(rule_versions, "now", lambda: later)
    after = body(post(client, "/v1/self-assessment", answers, {"Content-Type": "application/json"}))
    assert after["rules_version"] == "2027-test-b"
    income = next(o for o in after["rules"] if o["rule_id"] == "income")
    assert income["result"] == "failed"  # the new (test) limit of 1 fen applies
    assert rule_versions.rules_version("jiangmen", before["rules_version"])[1].version == before["rules_version"]


def test_a_corrupt_stored_version_is_ignored(client: Any, stack: Any) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain import rule_versions

    deps().rule_versions.create("jiangmen", "2027-corrupt", '{"version": "2027-corrupt", "rules": 5}',
                                "2027-01-01T00:00:00+08:00", "2026-01-01T00:00:00+08:00", "someone")
    rule_versions.clear_cache()
    merged, published = rule_versions.book("jiangmen")
    assert "2027-corrupt" not in {v.version for v in merged.versions}
    assert client.http.get("/v1/eligibility-rules/current").status_code == 200


def test_the_merged_book_is_cached(client: Any, no_scans: list[str]) -> None:
    client.http.get("/v1/eligibility-rules/current")
    no_scans.clear()
    for _ in range(5):
        assert client.http.get("/v1/eligibility-rules/current").status_code == 200
    assert no_scans == []  # served from the process cache: no DynamoDB request at all

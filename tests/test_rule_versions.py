"""Rule versions (资格条件版本): admins publish eligibility rules versions with a future date; they take
effect on that date and an application keeps the version it was submitted under. Below, the merge of
shipped and published versions (pure domain, no AWS), the parser refusing what would only fail while
a citizen waits, and the admin routes' access and error cases."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.domain import eligibility, rule_versions
from chalicelib.domain.common import CHINA_TZ
from chalicelib.domain.eligibility import InvalidRules
from chalicelib.identity import Actor, Role
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


# --- (formerly tests/test_rules_admin.py) -------------------------------------------------------
SHIPPED = json.loads((eligibility.CITIES_DIR / "jiangmen" / "eligibility.json").read_text(encoding="utf-8"))
PARAMS = dict(SHIPPED["versions"][-1]["params"])
EXPLAIN = {"passed": "p", "failed": "f", "unknown": "u"}
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=CHINA_TZ)
ADMIN = Actor("admin-sub", frozenset({Role("admin")}), "jiangmen", {})


def doc_at(name: str, at: datetime, **changes: Any) -> dict[str, Any]:
    return {"version": name, "effective_from": at.isoformat(), "policy": "江门市公共租赁住房准入条件（测试）",
            "params": dict(PARAMS), "rules": "@standard", **changes}


def rule(**changes: Any) -> dict[str, Any]:
    return {"id": "x", "title": "t", "clause": "c", "explain": EXPLAIN,
            "when": {"fact": "household_size", "op": "<", "value": 3}, **changes}


def nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"fact": "household_size", "op": "<", "value": 3}
    for _ in range(depth - 1):
        node = {"all": [node]}
    return node


class FakeVersions:
    """The rule_versions repository in memory: counts the Queries a merge costs."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.queries = 0

    def list(self, city: str) -> list[dict[str, Any]]:
        self.queries += 1
        return [dict(item) for item in self.items.values()]

    def create(self, city: str, version: str, document: str, effective_from: str, published_at: str,
               published_by: str) -> None:
        if version in self.items:
            raise errors.AlreadyExists(version, field="version")
        self.items[version] = {"version": version, "document": document, "effective_from": effective_from,
                               "published_at": published_at, "published_by": published_by}

    def store(self, version: str, document: Any) -> None:
        """Write straight to the 'table', bypassing publish (an old or hand-edited item)."""
        text = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False)
        self.items[version] = {"version": version, "document": text, "effective_from": "2027-01-01T00:00:00+08:00",
                               "published_at": "2026-01-01T00:00:00+08:00", "published_by": "someone"}


@pytest.fixture()
def repo(monkeypatch: pytest.MonkeyPatch) -> FakeVersions:
    fake = FakeVersions()
    monkeypatch.setattr(rule_versions, "deps", lambda: SimpleNamespace(
        rule_versions=fake, settings=SimpleNamespace(city_code="jiangmen")))
    monkeypatch.setattr(rule_versions, "now", lambda: NOW)
    return fake


# --- the merge, without AWS --------------------------------------------------------------------
def test_a_published_version_joins_the_shipped_ones_and_takes_effect_on_its_date(repo: FakeVersions) -> None:
    start = NOW + timedelta(days=10)
    published = rule_versions.publish(ADMIN, doc_at("2027-01", start, params={**PARAMS, "income_limit": 1}))
    assert published.version == "2027-01" and repo.items["2027-01"]["published_by"] == "admin-sub"
    book, version = rule_versions.rules_in_force("jiangmen")
    assert version.version == "2024-01"  # shipped, until the date
    assert [v.version for v in book.versions] == ["2021-07", "2024-01", "2027-01"]
    assert rule_versions.rules_in_force("jiangmen", start - timedelta(seconds=1))[1].version == "2024-01"
    book, version = rule_versions.rules_in_force("jiangmen", start)
    assert version.version == "2027-01" and version.params["income_limit"] == 1
    facts = {"household_size": 1, "household_monthly_income": 100}
    income = next(o for o in eligibility.evaluate(book, version, "individual", facts, {}).outcomes if o.rule_id == "income")
    assert income.result is eligibility.Result.FAILED
    # An application submitted under an older version is judged by it later, whatever came since.
    assert rule_versions.rules_version("jiangmen", "2021-07")[1].params["income_limit"] == 220000
    with pytest.raises(errors.NotFound):
        rule_versions.rules_version("jiangmen", "1999-01")
    states = {v["version"]: (v["source"], v["state"]) for v in rule_versions.overview("jiangmen")}
    assert states == {"2021-07": ("shipped", "superseded"), "2024-01": ("shipped", "in_force"),
                      "2027-01": ("published", "scheduled")}


def test_publishing_refuses_a_taken_id_a_date_not_in_the_future_and_an_oversized_version(repo: FakeVersions) -> None:
    for taken in ("2024-01", "2027-02"):  # shipped, then published
        if taken == "2027-02":
            rule_versions.publish(ADMIN, doc_at(taken, NOW + timedelta(days=3)))
        with pytest.raises(errors.AlreadyExists):
            rule_versions.publish(ADMIN, doc_at(taken, NOW + timedelta(days=5)))
    for when in (NOW, NOW - timedelta(seconds=1)):
        with pytest.raises(errors.InvalidInput) as refused:
            rule_versions.publish(ADMIN, doc_at("2027-03", when))
        assert refused.value.field == "effective_from"
    with pytest.raises(errors.BodyTooLarge):
        rule_versions.publish(ADMIN, doc_at("2027-04", NOW + timedelta(days=5), policy="长" * 100_001))
    assert set(repo.items) == {"2027-02"}


def test_a_stored_version_that_fails_validation_is_logged_and_ignored(repo: FakeVersions,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.observability import logger

    logged: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(logger, "error", lambda message, extra=None, **_: logged.append((message, extra or {})))
    repo.store("not-json", "{oops")
    repo.store("not-an-object", "[1, 2]")
    repo.store("bad-rule", doc_at("bad-rule", NOW + timedelta(days=1), rules=[rule(when={"fact": "nope"})]))
    # Would have parsed before the parser checked types, then failed every assessment once in force:
    repo.store("bad-param", doc_at("bad-param", NOW + timedelta(days=2), params={**PARAMS, "income_limit": "lots"}))
    repo.store("good", doc_at("good", NOW + timedelta(days=3)))
    book, version = rule_versions.rules_in_force("jiangmen", NOW + timedelta(days=30))
    assert version.version == "good"
    assert [v.version for v in book.versions] == ["2021-07", "2024-01", "good"]
    assert sorted(extra["version"] for _, extra in logged) == ["bad-param", "bad-rule", "not-an-object", "not-json"]


def test_a_published_version_never_replaces_a_shipped_one_of_the_same_id(repo: FakeVersions) -> None:
    repo.store("2024-01", doc_at("2024-01", NOW + timedelta(days=1), params={**PARAMS, "income_limit": 1}))
    book, _ = rule_versions.book("jiangmen")
    assert [v.version for v in book.versions] == ["2021-07", "2024-01"]
    assert rule_versions.rules_version("jiangmen", "2024-01")[1].params["income_limit"] == 250000


def test_the_merged_book_is_cached_for_a_short_while(repo: FakeVersions, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(rule_versions.time, "monotonic", lambda: clock[0])
    for _ in range(5):
        rule_versions.rules_in_force("jiangmen")
    assert repo.queries == 1
    repo.store("later", doc_at("later", NOW + timedelta(days=1)))  # published by another process
    clock[0] += rule_versions.CACHE_SECONDS - 1
    assert "later" not in [v.version for v in rule_versions.book("jiangmen")[0].versions]
    clock[0] += 2
    assert "later" in [v.version for v in rule_versions.book("jiangmen")[0].versions]
    assert repo.queries == 2
    rule_versions.clear_cache()
    rule_versions.rules_in_force("jiangmen")
    assert repo.queries == 3


# --- the parser: what would only fail while a citizen waits is refused when loaded -------------
@pytest.mark.parametrize("change, problem", [
    ({"params": {**PARAMS, "income_limit": "lots"}}, "params.income_limit"),
    ({"params": {**PARAMS, "income_limit": True}}, "params.income_limit"),
    ({"params": {**PARAMS, "income_limit": float("nan")}}, "params.income_limit"),
    ({"params": [1, 2]}, "params"),
    ({"rules": []}, "rules"),
    ({"rules": [rule(), rule()]}, "share an id"),
    ({"rules": [rule(when={"fact": "household_size", "op": "<", "value": "3"})]}, "compared with a number"),
    ({"rules": [rule(when={"fact": "household_size", "op": "<", "value": True})]}, "compared with a number"),
    ({"rules": [rule(when={"fact": "hukou_local", "op": "==", "value": 1})]}, "true/false"),
    ({"rules": [rule(when={"fact": "hukou_local", "op": "<", "value": True})]}, "true/false"),
    ({"rules": [rule(when={"fact": "household_size", "op": "<", "param": "income_limit", "value": 3})]},
     "exactly one"),
    ({"rules": [rule(when={"all": [nested(2)], "any": [nested(2)]})]}, "not both"),
    ({"rules": [rule(when=[])]}, "when must be an object"),
    ({"rules": [rule(when=nested(eligibility.MAX_DEPTH + 1))]}, "nested deeper"),
    ({"rules": [rule(explain={**EXPLAIN, "failed": "{household_size:d}"})]}, "format spec"),
    ({"rules": [rule(explain={**EXPLAIN, "failed": "{household_size!r}"})]}, "format spec"),
    ({"rules": [rule(explain={**EXPLAIN, "failed": "{}"})]}, "unknown"),
    ({"rules": [rule(explain={**EXPLAIN, "failed": "{household_size"})]}, "explanation"),
    ({"rules": [rule(explain={**EXPLAIN, "failed": 5})]}, "explain"),
    ({"rules": [rule(title=5)]}, "title"),
    ({"rules": [rule(applies_to="graduate")]}, "applies_to"),
    ({"rules": ["x"]}, "must be an object"),
    ({"policy": 5}, "policy"),
    ({"version": 2027}, "version"),
])
def test_the_parser_refuses_what_the_engine_could_not_judge(change: dict[str, Any], problem: str) -> None:
    data = copy.deepcopy(SHIPPED)
    data["versions"][-1].update(change)
    with pytest.raises(InvalidRules, match=problem.replace("[", r"\[")):
        eligibility.parse(data)


def test_the_parser_accepts_the_deepest_allowed_conditions_and_every_shipped_city() -> None:
    data = copy.deepcopy(SHIPPED)
    data["versions"][-1]["rules"] = [rule(when=nested(eligibility.MAX_DEPTH))]
    assert eligibility.parse(data).versions[-1].rules[0].id == "x"
    for path in eligibility.CITIES_DIR.glob("*/eligibility.json"):
        eligibility.parse(json.loads(path.read_text(encoding="utf-8")))


# --- the routes ---------------------------------------------------------------------------------
def future(days: float) -> datetime:
    return datetime.now(CHINA_TZ) + timedelta(days=days)


def test_the_admin_routes_need_an_admin(client: Any, tokens: Any) -> None:
    for role, status in (("applicant", 403), ("staff", 403), ("auditor", 403), (None, 401)):
        assert client.http.get(PATH, headers=tokens.headers(role)).status_code == status
        assert post(client, PATH, doc_at("2027-nobody", future(20)), tokens.headers(role)).status_code == status
    assert client.http.get("/v1/eligibility-rules/current").status_code == 200  # public


@pytest.mark.parametrize("change, field", [
    ({"params": {**PARAMS, "income_limit": "lots"}}, "rules"),  # every other limit present
    ({"rules": [rule(when={"fact": "household_size", "op": "<", "value": "3"})]}, "rules"),
    ({"rules": [rule(when=nested(30))]}, "rules"),
    ({"rules": []}, "rules"),
    ({"effective_from": None}, "effective_from"),
])
def test_a_version_the_engine_could_not_judge_is_400_and_not_stored(client: Any, tokens: Any,
                                                                    change: dict[str, Any], field: str) -> None:
    admin = tokens.headers("admin")
    r = post(client, PATH, doc_at("2027-unjudgeable", future(25), **change), admin)
    assert r.status_code == 400 and body(r)["error"]["field"] == field, body(r)
    assert "2027-unjudgeable" not in [v["version"] for v in body(client.http.get(PATH, headers=admin))["items"]]


def test_the_current_rules_explain_themselves_without_personal_data(client: Any) -> None:
    current = body(client.http.get("/v1/eligibility-rules/current"))
    assert current["version"] and current["policy"] and datetime.fromisoformat(current["effective_from"])
    assert {r["rule_id"] for r in current["rules"]} >= {"residence", "housing", "income"}
    assert all(r["title"] and r["clause"] and r["passed_means"] for r in current["rules"])
    assert "published_by" not in json.dumps(current)

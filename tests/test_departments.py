"""The department adapters against the department simulator on loopback: the real HTTP contract,
signing, timeouts and strict validation; the seeded registry's households get the recommendation
the registry says they should (through the real rules engine)."""
from __future__ import annotations

import io
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import pytest

from chalicelib import departments
from chalicelib.departments import (
    DEPARTMENTS,
    DepartmentError,
    DepartmentGarbage,
    DepartmentRejected,
    DepartmentTimeout,
    DepartmentUnavailable,
    parse_answer,
    query,
)
from devstack.departments import REGISTRY, DepartmentSimulator

SEED = json.loads(REGISTRY.read_text(encoding="utf-8"))
CONSENT = {"method": "app", "at": "2026-11-24T09:30:00+08:00", "text_version": "2026-01", "document_id": None}
CHEN = [h for h in SEED["households"] if h["id"] == "chen"][0]
NOBODY = SEED["not_registered"][0]["id_number"]


def persons(id_numbers: list[str], consent: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    names = {k: v["name"] for k, v in SEED["persons"].items()} | {NOBODY: SEED["not_registered"][0]["name"]}
    return [{"member_id": f"m_{i + 1}", "id_number": n, "name": names.get(n, "测试人"), "relation": "self",
             "minor": False, "consent": dict(consent or CONSENT)} for i, n in enumerate(id_numbers)]


@pytest.fixture(scope="module")
def simulator() -> Iterator[DepartmentSimulator]:
    with DepartmentSimulator() as sim:
        yield sim


@pytest.fixture()
def sim(simulator: DepartmentSimulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[DepartmentSimulator]:
    """The adapter pointed at the simulator (settings re-read), every department well-behaved."""
    from chalicelib import deps

    monkeypatch.setenv("DEPARTMENTS_BASE_URL", simulator.base_url)
    monkeypatch.setenv("DEPARTMENT_TIMEOUT_S", "3")
    monkeypatch.delenv("DEPARTMENTS_KEY", raising=False)
    deps.reset()
    departments.clear_caches()
    simulator.reset_modes()
    yield simulator
    simulator.reset_modes()
    monkeypatch.undo()
    deps.reset()
    departments.clear_caches()


def test_a_registry_person_s_facts_come_back_from_every_department(sim: DepartmentSimulator) -> None:
    ids = [m["id_number"] for m in CHEN["members"]]
    asked = persons(ids)
    for dept in DEPARTMENTS:
        answer = query(dept, asked, query_id=f"app_1-run_1-{dept}")
        assert answer["department"] == dept and answer["status"] == "answered"
        datetime.fromisoformat(answer["answered_at"])
        assert [p["member_id"] for p in answer["persons"]] == ["m_1", "m_2", "m_3"]
        for p, id_number in zip(answer["persons"], ids):
            expected = SEED["persons"][id_number]["facts"].get(dept)
            assert p["found"] is (expected is not None)
            assert p["facts"] == (expected or {})
    assert (DEPARTMENTS[-1], f"app_1-run_1-{DEPARTMENTS[-1]}") in sim.calls
    assert {(d, f"app_1-run_1-{d}") for d in DEPARTMENTS} <= set(sim.calls)


def test_an_unknown_person_is_an_answer_not_an_error(sim: DepartmentSimulator) -> None:
    answer = query("public_security", persons([NOBODY]), query_id="q_nobody")
    assert answer["status"] == "answered"
    assert answer["persons"] == [{"member_id": "m_1", "found": False, "facts": {}}]


def test_a_person_added_at_runtime(sim: DepartmentSimulator) -> None:
    id_number = "440703199001011236"  # valid check digit, not in the seed
    sim.add_default(id_number, vehicles={"vehicles": [{"value": 12000000, "plate_masked": "粤J·***01"}]},
                    veterans=None)
    who = persons([id_number])
    cars = query("vehicles", who, query_id="q_v")["persons"][0]
    assert cars == {"member_id": "m_1", "found": True,
                    "facts": {"vehicles": [{"value": 12000000, "plate_masked": "粤J·***01"}]}}
    assert query("veterans", who, query_id="q_vet")["persons"][0]["found"] is False
    hukou = query("public_security", who, query_id="q_ps")["persons"][0]["facts"]
    assert hukou["hukou_city"] == "jiangmen" and hukou["identity_valid"] is True


@pytest.mark.parametrize("mode", ["down", "throttled"])
def test_a_department_down_is_unavailable(sim: DepartmentSimulator, mode: str) -> None:
    sim.set_mode("real_estate", mode)
    with pytest.raises(DepartmentUnavailable, match="HTTP (503|429)"):
        query("real_estate", persons([NOBODY]), query_id="q_down")
    assert query("vehicles", persons([NOBODY]), query_id="q_up")["status"] == "answered"  # the others answer


def test_nobody_listening_is_unavailable(sim: DepartmentSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from chalicelib import deps

    with socket.socket() as s:  # a port that was free a moment ago: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("DEPARTMENTS_BASE_URL", f"http://127.0.0.1:{port}")
    deps.reset()
    with pytest.raises(DepartmentUnavailable):
        query("business", persons([NOBODY]), query_id="q_refused")


def test_slow_past_the_timeout_is_a_timeout(sim: DepartmentSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import deps

    monkeypatch.setenv("DEPARTMENT_TIMEOUT_S", "0.3")
    deps.reset()
    sim.set_mode("social_insurance", "slow", delay_s=2)
    started = time.monotonic()
    with pytest.raises(DepartmentTimeout, match="0.3 s"):
        query("social_insurance", persons([NOBODY]), query_id="q_slow")
    assert time.monotonic() - started < 1.5
    sim.set_mode("social_insurance", "slow", delay_s=0.05)  # slow but within the timeout: an answer
    assert query("social_insurance", persons([NOBODY]), query_id="q_slowish")["status"] == "answered"


@pytest.mark.parametrize("mode, message", [
    ("garbage", "not JSON"),
    ("garbage:missing_member", "no answer for member"),
    ("garbage:wrong_types", "found: expected bool"),
    ("garbage:wrong_query", "another query"),
])
def test_garbage_is_garbage(sim: DepartmentSimulator, mode: str, message: str) -> None:
    sim.set_mode("civil_affairs", mode)
    with pytest.raises(DepartmentGarbage, match=message):
        query("civil_affairs", persons([m["id_number"] for m in CHEN["members"]]), query_id="q_garbage")


def _raw(persons_: list[dict[str, Any]], department: str = "vehicles", **extra: Any) -> bytes:
    return json.dumps({"query_id": "q", "department": department, "answered_at": "2026-11-24T10:00:00+08:00",
                       "persons": persons_, **extra}).encode()


@pytest.mark.parametrize("answer, message", [
    ([{"member_id": "m_1", "found": True, "facts": {"vehicles": []}}] * 2, "answered twice"),
    ([{"member_id": "m_1", "found": True, "facts": {"vehicles": []}},
      {"member_id": "m_9", "found": False, "facts": {}}], "not asked about"),
    ([{"member_id": "m_1", "found": True, "facts": {"vehicles": [{"value": "65000"}]}}], r"vehicles\[0\].value"),
    ([{"member_id": "m_1", "found": True, "facts": {"vehicles": [{"value": 6500.5}]}}], "expected int"),
    ([{"member_id": "m_1", "found": True, "facts": {"vehicles": [{"value": -1}]}}], "expected int"),
    ([{"member_id": "m_1", "found": True, "facts": {"vehicles": [{"value": True}]}}], "expected int"),
    ([{"member_id": "m_1", "found": True, "facts": {}}], "vehicles: missing"),
    ([{"member_id": "m_1", "found": True, "facts": ["vehicles"]}], "expected an object"),
    ([{"member_id": "m_1", "found": 1, "facts": {"vehicles": []}}], "found: expected bool"),
    ([{"member_id": "m_1", "found": False, "facts": {"vehicles": []}}], "without a record"),
])
def test_answers_are_validated_strictly(answer: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(DepartmentGarbage, match=message):
        parse_answer("vehicles", "q", ["m_1"], _raw(answer))


def test_validation_keeps_only_the_contract_s_facts() -> None:
    raw = _raw([{"member_id": "m_1", "found": True, "facts": {
        "properties": [{"city": "jiangmen", "floor_area": 48, "address": "蓬江区某路 1 号", "owner": "周文斌"}],
        "certificate_no": "粤(2020)江门市不动产权第0000001号"}}], department="real_estate")
    answer = parse_answer("real_estate", "q", ["m_1"], raw)
    assert answer["persons"][0]["facts"] == {"properties": [{"city": "jiangmen", "floor_area": 48}]}
    for broken in (b"[]", _raw([], department="vehicles", answered_at="yesterday"), b"{" + b" " * 1_048_576 + b"}"):
        with pytest.raises(DepartmentGarbage):
            parse_answer("real_estate", "q", ["m_1"], broken)
    with pytest.raises(DepartmentGarbage, match="another department"):
        parse_answer("real_estate", "q", ["m_1"], _raw([], department="vehicles"))
    no_record = [{"member_id": "m_1", "found": False}]
    for when in ("yesterday", "2026-11-24T10:00:00"):  # staff see an instant: a time without its offset is not one
        with pytest.raises(DepartmentGarbage, match="answered_at"):
            parse_answer("real_estate", "q", ["m_1"], _raw(no_record, department="real_estate", answered_at=when))
    utc = parse_answer("real_estate", "q", ["m_1"], _raw(no_record, department="real_estate",
                                                         answered_at="2026-11-24T02:00:00Z"))
    assert utc["answered_at"] == "2026-11-24T02:00:00+00:00"


def test_a_bad_signature_is_rejected_by_the_simulator(sim: DepartmentSimulator,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = len(sim.calls)
    monkeypatch.setenv("DEPARTMENTS_KEY", "not-the-city-key")
    with pytest.raises(DepartmentRejected, match="HTTP 401"):
        query("veterans", persons([NOBODY]), query_id="q_forged")
    assert len(sim.calls) == before  # refused before it was answered
    monkeypatch.setenv("DEPARTMENTS_KEY", "local-simulator-key")
    assert query("veterans", persons([NOBODY]), query_id="q_signed")["status"] == "answered"
    sim.set_mode("veterans", "reject")
    with pytest.raises(DepartmentRejected):  # not a DepartmentUnavailable: the state machine does not retry it
        query("veterans", persons([NOBODY]), query_id="q_rejected")
    assert not issubclass(DepartmentRejected, DepartmentUnavailable)


def test_the_consent_travels_with_the_query(sim: DepartmentSimulator) -> None:
    signed_form = {**CONSENT, "method": "signed_form", "document_id": "doc_123"}
    asked = persons([CHEN["members"][0]["id_number"]], consent=signed_form)
    query("provident_fund", asked, query_id="q_consent")
    request = [r for r in sim.requests if r["query_id"] == "q_consent"][0]
    assert request["department"] == "provident_fund" and request["city"] == "jiangmen"
    assert request["persons"] == [{"member_id": "m_1", "id_number": asked[0]["id_number"], "name": asked[0]["name"],
                                   "consent": signed_form}]  # relation and minor flag are not sent
    before = len(sim.calls)
    for consent in (None, {}, {"method": "app"}):
        bad = persons([NOBODY])
        bad[0]["consent"] = consent
        with pytest.raises(DepartmentError, match="no recorded consent"):
            query("provident_fund", bad, query_id="q_no_consent")
    with pytest.raises(DepartmentError, match="nobody"):
        query("provident_fund", [], query_id="q_empty")
    with pytest.raises(DepartmentError, match="unknown department"):
        query("tax", persons([NOBODY]), query_id="q_tax")
    assert len(sim.calls) == before  # never sent


def test_no_id_number_or_name_in_the_logs(sim: DepartmentSimulator) -> None:
    from chalicelib.observability import logger

    raw, formatted = io.StringIO(), io.StringIO()
    masked = logging.StreamHandler(formatted)  # the lines as written
    masked.setFormatter(logger.registered_formatter)

    class Unmasked(logging.Handler):  # what the adapter hands the logger, before any masking
        def emit(self, record: logging.LogRecord) -> None:
            raw.write(repr(record.__dict__) + "\n")

    handlers: list[logging.Handler] = [masked, Unmasked()]
    for h in handlers:
        logger.addHandler(h)
    ids = [m["id_number"] for m in CHEN["members"]]
    asked = persons(ids)
    errors = []
    try:
        query("public_security", asked, query_id="q_log")
        for mode in ("down", "garbage:wrong_types", "garbage:missing_member"):
            sim.set_mode("public_security", mode)
            try:
                query("public_security", asked, query_id="q_log")
            except DepartmentError as exc:
                errors.append(str(exc))
    finally:
        for h in handlers:
            logger.removeHandler(h)
    text = raw.getvalue() + formatted.getvalue() + "\n".join(errors)
    assert "department answered" in text and "department query failed" in text and len(errors) == 3
    for secret in ids + [p["name"] for p in asked]:
        assert secret not in text


def test_endpoints_from_the_city_config_and_the_key_from_secrets_manager(
        sim: DepartmentSimulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys
    import types

    from chalicelib import deps

    arn = "arn:aws-cn:secretsmanager:cn-northwest-1:111122223333:secret:jiangmen/departments-AbCdEf"
    reads: list[tuple[str, str]] = []

    class SecretsManager:  # a stand-in boto3 (moto's mock_aws would reset the shared local AWS)
        def get_secret_value(self, SecretId: str) -> dict[str, str]:  # noqa: N803 - boto3's name
            reads.append(("get_secret_value", SecretId))
            return {"SecretString": json.dumps({"key": "rotated-city-key"})}

    def client(service: str, **kwargs: Any) -> SecretsManager:
        assert service == "secretsmanager" and kwargs["region_name"] == "cn-northwest-1"
        return SecretsManager()

    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=client))
    monkeypatch.delenv("DEPARTMENTS_BASE_URL")
    monkeypatch.setenv("CITY_CODE", "jiangmen")
    deps.reset()
    monkeypatch.setattr(departments, "CITIES_DIR", tmp_path)
    (tmp_path / "jiangmen").mkdir()
    with pytest.raises(DepartmentError, match="no endpoint configured"):
        query("real_estate", persons([NOBODY]), query_id="q_none")
    departments.clear_caches()
    (tmp_path / "jiangmen" / "departments.json").write_text(json.dumps({
        "secret_arn": arn,
        "real_estate": {"url": f"{sim.base_url}/real_estate/query"},
        "vehicles": {"url": "http://data.example.gov.cn/vehicles/query"},
    }))
    sim.key = "rotated-city-key"
    try:
        for n in range(2):
            assert query("real_estate", persons([NOBODY]), query_id=f"q_config_{n}")["status"] == "answered"
        assert reads == [("get_secret_value", arn)]  # cached per process
        with pytest.raises(DepartmentError, match="https"):
            query("vehicles", persons([NOBODY]), query_id="q_plain_http")
        with pytest.raises(DepartmentError, match="no endpoint configured"):
            query("business", persons([NOBODY]), query_id="q_missing")
        departments.clear_caches()

        def unreachable(service: str, **kwargs: Any) -> Any:
            raise OSError("Could not connect to the endpoint URL")

        monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=unreachable))
        with pytest.raises(DepartmentUnavailable, match="signing key unavailable"):  # retried: it may come back
            query("real_estate", persons([NOBODY]), query_id="q_no_key")
    finally:
        sim.key = "local-simulator-key"


# --- the seeded registry gives each household the recommendation it documents ----------------------------
@dataclass
class _Application:  # what verification.assemble() reads of an application
    kind: str
    members: list[dict[str, Any]]
    data: dict[str, Any] = field(default_factory=dict)

    def main(self) -> dict[str, Any]:
        return next(m for m in self.members if m["relation"] == "self")


def test_the_seed_ids_are_valid_and_the_not_registered_are_not_registered() -> None:
    from chalicelib.domain.idnumbers import parse_id_number

    for id_number in list(SEED["persons"]) + [p["id_number"] for p in SEED["not_registered"]]:
        assert parse_id_number(id_number).region.startswith("4407")
    assert not {p["id_number"] for p in SEED["not_registered"]} & set(SEED["persons"])
    for person in SEED["persons"].values():
        for dept, facts in person["facts"].items():
            departments.check_facts(dept, facts)  # the seed itself keeps the contract
    assert {h["expected"] for h in SEED["households"]} == {"pass", "fail", "manual_review"}


@pytest.mark.parametrize("household", SEED["households"], ids=[h["id"] for h in SEED["households"]])
def test_each_seeded_household_gets_its_documented_recommendation(sim: DepartmentSimulator,
                                                                  household: dict[str, Any]) -> None:
    from chalicelib.domain import eligibility
    from chalicelib.domain.idnumbers import parse_id_number
    from chalicelib.domain.verification import assemble, recommend

    ids = [m["id_number"] for m in household["members"]]
    asked = persons(ids)
    members = [{"member_id": p["member_id"], "relation": m["relation"],
                "birth_date": parse_id_number(m["id_number"]).birth_date.isoformat()}
               for p, m in zip(asked, household["members"])]
    answers = [query(d, asked, query_id=f"{household['id']}-{d}") for d in DEPARTMENTS]
    app = _Application(household["kind"], members, {"declared": household["declared"]})
    facts, sources, flags, _ = assemble(app, answers, "jiangmen")  # type: ignore[arg-type]
    book = eligibility.rule_book("jiangmen")
    assessment = eligibility.evaluate(book, book.in_force(datetime.fromisoformat("2026-11-24T10:00:00+08:00")),
                                      household["kind"], facts, sources)
    recommendation = recommend(assessment.verdict, flags)  # the decision step's own rule
    assert recommendation == household["expected"], (household["why"], facts, flags)
    checks = household.get("checks") or {}
    results = {o.rule_id: o.result.value for o in assessment.outcomes}
    for rule_id, result in (checks.get("rules") or {}).items():
        assert results[rule_id] == result, (household["why"], rule_id, results)
    if "flags" in checks:  # exactly these flags (fact, department, reason), each with a zh-CN note
        assert sorted((f["fact"], f["department"], f["reason"]) for f in flags) == sorted(
            (f["fact"], f["department"], f["reason"]) for f in checks["flags"]), (household["why"], flags)
        assert all(f["note"] for f in flags)


def test_the_registry_seeds_each_no_record_case() -> None:
    """Issue 9 §6: the simulator holds a household for each meaning of "no record" in the city's rules."""
    from chalicelib.domain.eligibility import rule_book

    by_id = {h["id"]: h for h in SEED["households"]}
    main = {h["id"]: SEED["persons"].get(h["members"][0]["id_number"], {"facts": {}})["facts"] for h in by_id.values()}
    assert "public_security" not in main["sun"] and by_id["sun"]["expected"] == "manual_review"
    assert "social_insurance" not in main["zhao"] and by_id["zhao"]["declared"]["social_insurance_months"] == 24
    assert "provident_fund" not in main["qian"] and by_id["qian"]["expected"] == "manual_review"
    assert not {"real_estate", "vehicles", "business"} & set(main["ma"]) and by_id["ma"]["expected"] == "pass"
    assert rule_book("jiangmen").no_record == {
        "public_security": "unconfirmed", "real_estate": "answer", "civil_affairs": "answer", "vehicles": "answer",
        "social_insurance": "unknown", "business": "answer", "veterans": "answer", "provident_fund": "unknown"}


def _emf(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]


def test_every_call_is_a_data_point_of_its_department_s_error_rate_and_latency(
        sim: DepartmentSimulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The dashboard's per-department error rate (Average of 0/1) and latency (docs/decisions/0038)."""
    from chalicelib.metric_names import DEPARTMENT_ERRORS, DEPARTMENT_LATENCY

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()
    query("vehicles", persons([NOBODY]), query_id="q_metric_ok")
    sim.set_mode("real_estate", "down")
    with pytest.raises(DepartmentUnavailable):
        query("real_estate", persons([NOBODY]), query_id="q_metric_down")
    points = _emf(capsys.readouterr().out)
    assert [(p["department"], p[DEPARTMENT_ERRORS]) for p in points] == [("vehicles", [0.0]), ("real_estate", [1.0])]
    for point in points:
        assert point[DEPARTMENT_LATENCY][0] >= 0 and point["service"] == "public-housing" and point["city"]
        [directive] = point["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "PublicHousing"
        assert set(directive["Dimensions"][0]) == {"service", "city", "department"}

"""The audit trail kept and tamper-evident (issue 15 §2, docs/decisions/0040): each record expires after
the city's retention (>= 180 days), each China day is sealed by the daily job and chained to the day
before, and the verifier (GET /v1/audit/verification) finds an edited, deleted or inserted record and
an edited or removed seal. Time moves with a clock."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Iterator

import pytest

from tests.applying import call

CHINA_DAY = timedelta(days=1)


@pytest.fixture(scope="module", autouse=True)
def fresh(stack: Any) -> None:
    stack.reset()  # no seals, no records: the chain starts in this module


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, timedelta]]:
    from chalicelib.domain import common

    real = common.now
    state = {"offset": timedelta(0)}
    monkeypatch.setattr(common, "now", lambda: real() + state["offset"])
    yield state


def _staff() -> Any:
    from chalicelib.identity import Actor, Role

    return Actor("staff-audit", frozenset({Role.STAFF}), "jiangmen", {})


def _read(n: int, prefix: str) -> None:
    from chalicelib.domain import audit

    for i in range(n):
        audit.record(_staff(), f"application#app_{prefix}{i}", "read_review", f"审核第 {i} 件")


def _verify(client: Any, tokens: Any, first: date, last: date) -> dict[str, Any]:
    status, body = call(client, "GET", f"/v1/audit/verification?from={first}&to={last}", tokens.headers("auditor"))
    assert status == 200, body
    return body


def _kinds(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(p["day"], p["kind"]) for p in report["problems"]}


def _records(day: date) -> list[Any]:
    from chalicelib.repositories.tables import AuditRecord

    return list(AuditRecord.by_day.query(day.isoformat()))


def test_records_expire_after_the_citys_retention(client: Any, tokens: Any) -> None:
    from chalicelib.domain import common
    from chalicelib.repositories.tables import AuditRecord

    _read(1, "ttl")
    record = next(AuditRecord.query("application#app_ttl0"))
    written = datetime.fromisoformat(record.at.split("#")[0])
    assert record.expires_at is not None
    kept = record.expires_at - written
    assert timedelta(days=180) - timedelta(seconds=2) <= kept <= timedelta(days=180, seconds=2)
    assert common.now() - written < timedelta(minutes=5)


def test_sealed_days_verify_and_each_kind_of_tampering_is_found(client: Any, tokens: Any,
                                                               clock: dict[str, timedelta]) -> None:
    from chalicelib.domain import audit, common
    from chalicelib.repositories.tables import AuditRecord, AuditSealRecord

    d0 = common.now().date()
    _read(5, "d0_")
    report = _verify(client, tokens, d0, d0)
    assert report["ok"] and report["days"][0]["status"] == "unsealed" and report["days"][0]["records"] >= 5
    # the next day: the job seals the day before (and, the first time, the month before it: empty days)
    clock["offset"] = CHINA_DAY
    sealed = audit.seal_due()
    assert sealed["sealed"][-1] == d0.isoformat() and len(sealed["sealed"]) == audit.MAX_DAYS
    assert audit.seal_due()["sealed"] == []  # a re-run seals nothing twice
    d1 = d0 + CHINA_DAY
    _read(3, "d1_")
    clock["offset"] = 2 * CHINA_DAY
    assert audit.seal_due()["sealed"] == [d1.isoformat()]
    report = _verify(client, tokens, d0 - CHINA_DAY, d1)
    assert report["ok"], report["problems"]
    assert [d["status"] for d in report["days"]] == ["sealed", "sealed", "sealed"]
    assert report["days"][2]["records"] == 3

    # an edited record (its digest left as it was): the record does not match its digest
    victim = next(r for r in _records(d0) if r.target == "application#app_d0_1")
    victim.update(actions=[AuditRecord.reason.set("无事由")])
    assert (d0.isoformat(), "record_altered") in _kinds(_verify(client, tokens, d0, d1))
    # ... and its digest recomputed to match: the day no longer matches its seal
    fields = {f: getattr(victim, f) for f in audit.CONTENT}
    victim.update(actions=[AuditRecord.digest.set(audit.digest_of(fields))])
    kinds = _kinds(_verify(client, tokens, d0, d1))
    assert (d0.isoformat(), "records_changed") in kinds and (d0.isoformat(), "record_altered") not in kinds

    # a deleted record, then a forged one inserted in its place (consistent with itself)
    gone = next(r for r in _records(d1) if r.target == "application#app_d1_2")
    gone.delete()
    report = _verify(client, tokens, d1, d1)
    assert (d1.isoformat(), "records_changed") in _kinds(report) and "封存 3 条，现有 2 条" in report["problems"][0]["detail"]
    forged = {"target": "application#app_forged", "at": f"{d1.isoformat()}T12:00:00.000+08:00#aud_forged",
              "actor": "staff-audit", "actor_role": "staff", "action": "read_review", "reason": "补录", "day": d1.isoformat()}
    AuditRecord(**forged, digest=audit.digest_of(forged)).save()
    assert (d1.isoformat(), "records_changed") in _kinds(_verify(client, tokens, d1, d1))

    # an edited seal, then a removed one: the chain shows it
    seal = AuditSealRecord.get("audit", d1.isoformat())
    seal.update(actions=[AuditSealRecord.count.set(7)])
    assert (d1.isoformat(), "seal_altered") in _kinds(_verify(client, tokens, d1, d1))
    AuditSealRecord.get("audit", d0.isoformat()).delete()
    kinds = _kinds(_verify(client, tokens, d0, d1))
    assert {(d0.isoformat(), "seal_missing"), (d1.isoformat(), "chain_broken")} <= kinds


def test_days_past_the_retention_are_checked_as_a_chain_only(client: Any, tokens: Any,
                                                             clock: dict[str, timedelta]) -> None:
    from chalicelib.domain import common

    long_ago = common.now().date() - timedelta(days=200)
    report = _verify(client, tokens, long_ago, long_ago)
    assert report["days"][0]["status"] == "expired" and report["days"][0]["records"] is None


def test_verification_bad_input_and_who_may(client: Any, tokens: Any) -> None:
    cases = [("?from=2026-02-10&to=2026-02-01", "to"), ("?from=2026-01-01&to=2026-03-01", "to"),
             ("?from=2026-1-1", "from"), ("?to=tomorrow", "to"), ("?from=2026-02-30", "from")]
    for query, field in cases:
        status, body = call(client, "GET", f"/v1/audit/verification{query}", tokens.headers("auditor"))
        assert status == 400 and body["error"]["field"] == field, (query, body)
        assert body["error"]["message"]
    for role in ("staff", "applicant"):
        status, body = call(client, "GET", "/v1/audit/verification", tokens.headers(role))
        assert status == 403, body
    status, body = call(client, "GET", "/v1/audit/verification", {})
    assert status == 401
    status, body = call(client, "GET", "/v1/audit/verification", tokens.headers("admin"))
    assert status == 200 and len(body["days"]) == 7


def test_the_seal_is_a_daily_schedule(app: Any) -> None:
    from chalice.test import Client

    with Client(app) as local:
        event = local.events.generate_cw_event("aws.events", "Scheduled Event", {}, [], "cn-northwest-1")
        result = local.lambda_.invoke("seal_audit_trail", event).payload
    assert set(result) == {"sealed", "records", "last"} and isinstance(result["sealed"], list)

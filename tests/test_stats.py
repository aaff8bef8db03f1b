"""Statistics (统计, issue 14 §2; docs/decisions/0037).

First the facts alone (pure: what an item contributes, a change's delta, the p90 from the histogram,
China months). Then on the local stack: the streams drained into the counters by the app's
``count_stats`` (devstack/streams.py), a month read in one DynamoDB request, every stream record
counted once however often it is delivered, a rolled-back transaction counted never, the full recount
agreeing with the counters (and a planted difference found, counted as the metric), the export files,
who may read them and bad input.
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any, Iterator

import botocore.client
import pytest
import requests

from chalicelib.domain import stats
from chalicelib.domain.common import now
from tests.applying import Citizen, call, register

MONTH = "2026-12"
_UNPATCHED = botocore.client.BaseClient._make_api_call  # before the suite's guard wraps it


# --- the facts (pure) ------------------------------------------------------------------------------
def test_months_are_china_months() -> None:
    assert stats.month_of("2026-11-30T23:30:00+08:00") == "2026-11"
    assert stats.month_of("2026-11-30T16:30:00+00:00") == "2026-12"  # 00:30 on 1 December in China
    assert stats.month_of(None) is None and stats.month_of("garbage") is None


def test_an_application_counts_its_submit_and_its_approval_with_the_days_between() -> None:
    draft = {"status": "draft", "created_at": "2026-11-02T09:00:00+08:00"}
    submitted = {**draft, "status": "submitted", "submitted_at": "2026-11-03T09:00:00+08:00"}
    approved = {**submitted, "status": "approved", "approved_at": "2026-12-05T21:00:00+08:00"}
    assert stats.delta("applications", None, draft) == {}
    assert stats.delta("applications", draft, submitted) == {("2026-11", "applications_submitted"): 1,
                                                              ("total", "applications_submitted"): 1}
    moved = stats.delta("applications", submitted, approved)
    assert moved[("2026-12", "applications_approved")] == 1
    assert moved[("2026-12", "approval_days_32")] == 1  # 32.5 days: whole days
    assert moved[("2026-12", "approval_seconds")] == 32 * 86400 + 12 * 3600
    housed = {**approved, "status": "housed", "updated_at": "2027-01-09T10:00:00+08:00"}
    assert stats.delta("applications", approved, housed) == {}  # later moves change nothing counted


def test_a_deletion_moves_no_figure_of_a_source_that_keeps_them_and_any_other_deletion_does() -> None:
    from chalicelib.domain.stats import delta, kept_image

    app = {"application_id": "app_1", "submitted_at": "2026-03-02T10:00:00+08:00", "members": [{"name": "x"}]}
    assert delta("applications", app, None) == {}
    assert kept_image("applications", app) == {"submitted_at": "2026-03-02T10:00:00+08:00"}
    unit = {"unit_id": "u1", "created_at": "2026-03-02T10:00:00+08:00"}
    assert delta("units", unit, None) == {("2026-03", "units_listed"): -1, ("total", "units_listed"): -1}


def test_payments_reviews_leases_and_policies_count_what_the_ministry_asks() -> None:
    paid = {"provider": "wechat", "status": "paid", "paid_at": "2026-12-01T10:00:00+08:00", "amount": 30000}
    assert stats.delta("payments", None, paid)[("2026-12", "payments_online_amount")] == 30000
    assert stats.delta("payments", None, {**paid, "provider": "counter"}) == {}
    assert stats.delta("payments", None, {**paid, "status": "refunded", "refund": {"duplicate_of": "pay_x"}}) == {}
    decided = {"status": "decided", "outcome": "must_leave", "decided_at": "2026-12-02T10:00:00+08:00"}
    assert stats.delta("reviews", {**decided, "status": "recommended"}, decided) == {
        ("2026-12", "reviews_decided"): 1, ("total", "reviews_decided"): 1,
        ("2026-12", "review_outcome_must_leave"): 1, ("total", "review_outcome_must_leave"): 1}
    lease = {"status": "confirmed", "confirmed_at": "2026-12-03T10:00:00+08:00"}
    assert stats.delta("leases", None, lease) == {("2026-12", "households_housed"): 1, ("total", "households_housed"): 1}
    assert stats.delta("leases", None, {**lease, "renews": "lse_old"}) == {}  # a renewal houses nobody new
    published = {"status": "published", "published_at": "2026-12-04T10:00:00+08:00"}
    assert stats.delta("policies", published, {**published, "status": "withdrawn"}) == {
        ("2026-12", "policies_published"): -1, ("total", "policies_published"): -1}


def test_complaints_and_suggestions_count_when_filed_closed_and_rated() -> None:
    filed = {"kind": "complaint", "status": "open", "filed_at": "2026-11-29T10:00:00+08:00"}
    assert stats.delta("tickets", None, filed) == {("2026-11", "complaints"): 1, ("total", "complaints"): 1}
    assert stats.delta("tickets", None, {**filed, "kind": "repair"}) == {}  # a repair is not the ministry's figure
    closed = {**filed, "status": "closed", "resolved_at": "2026-12-02T10:00:00+08:00", "resolution_met": False}
    assert stats.delta("tickets", filed, closed) == {("2026-12", "feedback_closed"): 1, ("total", "feedback_closed"): 1}
    rated = {**closed, "rating_score": 4, "rating": {"score": 4, "at": "2026-12-03T09:00:00+08:00"}}
    moved = stats.delta("tickets", closed, rated)
    assert moved[("2026-12", "feedback_rating_sum")] == 4 and moved[("2026-12", "feedback_rated")] == 1
    suggestion = {"kind": "suggestion", "filed_at": "2026-12-01T10:00:00+08:00", "resolved_at": "2026-12-01T12:00:00+08:00",
                  "resolution_met": True}
    figures = stats.figures({k[1]: n for k, n in (stats.delta("tickets", None, suggestion) | {
        ("total", "feedback_rated"): 1, ("total", "feedback_rating_sum"): 5}).items() if k[0] == "total"})
    assert (figures["suggestions"], figures["feedback_on_time_rate"], figures["feedback_rating_avg"]) == (1, 1.0, 5.0)


def test_p90_and_average_come_from_the_months_counters() -> None:
    counters = {"applications_approved": 10, "approval_seconds": 10 * 3 * 86400,
                **{f"approval_days_{d}": 1 for d in range(10)}}
    assert stats.p90_days(counters) == 8  # the 9th of 10 approvals took 8 whole days
    figures = stats.figures(counters)
    assert figures["approval_days_avg"] == 3.0 and figures["approval_days_p90"] == 8
    assert stats.figures({})["approval_days_p90"] is None and stats.figures({})["approval_days_avg"] is None


# --- on the local stack ----------------------------------------------------------------------------------
@pytest.fixture()
def scans_allowed(no_scans: list[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The recount scans the source tables (it is a job, not a request path: docs/decisions/0037)."""
    guarded = botocore.client.BaseClient._make_api_call

    def scanning(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "Scan" and self.meta.service_model.service_name == "dynamodb":
            no_scans.append("Scan")
            return _UNPATCHED(self, operation, params)
        return guarded(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", scanning)
    yield no_scans


def _get(client: Any, token: str, path: str) -> tuple[int, Any]:
    return call(client, "GET", path, {"Authorization": f"Bearer {token}"})


def _month(client: Any, tokens: Any, month: str | None = None) -> dict[str, Any]:
    status, body = _get(client, tokens("admin"), "/v1/stats" + (f"?month={month}" if month else ""))
    assert status == 200, body
    return body


def _recount(client: Any, tokens: Any, through: str) -> dict[str, Any]:
    from chalicelib.domain import stats_recount

    status, run = call(client, "POST", "/v1/admin/stats/recounts", tokens.headers("admin"), {"through": through})
    assert status == 202 and run["status"] == "running", run
    stats_recount.step(run["recount_id"], 60)  # the recount_stats job's step
    status, run = _get(client, tokens("admin"), f"/v1/admin/stats/recounts/{run['recount_id']}")
    assert status == 200 and run["status"] == "finished", run
    return run


def test_the_catalogue_is_counted_from_the_streams_in_one_request(
        client: Any, stack: Any, tokens: Any, catalogue: dict[str, Any], no_scans: list[str]) -> None:
    stack.drain_streams()
    this_month = now().strftime("%Y-%m")
    no_scans.clear()
    body = _month(client, tokens)
    assert no_scans == ["BatchGetItem"]  # the month's counter item and the total's: one request
    assert body["month"] == this_month
    assert body["figures"]["units_listed"] == len(catalogue["units"])
    assert body["figures"]["policies_published"] == len(catalogue["policies"])  # the draft does not count
    assert body["totals"]["units_listed"] == len(catalogue["units"])


def test_a_registration_and_a_withdrawn_policy_move_the_figures(
        client: Any, stack: Any, tokens: Any, catalogue: dict[str, Any]) -> None:
    from chalicelib.domain import policies
    from chalicelib.domain.policies import PolicyStatus

    stack.drain_streams()
    before = _month(client, tokens)["figures"]
    register(client, Citizen(stack))
    policy = catalogue["policies"][-1]
    policies.change_status(policy.policy_id, PolicyStatus.WITHDRAWN, policies.get(policy.policy_id).version)
    stack.drain_streams()
    after = _month(client, tokens)["figures"]
    assert after["registered_users"] == before["registered_users"] + 1
    assert after["policies_published"] == before["policies_published"] - 1


def test_each_stream_record_counts_once_whatever_the_redeliveries(client: Any, stack: Any, tokens: Any) -> None:
    from app import app
    from chalicelib.repositories.tables import PaymentRecord
    from devstack.stack import FakeLambdaContext
    from devstack.streams import StreamPoller

    stack.drain_streams()
    before = _month(client, tokens)["figures"]
    stamp = now().isoformat(timespec="seconds")
    for n in range(3):
        PaymentRecord(f"pay_stats{n:011d}", list_sort=f"{stamp}#{n}", payer="t", payer_role="tenant", provider="alipay",
                      method="alipay", amount=10000 + n, description="房租", status="paid", paid_at=stamp,
                      created_at=stamp, updated_at=stamp).save()
    poller = StreamPoller(stack.endpoint)  # a second reader of the same streams: every record again
    arn = next(a for a in poller._stream_arns() if "payments" in a)
    records = poller._read(arn)
    for record in records:
        record["eventSourceARN"] = arn
    count = app.handler_map["count_stats"]
    first = count({"Records": records[-2:]}, FakeLambdaContext("count_stats"))  # a batch cut short
    again = count({"Records": records[-3:] + records[-3:]}, FakeLambdaContext("count_stats"))  # retried, doubled
    stack.drain_streams()  # and the mapping's own delivery
    assert first["applied"] == 2 and again["applied"] == 1 and again["already_counted"] == 2
    after = _month(client, tokens)["figures"]
    assert after["payments_online_count"] == before["payments_online_count"] + 3
    assert after["payments_online_amount"] == before["payments_online_amount"] + 30003


def test_a_rolled_back_transaction_leaves_nothing_to_count(client: Any, stack: Any, tokens: Any) -> None:
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    from chalicelib.repositories.common import _connection
    from chalicelib.repositories.tables import PersonRecord
    from chalicelib.config import settings

    stack.drain_streams()
    before = _month(client, tokens)["figures"]["registered_users"]
    stamp = now().isoformat(timespec="seconds")
    PersonRecord("sub_stats_exists", kind="citizen", name="甲", created_at=stamp, updated_at=stamp).save()
    with pytest.raises(TransactWriteError):
        with TransactWrite(connection=_connection(settings().region, settings().endpoint_url)) as tx:
            tx.save(PersonRecord("sub_stats_rolled_back", kind="citizen", name="乙", created_at=stamp, updated_at=stamp))
            tx.save(PersonRecord("sub_stats_exists", kind="citizen", name="甲", created_at=stamp, updated_at=stamp),
                    condition=PersonRecord.subject.does_not_exist())
    stack.drain_streams()
    assert _month(client, tokens)["figures"]["registered_users"] == before + 1


def test_the_recount_agrees_and_finds_a_planted_difference(
        client: Any, stack: Any, tokens: Any, scans_allowed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import observability
    from chalicelib.deps import deps
    from chalicelib.metric_names import STATS_RECOUNT_MISMATCHES

    counted: list[tuple[str, int]] = []
    monkeypatch.setattr(observability, "daily_count", lambda name, value: counted.append((name, value)))
    stack.drain_streams()
    this_month = now().strftime("%Y-%m")
    run = _recount(client, tokens, this_month)
    assert run["mismatch_count"] == 0, run["mismatches"]
    assert run["items_read"] > 0 and run["progress"] == 1.0 and "Scan" in scans_allowed
    repo = deps().stats
    repo.client.update_item(TableName=repo.table, Key={"pk": {"S": "counters"}, "sk": {"S": this_month}},
                            UpdateExpression="ADD units_listed :one", ExpressionAttributeValues={":one": {"N": "1"}})
    run = _recount(client, tokens, this_month)
    assert run["mismatch_count"] == 1
    assert run["mismatches"] == [{"month": this_month, "counter": "units_listed",
                                  "counted": run["mismatches"][0]["recounted"] + 1,
                                  "recounted": run["mismatches"][0]["recounted"]}]
    assert counted == [(STATS_RECOUNT_MISMATCHES, 0), (STATS_RECOUNT_MISMATCHES, 1)]
    repo.client.update_item(TableName=repo.table, Key={"pk": {"S": "counters"}, "sk": {"S": this_month}},
                            UpdateExpression="ADD units_listed :one", ExpressionAttributeValues={":one": {"N": "-1"}})


def test_the_monthly_job_starts_once_and_steps_the_running_ones(
        stack: Any, scans_allowed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime

    from chalicelib.domain import stats_recount
    from chalicelib.handlers import stats as handler

    first = datetime(2027, 1, 1, 3, 0, tzinfo=now().tzinfo)
    monkeypatch.setattr("chalicelib.domain.common.now", lambda: first)
    monkeypatch.setattr(stats_recount, "now", lambda: first)
    done = [handler.recount_stats.func({}) for _ in range(2)]  # type: ignore[attr-defined]
    runs = [r for answer in done for r in answer["runs"] if r["recount_id"] == "src-2026-12"]
    assert runs and runs[0]["status"] == "finished"
    assert stats_recount.get("src-2026-12")["trigger"] == "schedule"


def test_the_export_files_hold_the_figures(client: Any, stack: Any, tokens: Any) -> None:
    stack.drain_streams()
    figures = _month(client, tokens)["figures"]
    status, csv_link = _get(client, tokens("ministry"), "/v1/stats/export?format=csv")
    assert status == 200 and csv_link["format"] == "csv", csv_link
    data = requests.get(csv_link["url"], timeout=10).content
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0][:2] == ["指标代码", "指标"]
    assert ["units_listed", "上架房源数", str(figures["units_listed"])] == table[1 + 1][:3]
    status, xlsx_link = _get(client, tokens("admin"), f"/v1/stats/export?format=xlsx&month={now().strftime('%Y-%m')}")
    assert status == 200 and xlsx_link["bytes"] > 0
    book = zipfile.ZipFile(io.BytesIO(requests.get(xlsx_link["url"], timeout=10).content))
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "上架房源数" in sheet and f"<v>{figures['units_listed']}</v>" in sheet
    assert set(book.namelist()) >= {"[Content_Types].xml", "xl/workbook.xml", "_rels/.rels"}


def test_who_may_read_and_bad_input(client: Any, stack: Any, tokens: Any) -> None:
    for role, expected in (("admin", 200), ("auditor", 200), ("ministry", 200), ("staff", 403), ("applicant", 403)):
        assert _get(client, tokens(role), "/v1/stats")[0] == expected, role
    assert call(client, "GET", "/v1/stats", {})[0] == 401
    for query in ("month=2026-13", "month=26-12", "month=1999-12", "month=2999-01", "month=2026-1%3D",
                  "format=pdf&month=2026-12", "city=xining"):
        path = "/v1/stats/export?" + query if query.startswith("format") else "/v1/stats?" + query
        status, body = _get(client, tokens("ministry"), path)
        assert status == 400 and body["error"]["field"] in ("month", "format", "city"), (query, body)
        assert body["error"]["message"] and not body["error"]["message"].isascii()
    status, body = _get(client, tokens("admin"), "/v1/admin/stats/recounts/src-none")
    assert status == 404 and body["error"]["code"] == "STATS_RECOUNT_NOT_FOUND"
    for bad in ({"through": "2026-13"}, {"through": 202612}, {"until": "2026-12"}):
        status, body = call(client, "POST", "/v1/admin/stats/recounts", tokens.headers("admin"), bad)
        assert status == 400, (bad, body)
    status, body = call(client, "POST", "/v1/admin/stats/recounts", tokens.headers("ministry"), {})
    assert status == 403  # the ministry reads aggregates; it runs nothing
    assert json.dumps(_month(client, tokens)).find("id_number") == -1  # aggregates only

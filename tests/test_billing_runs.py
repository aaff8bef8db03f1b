"""Billing runs (账单生成), on the local stack: an admin's run through the route and the queue, its
progress and failures, a rerun and two runs at once issuing each bill once, a redelivered or
duplicated shard message counting once, the schedule's run, and a shard that gives up
(docs/decisions/0027). Every test starts from empty tables: a run reads every active lease."""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Iterator

import pytest

from chalicelib.domain import billing_runs, bills
from chalicelib.domain.common import new_id, now, now_iso
from chalicelib.domain.leases import Lease, LeaseStatus
from tests.applying import call

HALF = {"key": "subsistence", "percent": 50, "note": "低保、特困家庭租金减半"}


@pytest.fixture(autouse=True)
def empty(stack: Any) -> Iterator[None]:
    stack.reset()
    yield


def month_of(offset: int = 0) -> str:
    today = now().date()
    y, m = divmod(today.year * 12 + today.month - 1 + offset, 12)
    return f"{y:04d}-{m + 1:02d}"


def put_leases(n: int, *, start: str = "2020-01-01", end: str = "2035-12-31", status: LeaseStatus = LeaseStatus.CONFIRMED,
               reduction: dict[str, Any] | None = None, owner: str = "sub_tenant") -> list[str]:
    """``n`` leases written as the selection's confirm writes them (lease_record: the active shard set)."""
    from chalicelib.deps import deps
    from chalicelib.repositories.leases import lease_record
    from chalicelib.repositories.tables import LeaseRecord

    deps()  # binds the tables
    ids = []
    with LeaseRecord.batch_write() as batch:
        for i in range(n):
            lease_id = new_id("lse")
            rent = 40000 + (i % 7) * 1000
            monthly = rent // 2 if reduction else rent
            batch.save(lease_record(Lease(
                lease_id=lease_id, round_id="rnd_b", application_id=f"app_{i}", owner=owner, owner_key="pk",
                tenant_name="张*", tenant_id_masked="4407**", household_size=2, unit_id=f"unt_{i}", estate_id="fuzeyuan",
                estate_name="福泽园", address="福泽园路1号", building_id="b1", building_name="1栋", number=f"{100 + i}",
                layout="1b1l", floor_area=40.0, base_rent=rent, monthly_rent=monthly, reduction=reduction,
                deposit=monthly * 2, term_months=36, start_date=start, end_date=end, manager=None, landlord="江门市住房保障中心",
                status=status, created_at=now_iso(), updated_at=now_iso())))
            ids.append(lease_id)
    return ids


def admin(tokens: Any, key: str | None = None) -> dict[str, str]:
    return tokens.headers("admin", **({"Idempotency-Key": key} if key else {}))


def run_all(stack: Any) -> None:
    """What the event source mapping does: every shard message (and continuation) to the worker."""
    for _ in range(50):
        counts = stack.drain(rounds=20)
        if not counts["billing"] and not counts["failed"]:
            return
    raise AssertionError("the billing queue did not drain")


def bills_of(lease_ids: list[str]) -> list[Any]:
    from chalicelib.deps import deps

    return [b for lease_id in lease_ids for b in deps().bills.of_lease(lease_id)]


def test_an_admins_run_bills_every_active_lease_once_and_shows_its_progress(client: Any, stack: Any, tokens: Any) -> None:
    month = month_of(0)
    active = put_leases(40) + put_leases(5, reduction=HALF)
    later = put_leases(3, start=f"{month_of(1)}-01")  # not active this month
    drafts = put_leases(2, status=LeaseStatus.DRAFT)  # never in the index
    status, run = call(client, "POST", "/v1/admin/billing-runs", admin(tokens, "billing-run-0001"), {"month": month})
    assert status == 202 and run["status"] == "running" and run["month"] == month and run["trigger"] == "admin", run
    assert run["shards"] == bills.BILLING_SHARDS and run["started_by"]
    again = call(client, "POST", "/v1/admin/billing-runs", admin(tokens, "billing-run-0001"), {"month": month})
    assert again == (202, run)  # the same Idempotency-Key: the same run, nothing started twice
    run_all(stack)
    status, done = call(client, "GET", f"/v1/admin/billing-runs/{run['run_id']}", admin(tokens))
    assert status == 200, done
    assert (done["status"], done["status_name"], done["shards_done"], done["finished_at"] is not None) == (
        "finished", "已完成", bills.BILLING_SHARDS, True)
    assert (done["leases_seen"], done["bills_created"], done["already_existing"], done["skipped"],
            done["skipped_not_active"], done["skipped_exempt"], done["failed"], done["failures"]) == (48, 45, 0, 3, 3, 0, 0, [])
    assert sum(s["leases_seen"] for s in done["shard_progress"]) == 48 and all(s["done"] for s in done["shard_progress"])
    issued = bills_of(active)
    assert len(issued) == 45 and {b.month for b in issued} == {month} and {b.run_id for b in issued} == {run["run_id"]}
    reduced = [b for b in issued if b.reduction]
    assert len(reduced) == 5 and all(b.reduction["percent"] == 50 and b.amount == b.base_amount for b in reduced)
    assert bills_of(later + drafts) == []
    status, page = call(client, "GET", "/v1/admin/billing-runs", admin(tokens))
    assert status == 200 and [r["run_id"] for r in page["items"]] == [run["run_id"]]
    assert page["items"][0]["bills_created"] == 45 and page["items"][0]["status"] == "finished"


def test_a_rerun_and_the_schedules_run_issue_nothing_twice(client: Any, stack: Any, tokens: Any, app: Any) -> None:
    from devstack.stack import FakeLambdaContext

    leases = put_leases(30)
    month = month_of(0)
    first = billing_runs.start_scheduled()  # what the Scheduler invokes (start_billing_run), twice
    assert first.run_id == f"brun_{month.replace('-', '')}_schedule" and first.trigger == billing_runs.Trigger.SCHEDULE
    answer = app.handler_map["start_billing_run"]({"source": "scheduler"}, FakeLambdaContext("start_billing_run"))
    assert answer == {"run_id": first.run_id, "month": month, "status": "running"}
    run_all(stack)
    scheduled = billing_runs.get(first.run_id)
    assert (scheduled.run.status, scheduled.counts.created, scheduled.counts.seen) == (billing_runs.FINISHED, 30, 30)
    status, rerun = call(client, "POST", "/v1/admin/billing-runs", admin(tokens), {"month": month})
    assert status == 202, rerun
    run_all(stack)
    status, again = call(client, "GET", f"/v1/admin/billing-runs/{rerun['run_id']}", admin(tokens))
    assert (again["status"], again["bills_created"], again["already_existing"]) == ("finished", 0, 30), again
    assert len(bills_of(leases)) == 30 and {b.run_id for b in bills_of(leases)} == {first.run_id}
    assert billing_runs.start_scheduled().run_id == first.run_id  # invoked again later: the same run, finished
    assert stack.drain()["billing"] == 0


def test_two_runs_at_once_and_duplicate_messages_issue_each_bill_once(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs of one month, every shard message delivered twice, all released together on threads:
    each bill is written once, each run's created + existing covers every lease, and the two runs'
    "created" add up to the bills."""
    from chalicelib.identity import Actor, Role

    leases = put_leases(120)
    monkeypatch.setattr(billing_runs, "PAGE_SIZE", 7)  # many pages a shard: races at page boundaries too
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(type(billing_runs.deps().billing_runs), "send", lambda self, msgs: sent.extend(msgs))
    root = Actor(subject="sub_admin", roles=frozenset({Role.ADMIN}), city="jiangmen", claims={})
    from chalicelib.bodies import BillingRunIn

    runs = [billing_runs.start(root, BillingRunIn(month=month_of(0))) for _ in range(2)]
    messages = [m for m in sent for _ in range(2)]  # every message twice (at-least-once delivery)
    barrier = threading.Barrier(8)

    def deliver(msg: dict[str, Any]) -> str:
        try:
            barrier.wait(timeout=0.5)
        except threading.BrokenBarrierError:
            pass
        return billing_runs.process(msg, lambda: 60_000)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(deliver, messages))
    assert set(outcomes) <= {"finished", "lost", "done"} and outcomes.count("finished") == 2 * bills.BILLING_SHARDS
    issued = bills_of(leases)
    assert len(issued) == 120 and len({b.bill_id for b in issued}) == 120
    progress = [billing_runs.get(r.run_id) for r in runs]
    for p in progress:
        assert p.run.status == billing_runs.FINISHED and p.counts.seen == 120, p.counts
        assert p.counts.created + p.counts.existing == 120 and p.run.counts == p.counts
    assert sum(p.counts.created for p in progress) == 120
    assert {b.run_id for b in issued} <= {r.run_id for r in runs}


def test_a_redelivered_shard_message_does_not_count_twice(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that ran out of time sends its shard on; the original message is delivered again (its
    Lambda died before deleting it): the redelivery goes on from the shard's recorded page, the
    continuation then finds the shard ahead or finished, and every lease is counted once."""
    from chalicelib.identity import Actor, Role

    leases = put_leases(40)
    monkeypatch.setattr(billing_runs, "PAGE_SIZE", 2)
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(type(billing_runs.deps().billing_runs), "send", lambda self, msgs: sent.extend(msgs))
    from chalicelib.bodies import BillingRunIn

    run = billing_runs.start(Actor(subject="sub_admin", roles=frozenset({Role.ADMIN}), city="jiangmen", claims={}),
                             BillingRunIn(month=month_of(-1)))
    firsts, sent[:] = list(sent), []
    busiest = max(firsts, key=lambda m: sum(bills.shard_of(x) == m["shard"] for x in leases))
    in_shard = sum(bills.shard_of(x) == busiest["shard"] for x in leases)
    assert in_shard >= 3, "the test needs a shard of more than one page"
    assert billing_runs.process(busiest, lambda: 0) == "continued"  # one page, then out of time
    (continuation,) = sent
    assert continuation["seq"] == 1 and continuation["cursor"]
    assert billing_runs.process(busiest, lambda: 60_000) == "finished"  # the redelivery resumes at page 1
    assert billing_runs.process(continuation, lambda: 60_000) == "done"  # late: the shard is finished
    assert billing_runs.process(busiest, lambda: 60_000) == "done"
    shard = billing_runs.deps().billing_runs.get_shard(run.run_id, busiest["shard"])
    assert shard is not None and shard.counts.seen == in_shard and shard.counts.created == in_shard
    assert shard.seq == -(-in_shard // 2) and shard.finished_at
    # a redelivery that re-does a page whose bills an earlier delivery wrote but never recorded
    other = next(m for m in firsts if m is not busiest and any(bills.shard_of(x) == m["shard"] for x in leases))
    real = billing_runs.deps().billing_runs.advance_shard
    calls = {"n": 0}

    def crash_once(*args: Any, **kw: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the Lambda died after writing the bills")
        return real(*args, **kw)

    monkeypatch.setattr(billing_runs.deps().billing_runs, "advance_shard", crash_once)
    with pytest.raises(RuntimeError):
        billing_runs.process(other, lambda: 60_000)
    assert billing_runs.process(other, lambda: 60_000) == "finished"
    shard = billing_runs.deps().billing_runs.get_shard(run.run_id, other["shard"])
    in_other = sum(bills.shard_of(x) == other["shard"] for x in leases)
    assert shard is not None and (shard.counts.created, shard.counts.existing) == (in_other, 0)  # its own bills


def test_leases_that_cannot_be_billed_are_listed_and_a_shard_that_gives_up_fails_the_run(
        client: Any, stack: Any, tokens: Any, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.deps import deps
    from devstack.stack import FakeLambdaContext

    good = put_leases(10)
    broken = put_leases(1, start="2027-02-30")  # a date that does not exist
    status, run = call(client, "POST", "/v1/admin/billing-runs", admin(tokens), {"month": month_of(0)})
    assert status == 202
    run_all(stack)
    status, done = call(client, "GET", f"/v1/admin/billing-runs/{run['run_id']}", admin(tokens))
    assert (done["status"], done["bills_created"], done["failed"]) == ("finished", 10, 1), done
    (failure,) = done["failures"]
    assert failure["lease_id"] == broken[0] and "ValueError" in failure["reason"] and failure["shard"] == bills.shard_of(broken[0])
    assert len(bills_of(good)) == 10
    # every delivery of a shard's message fails: the last one marks the shard, and the run, failed
    def unavailable(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(type(deps().leases), "active_page", unavailable)
    status, run = call(client, "POST", "/v1/admin/billing-runs", admin(tokens), {"month": month_of(0)})
    shard_message = {"run_id": run["run_id"], "month": run["month"], "shard": "00", "seq": 0, "cursor": None}

    def delivery(n: int) -> dict[str, Any]:
        return {"Records": [{"messageId": f"m{n}", "receiptHandle": "r", "body": json.dumps(shard_message),
                             "attributes": {"ApproximateReceiveCount": str(n)}, "messageAttributes": {},
                             "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:cn-northwest-1:1:q",
                             "awsRegion": "cn-northwest-1"}]}

    for n in range(1, 6):
        answer = app.handler_map["issue_bills"](delivery(n), FakeLambdaContext("issue_bills"))
        assert answer == {"batchItemFailures": [{"itemIdentifier": f"m{n}"}]}
        shard = deps().billing_runs.get_shard(run["run_id"], "00")
        assert (shard is not None) == (n == 5)
    status, failed = call(client, "GET", f"/v1/admin/billing-runs/{run['run_id']}", admin(tokens))
    assert failed["shards_failed"] == 1 and failed["failures"][0] == {
        "shard": "00", "lease_id": None, "reason": "RuntimeError: DynamoDB is down"}, failed
    monkeypatch.undo()
    stack.drain()  # the other shards' messages: they fail too until the DLQ... here they find DynamoDB back
    run_all(stack)
    status, failed = call(client, "GET", f"/v1/admin/billing-runs/{run['run_id']}", admin(tokens))
    assert (failed["status"], failed["status_name"], failed["shards_done"]) == ("failed", "失败", bills.BILLING_SHARDS - 1)


def test_bad_input_and_who_may_run(client: Any, tokens: Any) -> None:
    limits = bills.rent_rules().run_months
    for body, field in (({"month": "2027-13"}, "month"), ({"month": "2027-1"}, "month"), ({"month": 202701}, "month"),
                        ({}, "month"), ({"month": month_of(0), "extra": 1}, "extra"),
                        ({"month": month_of(limits.ahead + 1)}, "month"), ({"month": month_of(-limits.back - 1)}, "month")):
        status, answer = call(client, "POST", "/v1/admin/billing-runs", admin(tokens), body)
        assert status == 400 and answer["error"]["field"] == field, (body, answer)
    status, answer = call(client, "POST", "/v1/admin/billing-runs", admin(tokens), {"month": month_of(limits.ahead + 1)})
    assert f"之后 {limits.ahead} 个月" in answer["error"]["message"], answer
    for role, code in (("applicant", 403), ("staff", 403), ("auditor", 403), (None, 401)):
        headers = tokens.headers(role) if role else {"Content-Type": "application/json"}
        assert call(client, "POST", "/v1/admin/billing-runs", headers, {"month": month_of(0)})[0] == code
        assert call(client, "GET", "/v1/admin/billing-runs", headers)[0] == code
    status, answer = call(client, "GET", "/v1/admin/billing-runs/brun_nothing", admin(tokens))
    assert (status, answer["error"]["code"]) == (404, "BILLING_RUN_NOT_FOUND")
    status, answer = call(client, "GET", "/v1/admin/billing-runs?cursor=forged.x", admin(tokens))
    assert (status, answer["error"]["code"]) == (400, "INVALID_CURSOR")
    status, answer = call(client, "POST", "/v1/admin/billing-runs", admin(tokens, "billing-run-000x"), {"month": month_of(0)})
    status, answer = call(client, "POST", "/v1/admin/billing-runs", admin(tokens, "billing-run-000x"), {"month": month_of(-1)})
    assert (status, answer["error"]["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")


def test_a_confirmed_lease_is_in_the_active_index_and_a_draft_is_not() -> None:
    from chalicelib.repositories.tables import LeaseRecord

    confirmed, draft = put_leases(1)[0], put_leases(1, status=LeaseStatus.DRAFT)[0]
    assert LeaseRecord.get(confirmed).active_shard == bills.shard_of(confirmed)
    assert LeaseRecord.get(draft).active_shard is None
    found = [lse for n in range(bills.BILLING_SHARDS)
             for lse in billing_runs.deps().leases.active_page(f"{n:02d}", None, 10)[0]]
    assert [lse.lease_id for lse in found] == [confirmed]
    assert replace(found[0], lease_id="x").unit_label == "福泽园1栋100"


def test_make_run_starts_the_months_run_on_the_citys_billing_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """EventBridge Scheduler's part in the local stack: on the billing day, after its hour, once."""
    from datetime import datetime, timedelta
    from types import SimpleNamespace

    from chalicelib.domain import common
    from devstack.__main__ import _monthly_billing

    when = bills.rent_rules().schedule
    day = datetime(2027, 3, when.day_of_month, when.hour, 5, tzinfo=common.CHINA_TZ)
    calls: list[Any] = []
    app = SimpleNamespace(handler_map={"start_billing_run": lambda event, context: calls.append(event)})
    for at, billed_on, started in ((day - timedelta(hours=1), None, 0), (day, None, 1),
                                   (day + timedelta(hours=3), day.date(), 1), (day + timedelta(days=1), day.date(), 1)):
        monkeypatch.setattr(common, "now", lambda at=at: at)
        assert _monthly_billing(app, "jiangmen", billed_on) == (day.date() if started else None)
        assert len(calls) == started
    assert calls == [{"source": "schedule"}]


def test_a_queue_that_is_down_is_a_503_and_the_run_shows_it_failed(client: Any, tokens: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import errors

    def down(self: Any, messages: Any) -> None:
        raise errors.ServiceUnavailable("billing queue: EndpointConnectionError")

    monkeypatch.setattr(type(billing_runs.deps().billing_runs), "send", down)
    status, answer = call(client, "POST", "/v1/admin/billing-runs", admin(tokens), {"month": month_of(0)})
    assert (status, answer["error"]["code"]) == (503, "SERVICE_UNAVAILABLE"), answer
    status, page = call(client, "GET", "/v1/admin/billing-runs", admin(tokens))
    (run,) = page["items"]
    assert (run["status"], run["reason"], run["shards_done"]) == ("failed", "队列暂时不可用，账单未生成", 0), run
    # the schedule's run is started again by the Scheduler's retry: it sends its messages then
    with pytest.raises(errors.ServiceUnavailable):
        billing_runs.start_scheduled()
    monkeypatch.undo()
    again = billing_runs.start_scheduled()
    assert again.enqueued and again.status == billing_runs.RUNNING


def test_runs_started_and_bills_issued_are_counted_once_each(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dashboard's billing figures (chalicelib/metric_names.py, docs/decisions/0038): a message
    delivered twice and a second run of the month add no bill to BILLS_ISSUED."""
    from chalicelib.bodies import BillingRunIn
    from chalicelib.identity import Actor, Role
    from chalicelib.metric_names import BILLING_RUNS_STARTED, BILLS_ISSUED
    from chalicelib.observability import metrics

    counted: dict[str, float] = {}
    real = metrics.add_metric

    def spy(**kwargs: Any) -> None:
        counted[kwargs["name"]] = counted.get(kwargs["name"], 0) + kwargs["value"]
        real(**kwargs)

    monkeypatch.setattr(metrics, "add_metric", spy)
    put_leases(12)
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(type(billing_runs.deps().billing_runs), "send", lambda self, msgs: sent.extend(msgs))
    root = Actor(subject="sub_admin", roles=frozenset({Role.ADMIN}), city="jiangmen", claims={})
    for _ in range(2):  # a second run of the month finds every bill issued
        billing_runs.start(root, BillingRunIn(month=month_of(0)))
        for msg in [m for m in sent for _ in range(2)]:  # every message twice (at-least-once delivery)
            billing_runs.process(msg, lambda: 60_000)
        sent.clear()
    metrics.clear_metrics()
    assert (counted[BILLING_RUNS_STARTED], counted[BILLS_ISSUED]) == (2, 12)

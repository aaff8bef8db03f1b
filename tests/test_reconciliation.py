"""Reconciliation (对账, issue 11 §4; docs/decisions/0029).

First the matching engine alone (pure: no AWS): every mismatch kind, the midnight pending pool across
two days (either order), reruns. Then the runs through the API on the local stack: progress and
counts, a rerun writing nothing twice, the pending pool across two runs, mismatches resolved by
staff (audited, once), bad input, the daily job and its metric.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from chalicelib.domain.reconciliation_matching import (
    OURS,
    PROVIDER,
    Found,
    Kept,
    MismatchKind,
    Ours,
    Pend,
    Waiting,
    key_of,
    match,
    pending_id,
)

DAY = date(2026, 11, 5)
NEXT = DAY + timedelta(days=1)


@dataclass(frozen=True)
class Line:
    """A statement line as chalicelib.payment_providers.StatementLine has it."""

    order_id: str
    transaction_id: str
    amount: int
    kind: str
    at: str
    refund_id: str | None = None
    provider: str = "wechat"


def line(order: str, amount: int = 30000, at: str = "2026-11-05T02:00:00Z", kind: str = "payment",
         refund_id: str | None = None) -> Line:
    return Line(order, f"420000{order}", amount, kind, at, refund_id)


def ours(order: str, amount: int = 30000, at: str = "2026-11-05T10:00:00+08:00", state: str = "paid") -> Ours:
    return Ours(order, amount, state, at, transaction_id=f"420000{order}")


def run(lines: list[Any], mine: list[Ours], day: date = DAY, **kw: Any) -> list[Any]:
    return list(match("wechat", day, sorted(lines, key=key_of), sorted(mine, key=key_of), **kw))


def found(outcomes: list[Any]) -> dict[str, MismatchKind | None]:
    return {o.key[0]: o.kind for o in outcomes if isinstance(o, Found)}


# --- the engine -------------------------------------------------------------------------------------------
def test_a_day_that_agrees_is_all_matched() -> None:
    outcomes = run([line("pay_a"), line("pay_b", 12000)], [ours("pay_b", 12000), ours("pay_a")])
    assert found(outcomes) == {"pay_a": None, "pay_b": None}
    assert all(isinstance(o, Found) and not o.decides for o in outcomes)


def test_each_mismatch_kind() -> None:
    here = {"pay_closed": ours("pay_closed", state="closed"), "pay_paid": ours("pay_paid")}
    outcomes = run(
        [line("pay_amount", 29900), line("pay_unknown"), line("pay_closed"),
         line("pay_paid", kind="refund", refund_id="ref_1")],
        [ours("pay_amount"), ours("pay_lost")],
        lookup=here.get)
    assert found(outcomes) == {
        "pay_amount": MismatchKind.AMOUNT,  # both know it, the amounts differ
        "pay_unknown": MismatchKind.MISSING_HERE,  # the provider has it, we have no such order
        "pay_closed": MismatchKind.STATUS,  # paid there, closed here (the notification never came)
        "pay_paid": MismatchKind.STATUS,  # refunded there, paid here
        "pay_lost": MismatchKind.MISSING_AT_PROVIDER,  # paid here, not in the statement
    }
    amount = next(o for o in outcomes if o.key[0] == "pay_amount")
    assert amount.ours.amount == 30000 and amount.theirs.amount == 29900 and "29900" in amount.detail
    refunded_there = next(o for o in outcomes if o.key[0] == "pay_paid")
    assert refunded_there.ours == here["pay_paid"] and "已退款" in refunded_there.detail


def test_a_refund_we_recorded_matches_its_line() -> None:
    refunded = Ours("pay_r", 30000, "refunded", "2026-11-05T09:00:00+08:00")
    assert found(run([line("pay_r", kind="refund", refund_id="ref_1")], [], lookup={"pay_r": refunded}.get)) == {
        "pay_r": None}
    ours_refund = Ours("pay_r", 30000, "refunded", "2026-11-05T09:00:00+08:00", kind="refund", refund_id="ref_1")
    assert found(run([line("pay_r", kind="refund", refund_id="ref_1")], [ours_refund])) == {"pay_r": None}
    assert found(run([], [ours_refund])) == {"pay_r": MismatchKind.MISSING_AT_PROVIDER}  # refunded here only


def test_inputs_must_come_sorted() -> None:
    with pytest.raises(ValueError, match="not sorted"):
        list(match("wechat", DAY, [line("pay_b"), line("pay_a")], []))


def test_near_midnight_an_item_waits_for_the_next_day_then_matches() -> None:
    """Paid here at 23:58 on day 1; the provider's file has it on day 2 (00:00:40 China time)."""
    late = ours("pay_late", at="2026-11-05T23:58:00+08:00")
    day1 = run([], [late], after_done=False)
    assert day1 == [Pend(pending_id("wechat", OURS, late), OURS, late, NEXT.isoformat())]
    waiting = Waiting(day1[0].pending_id, OURS, late, DAY.isoformat())
    day2 = run([line("pay_late", at="2026-11-05T16:00:40Z")], [], day=NEXT, awaiting=[waiting])
    assert found(day2) == {"pay_late": None}
    assert day2[0].decides == (waiting.pending_id,)


def test_the_other_way_round_a_line_waits_for_our_next_day() -> None:
    """The provider's day-1 file has it at 23:59:50; we recorded it paid at 00:00:20 on day 2."""
    theirs = line("pay_edge", at="2026-11-05T15:59:50Z")
    day1 = run([theirs], [], after_done=False)
    assert [type(o) for o in day1] == [Pend] and day1[0].side == PROVIDER
    waiting = Waiting(day1[0].pending_id, PROVIDER, theirs, DAY.isoformat())
    day2 = run([], [ours("pay_edge", at="2026-11-06T00:00:20+08:00")], day=NEXT, awaiting=[waiting])
    assert found(day2) == {"pay_edge": None} and day2[0].decides == (waiting.pending_id,)


def test_a_waiting_item_not_found_next_day_is_a_mismatch() -> None:
    late = ours("pay_gone", at="2026-11-05T23:59:00+08:00")
    waiting = Waiting(pending_id("wechat", OURS, late), OURS, late, DAY.isoformat())
    day2 = run([], [], day=NEXT, awaiting=[waiting])
    assert found(day2) == {"pay_gone": MismatchKind.MISSING_AT_PROVIDER} and day2[0].decides == (waiting.pending_id,)


def test_an_item_waits_only_for_a_day_still_to_come() -> None:
    """Early on day 2 and not in day 2's file: it waits for day 1 if day 1 has not run, else it counts."""
    early = ours("pay_early", at="2026-11-06T00:03:00+08:00")
    assert [type(o) for o in run([], [early], day=NEXT, before_done=False)] == [Pend]
    assert run([], [early], day=NEXT, before_done=False)[0].await_day == DAY.isoformat()
    assert found(run([], [early], day=NEXT, before_done=True)) == {"pay_early": MismatchKind.MISSING_AT_PROVIDER}
    mid_day = ours("pay_noon", at="2026-11-06T12:00:00+08:00")
    assert found(run([], [mid_day], day=NEXT, before_done=False)) == {"pay_noon": MismatchKind.MISSING_AT_PROVIDER}


def test_a_rerun_keeps_what_the_next_day_decided() -> None:
    late = ours("pay_late", at="2026-11-05T23:58:00+08:00")
    pid = pending_id("wechat", OURS, late)
    decided = {pid: Waiting(pid, OURS, late, DAY.isoformat(), outcome="matched")}
    assert run([], [late], earlier=decided, after_done=True) == [Kept(pid, "matched")]
    still = {pid: Waiting(pid, OURS, late, DAY.isoformat())}
    assert run([], [late], earlier=still, after_done=False) == [Kept(pid, None)]  # still waiting, not pooled twice
    # the provider corrected its day-1 file: matched now, and the pooled item is settled with it
    rerun = run([line("pay_late", at="2026-11-05T15:58:00Z")], [late], earlier=still, after_done=False)
    assert found(rerun) == {"pay_late": None} and rerun[0].decides == (pid,)


def test_a_line_twice_in_the_statement() -> None:
    outcomes = run([line("pay_d"), line("pay_d")], [ours("pay_d")])
    assert [o.kind for o in outcomes] == [None, MismatchKind.MISSING_HERE]


# --- runs on the local stack -------------------------------------------------------------------------------
class FakeProviders:
    """The city's providers as reconciliation uses them: each day's statement, planted by the test."""

    def __init__(self) -> None:
        self.statements: dict[tuple[str, date], list[Line]] = {}
        self.down: set[str] = set()

    def configured(self) -> tuple[str, ...]:
        return ("wechat",)

    def get(self, name: str) -> Any:
        from chalicelib import errors

        if name != "wechat":
            raise errors.InvalidInput(f"no provider {name}", field="provider", message="本市暂未开通该支付方式")
        outer = self

        class Provider:
            def statement(self, day: date) -> Any:
                if name in outer.down:
                    from chalicelib import errors as e

                    raise e.ServiceUnavailable("statement download timed out")
                yield from outer.statements.get((name, day), [])

        return Provider()


class Payments:
    """Our payments, written to the payments table as the payments' settlement writes them (with the
    day keys reconciliation reads them by)."""

    def add(self, *items: Ours) -> None:
        from chalicelib.domain.payments import Payment, PaymentMethod, PaymentStatus
        from chalicelib.repositories.payments import payment_record

        for o in items:
            status = PaymentStatus(o.state)
            refund = {"refund_id": f"rfd_{o.order_id[4:]}", "amount": o.amount, "reason": "bills_paid",
                      "requested_at": o.at, "refunded_at": o.at} if status == PaymentStatus.REFUNDED else None
            paid = status in (PaymentStatus.PAID, PaymentStatus.REFUNDING, PaymentStatus.REFUNDED)
            payment_record(Payment(
                payment_id=o.order_id, owner="tenant", payer="tenant", payer_role="tenant", payer_masked="张*明",
                provider="wechat", method=PaymentMethod.WECHAT, bills=[], amount=o.amount, description="房租",
                status=status, transaction_id=o.transaction_id if paid else None, paid_at=o.at if paid else None,
                refund=refund, created_at=o.at, updated_at=o.at)).save()


@pytest.fixture()
def sides(stack: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[FakeProviders, Payments]:
    from chalicelib.deps import deps

    providers = FakeProviders()
    monkeypatch.setitem(deps().__dict__, "payment_providers", providers)
    return providers, Payments()


def _start(client: Any, tokens: Any, day: date | str, provider: str = "wechat") -> tuple[int, Any]:
    from tests.applying import call

    return call(client, "POST", "/v1/admin/reconciliations", tokens.headers("admin"),
                {"provider": provider, "day": str(day)})


def _open(client: Any, tokens: Any) -> list[dict[str, Any]]:
    from tests.applying import call

    items, cursor = [], ""
    while True:
        status, page = call(client, "GET", f"/v1/staff/reconciliation-mismatches?limit=100{cursor}",
                            tokens.headers("staff"))
        assert status == 200, page
        items += page["items"]
        if not page["next_cursor"]:
            return items
        cursor = f"&cursor={page['next_cursor']}"


def test_a_day_reconciled_both_ways_then_the_next_day_settles_its_pending_pool(
        client: Any, tokens: Any, catalogue: Any, sides: tuple[FakeProviders, Payments]) -> None:
    from tests.applying import call

    providers, payments = sides
    payments.add(ours("pay_ok"), ours("pay_amount"), ours("pay_lost"), ours("pay_closed", state="closed"),
                 ours("pay_refunded_there"), ours("pay_late", at="2026-11-05T23:58:30+08:00"),
                 ours("pay_next", at="2026-11-06T09:00:00+08:00"))
    providers.statements[("wechat", DAY)] = [
        line("pay_ok"), line("pay_amount", 29000), line("pay_unknown"), line("pay_closed"),
        line("pay_refunded_there", kind="refund", refund_id="ref_9", at="2026-11-05T06:00:00Z"),
        line("pay_refunded_there")]
    providers.statements[("wechat", NEXT)] = [line("pay_late", at="2026-11-05T16:00:10Z"),
                                              line("pay_next", at="2026-11-06T01:00:00Z")]

    status, run = _start(client, tokens, DAY)
    assert status == 200, run
    assert run["reconciliation_id"] == "rec_wechat_20261105" and run["status"] == "completed" and run["runs"] == 1
    # ours: the payments paid that day (not the closed one); one waits for the next day's file
    assert (run["lines_read"], run["ours_read"], run["matched"], run["pending"]) == (6, 5, 2, 1)
    assert run["mismatches"] == {"missing_at_provider": 1, "missing_here": 1, "amount_mismatch": 1,
                                 "status_mismatch": 2}
    status, shown = call(client, "GET", f"/v1/admin/reconciliations/{run['reconciliation_id']}", tokens.headers("admin"))
    assert status == 200 and shown == run
    found_kinds = {(m["order_id"], m["kind"]) for m in _open(client, tokens)}
    assert found_kinds == {("pay_lost", "missing_at_provider"), ("pay_unknown", "missing_here"),
                           ("pay_amount", "amount_mismatch"), ("pay_closed", "status_mismatch"),
                           ("pay_refunded_there", "status_mismatch")}
    amount = next(m for m in _open(client, tokens) if m["order_id"] == "pay_amount")
    assert amount["here"]["amount"] == 30000 and amount["there"]["amount"] == 29000 and amount["day"] == "2026-11-05"

    status, again = _start(client, tokens, DAY)  # a rerun: recomputed, nothing written twice
    assert status == 200 and again["runs"] == 2
    assert {k: again[k] for k in ("matched", "pending", "mismatches")} == {k: run[k] for k in (
        "matched", "pending", "mismatches")}
    assert len(_open(client, tokens)) == 5

    status, next_day = _start(client, tokens, NEXT)  # the late payment is in the next day's file
    assert status == 200, next_day
    assert (next_day["matched"], next_day["pending_decided"], sum(next_day["mismatches"].values())) == (2, 1, 0)
    status, rerun = _start(client, tokens, DAY)  # the first day again: the pooled payment stays decided
    assert rerun["pending"] == 0 and rerun["mismatches"] == run["mismatches"] and len(_open(client, tokens)) == 5


def test_a_pooled_payment_missing_from_the_next_day_too_is_a_mismatch(
        client: Any, tokens: Any, catalogue: Any, sides: tuple[FakeProviders, Payments]) -> None:
    providers, payments = sides
    payments.add(ours("pay_midnight", at="2026-11-15T23:59:10+08:00"))
    assert _start(client, tokens, date(2026, 11, 15))[1]["pending"] == 1
    status, next_day = _start(client, tokens, date(2026, 11, 16))
    assert next_day["pending_decided"] == 1 and next_day["mismatches"]["missing_at_provider"] == 1
    [m] = [m for m in _open(client, tokens) if m["order_id"] == "pay_midnight"]
    assert m["reconciliation_id"] == "rec_wechat_20261116" and m["here"]["at"].endswith("23:59:10+08:00")
    # a day whose next day was reconciled already does not wait: the payment counts at once
    payments.add(ours("pay_late_again", at="2026-11-20T23:59:30+08:00"))
    assert _start(client, tokens, date(2026, 11, 21))[0] == 200
    status, late = _start(client, tokens, date(2026, 11, 20))
    assert late["pending"] == 0 and late["mismatches"]["missing_at_provider"] == 1


def test_refunds_are_matched_through_our_refunds_of_the_day(
        client: Any, tokens: Any, catalogue: Any, sides: tuple[FakeProviders, Payments]) -> None:
    """Our refunds come from the payments' refund index (the day the refund was made): one refunded on
    both sides matches, one refunded here only is missing at the provider."""
    providers, payments = sides
    day, at = date(2026, 10, 20), "2026-10-20T11:00:00+08:00"
    payments.add(ours("pay_refund_both", at=at, state="refunded"), ours("pay_refund_here", at=at, state="refunded"))
    providers.statements[("wechat", day)] = [
        line("pay_refund_both", at="2026-10-20T03:00:00Z"), line("pay_refund_here", at="2026-10-20T03:00:00Z"),
        line("pay_refund_both", kind="refund", refund_id="rfd_refund_both", at="2026-10-20T03:00:00Z")]
    status, run = _start(client, tokens, day)
    assert (status, run["ours_read"], run["matched"]) == (200, 4, 3), run  # two payments and their two refunds
    assert run["mismatches"]["missing_at_provider"] == 1 and sum(run["mismatches"].values()) == 1
    [m] = [m for m in _open(client, tokens) if m["order_id"] == "pay_refund_here"]
    assert m["refund_id"] == "rfd_refund_here" and m["here"]["state"] == "refunded" and m["there"] is None


def test_staff_resolve_a_mismatch_once_with_a_reason(
        client: Any, tokens: Any, catalogue: Any, sides: tuple[FakeProviders, Payments]) -> None:
    from tests.applying import call

    providers, payments = sides
    providers.statements[("wechat", DAY)] = [line("pay_stranger", 5000)]
    _start(client, tokens, DAY)
    [m] = [m for m in _open(client, tokens) if m["order_id"] == "pay_stranger"]
    url, staff = f"/v1/staff/reconciliation-mismatches/{m['mismatch_id']}/resolve", tokens.headers("staff")
    status, body = call(client, "POST", url, staff, {"action": "refunded"})
    assert (status, body["error"]["field"]) == (400, "reason")
    status, body = call(client, "POST", url, staff, {"action": "refunded", "reason": "退"})
    assert (status, body["error"]["field"]) == (400, "reason")
    status, body = call(client, "POST", url, staff, {"action": "write_off", "reason": "已核实为测试交易"})
    assert (status, body["error"]["field"]) == (400, "action")
    status, done = call(client, "POST", url, staff, {"action": "refunded", "reason": "经核实为重复扣款，已原路退回"})
    assert status == 200 and (done["status"], done["action"], done["version"]) == ("resolved", "refunded", 2), done
    assert done["status_name"] == "已处理" and done["action_name"] == "已退款" and done["resolved_at"]
    status, body = call(client, "POST", url, staff, {"action": "refunded", "reason": "经核实为重复扣款，已原路退回"})
    assert (status, body["error"]["code"]) == (409, "MISMATCH_ALREADY_RESOLVED")
    status, body = call(client, "POST", "/v1/staff/reconciliation-mismatches/mm_nothing/resolve", staff,
                        {"action": "no_action", "reason": "已核实无需处理"})
    assert (status, body["error"]["code"]) == (404, "MISMATCH_NOT_FOUND")
    assert m["mismatch_id"] not in {x["mismatch_id"] for x in _open(client, tokens)}
    status, resolved = call(client, "GET", "/v1/staff/reconciliation-mismatches?status=resolved", staff)
    assert m["mismatch_id"] in {x["mismatch_id"] for x in resolved["items"]}
    status, trail = call(client, "GET", f"/v1/audit/reconciliation_mismatch/{m['mismatch_id']}",
                         tokens.headers("auditor"))
    assert [e["action"] for e in trail["items"]] == ["mismatch_refunded"]
    _start(client, tokens, DAY)  # a rerun finds the same mismatch: it stays resolved
    assert m["mismatch_id"] not in {x["mismatch_id"] for x in _open(client, tokens)}


def test_bad_days_and_providers_are_refused(client: Any, tokens: Any, sides: tuple[FakeProviders, Payments]) -> None:
    from chalicelib import errors
    from chalicelib.domain.common import CHINA_TZ, now
    from chalicelib.domain.reconciliation import parse_day
    from datetime import datetime

    for day, field in (("2026-13-01", "day"), ("20261105", "day"), ("2026-11-05T00:00", "day")):
        status, body = _start(client, tokens, day)
        assert (status, body["error"]["field"]) == (400, field), (day, body)
    today = now().date()
    for future in (today, today + timedelta(days=3)):
        status, body = _start(client, tokens, future)
        assert (status, body["error"]["code"], body["error"]["field"]) == (400, "INVALID_PARAMETER", "day")
    assert (_start(client, tokens, DAY, "paypal")[0], _start(client, tokens, DAY, "paypal")[1]["error"]["field"]) == (
        400, "provider")
    status, body = _start(client, tokens, DAY, "alipay")  # a provider the city has not configured
    assert (status, body["error"]["field"]) == (400, "provider")
    morning = datetime(2026, 11, 6, 9, 30, tzinfo=CHINA_TZ)
    with pytest.raises(errors.StatementNotReady):
        parse_day("2026-11-05", morning)  # yesterday's statement before 10:00
    assert parse_day("2026-11-05", morning.replace(hour=10)) == DAY


def test_a_running_day_is_not_started_twice_and_a_failed_one_says_why(
        client: Any, tokens: Any, catalogue: Any, sides: tuple[FakeProviders, Payments]) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain.common import now, now_iso
    from tests.applying import call

    providers, _ = sides
    day = DAY - timedelta(days=20)
    deps().reconciliation.begin("wechat", day, "test", stale_before=now_iso())
    status, body = _start(client, tokens, day)
    assert (status, body["error"]["code"]) == (409, "RECONCILIATION_RUNNING")
    stale = (now() + timedelta(minutes=1)).isoformat()
    deps().reconciliation.begin("wechat", day, "test", stale_before=stale)  # a dead run is taken over
    providers.down.add("wechat")
    status, body = _start(client, tokens, day - timedelta(days=1))
    assert (status, body["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
    status, failed = call(client, "GET", f"/v1/admin/reconciliations/rec_wechat_{day - timedelta(days=1):%Y%m%d}",
                          tokens.headers("admin"))
    assert failed["status"] == "failed" and "timed out" in failed["error"] and failed["finished_at"]
    providers.down.clear()
    status, done = _start(client, tokens, day - timedelta(days=1))  # re-runnable after a failure
    assert (status, done["status"], done["runs"], done["error"]) == (200, "completed", 2, None)
    status, body = call(client, "GET", "/v1/admin/reconciliations/rec_wechat_19990101", tokens.headers("admin"))
    assert (status, body["error"]["code"]) == (404, "RECONCILIATION_NOT_FOUND")


def test_progress_is_written_while_the_statement_is_read(
        client: Any, tokens: Any, catalogue: Any, sides: tuple[FakeProviders, Payments],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain import reconciliation

    providers, payments = sides
    day = DAY - timedelta(days=40)
    at = f"{day}T03:00:00Z"
    providers.statements[("wechat", day)] = [line(f"pay_p{i:03d}", at=at) for i in range(7)]
    payments.add(*(ours(f"pay_p{i:03d}", at=f"{day}T11:00:00+08:00") for i in range(7)))
    seen: list[int] = []
    original = deps().reconciliation.heartbeat
    monkeypatch.setattr(reconciliation, "PROGRESS_EVERY", 3)
    monkeypatch.setattr(deps().reconciliation, "heartbeat",
                        lambda run_id, counts: (seen.append(counts["lines_read"]), original(run_id, counts)))
    status, run = _start(client, tokens, day)
    assert status == 200 and run["matched"] == 7 and seen == [3, 6, 7]


def test_the_daily_job_reconciles_yesterday_and_counts_what_is_unresolved(
        app: Any, catalogue: Any, sides: tuple[FakeProviders, Payments], monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain.common import now
    from chalicelib.handlers import schedules
    from devstack.__main__ import _scheduled_event
    from devstack.stack import FakeLambdaContext
    import chalicelib.observability as observability

    providers, _ = sides
    yesterday = now().date() - timedelta(days=1)
    providers.statements[("wechat", yesterday)] = [line("pay_unknown_daily", at=f"{yesterday}T02:00:00Z")]
    counted: list[tuple[str, int]] = []
    monkeypatch.setattr(observability, "daily_count", lambda name, value: counted.append((name, value)))
    result = app.handler_map["reconcile_statements"](_scheduled_event("reconcile_statements"),
                                                     FakeLambdaContext("reconcile_statements"))
    ids = [r["reconciliation_id"] for r in result["runs"]]
    assert f"rec_wechat_{yesterday:%Y%m%d}" in ids and all(r["status"] == "completed" for r in result["runs"])
    assert len(ids) == 4  # yesterday, and the three days before that had no run yet
    assert counted == [(schedules.UNRESOLVED_MISMATCHES, result["unresolved"])] and result["unresolved"] >= 1
    assert result["unresolved"] == deps().reconciliation.count_open()
    again = app.handler_map["reconcile_statements"](_scheduled_event("reconcile_statements"),
                                                    FakeLambdaContext("reconcile_statements"))
    assert [r["reconciliation_id"] for r in again["runs"]] == [f"rec_wechat_{yesterday:%Y%m%d}"]  # done days stay


def test_the_unresolved_count_is_a_metric_of_the_city(capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from chalicelib.observability import daily_count

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    daily_count("ReconciliationMismatchesUnresolved", 3)
    [emf] = [json.loads(x) for x in capsys.readouterr().out.splitlines() if "_aws" in x]
    assert emf["ReconciliationMismatchesUnresolved"] == [3.0] or emf["ReconciliationMismatchesUnresolved"] == 3.0
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "PublicHousing" and set(directive["Dimensions"][0]) == {"service", "city"}
    assert emf["city"] and emf["service"] == "public-housing"


# --- end to end: paid through the provider simulator, its statement downloaded through the real adapter --
def test_a_day_paid_through_the_simulator_reconciles_and_staff_resolve_the_planted_mismatch(
        client: Any, stack: Any, tokens: Any, catalogue: Any) -> None:
    """Issue 11's "done when": a tenant pays a late rent bill with WeChat Pay (the simulator), the
    payment settles it and refreshes what the lease owes; the day's statement, downloaded and checked by
    the real adapter, has a planted extra line: the reconciliation finds it, staff resolve it."""
    from datetime import datetime

    from chalicelib.deps import deps
    from chalicelib.domain import arrears
    from chalicelib.domain.common import CHINA_TZ, now
    from tests.applying import Citizen, call, register
    from tests.paying import subject
    from tests.test_arrears import _bill, _lease

    sim = stack.enable_payments()
    sim.set_mode("ok")
    tenant = Citizen(stack, "陈志强")
    register(client, tenant)
    owner, unit = subject(tenant), catalogue["units"][2]
    lease = _lease(tenant, unit.estate_id, unit, "陈志强")
    day = now().date() - timedelta(days=10)
    late = _bill(lease, owner, unit.estate_id, day - timedelta(days=40), 31000)  # overdue when paid
    arrears.refresh_estate(unit.estate_id, None, now().date())
    assert deps().arrears.get(lease).months == 1

    status, order = call(client, "POST", "/v1/me/payments", tenant.headers(),
                         {"bill_ids": [late.bill_id], "provider": "wechat"})
    assert status == 201, order
    sim.pay(order["payment_id"], deliver="never", at=datetime(day.year, day.month, day.day, 12, tzinfo=CHINA_TZ))
    headers, body = sim.notification(order["payment_id"])
    assert client.http.post("/v1/payments/wechat/notify", headers=headers, body=body).status_code == 204
    assert deps().payments.get(order["payment_id"]).paid_at.startswith(day.isoformat())
    assert deps().arrears.get(lease) is None  # the payment settled the late bill: the lease owes nothing

    extra = sim.plant("wechat", day, "extra")
    status, run = _start(client, tokens, day)
    assert status == 200, run
    assert (run["lines_read"], run["ours_read"], run["matched"]) == (2, 1, 1)
    assert run["mismatches"]["missing_here"] == 1 and sum(run["mismatches"].values()) == 1
    [found] = [m for m in _open(client, tokens) if m["order_id"] == extra["order_id"]]
    assert found["kind"] == "missing_here" and found["here"] is None and found["there"]["amount"] == extra["amount"]
    status, done = call(client, "POST", f"/v1/staff/reconciliation-mismatches/{found['mismatch_id']}/resolve",
                        tokens.headers("staff"), {"action": "reported_to_provider", "reason": "对账单多出一笔，已提请微信支付核实"})
    assert status == 200 and done["status"] == "resolved"

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

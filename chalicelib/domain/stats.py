"""Statistics for the ministry (统计, issue 14 §2; docs/decisions/0037): the figures per city and month,
kept as counters from the tables' streams and read in one request.

What an item contributes is a pure function of the item as stored (``Source.facts``): a list of
``(month, counter, amount)``. A stream record's change to the counters is ``facts(new) - facts(old)``
(so only a transition that changes what the item contributes moves a counter), and a full recount is
the sum of ``facts(item)`` over every item (domain/stats_recount.py): the two agree by construction,
as long as each stream record is applied exactly once (the repository's per-event marker, written in
the counters' transaction). A new source table is one entry in ``SOURCES``.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.common import CHINA_TZ, now

Fact = tuple[str, str, int]  # (month "YYYY-MM", counter, amount)
Deltas = dict[tuple[str, str], int]
TOTAL = "total"  # the counter item since the start: every fact counts there too
#: Whole days from submit to approval, histogram buckets 0..MAX_DAYS (the last: that many or more).
MAX_DAYS = 366
ONLINE_PROVIDERS = frozenset({"wechat", "alipay"})
OUTCOMES = ("continue", "higher_rent", "must_leave", "manual")


def month_of(stamp: Any) -> str | None:
    """The China month (``YYYY-MM``) of an ISO 8601 time, or None if there is none."""
    if not isinstance(stamp, str) or len(stamp) < 10:
        return None
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if at.tzinfo is not None:
        at = at.astimezone(CHINA_TZ)
    return at.strftime("%Y-%m")


def _days_between(start: str, end: str) -> float | None:
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 86400
    except (TypeError, ValueError):
        return None


# --- the sources: one entry per table (what an item, as stored, contributes) ---------------------------
def _people(item: Mapping[str, Any]) -> list[Fact]:
    month = month_of(item.get("created_at"))
    return [(month, "registered_users", 1)] if month and item.get("kind") in ("citizen", "employer") else []


def _units(item: Mapping[str, Any]) -> list[Fact]:
    month = month_of(item.get("created_at"))
    return [(month, "units_listed", 1)] if month else []


def _policies(item: Mapping[str, Any]) -> list[Fact]:
    from chalicelib.domain.policies import PolicyStatus

    month = month_of(item.get("published_at"))
    return [(month, "policies_published", 1)] if month and item.get("status") == PolicyStatus.PUBLISHED else []


def _applications(item: Mapping[str, Any]) -> list[Fact]:
    facts: list[Fact] = []
    submitted = month_of(item.get("submitted_at"))
    if submitted:
        facts.append((submitted, "applications_submitted", 1))
    approved = month_of(item.get("approved_at"))
    if approved:
        facts.append((approved, "applications_approved", 1))
        days = _days_between(str(item.get("submitted_at")), str(item.get("approved_at"))) if submitted else None
        if days is not None and days >= 0:
            facts.append((approved, "approval_seconds", round(days * 86400)))
            facts.append((approved, f"approval_days_{min(int(days), MAX_DAYS)}", 1))
    return facts


def _payments(item: Mapping[str, Any]) -> list[Fact]:
    """Paid online (WeChat Pay, Alipay); a duplicate refunded is not a payment of rent."""
    month = month_of(item.get("paid_at"))
    refund = item.get("refund") or {}
    if not month or item.get("provider") not in ONLINE_PROVIDERS or refund.get("duplicate_of"):
        return []
    return [(month, "payments_online", 1), (month, "payments_online_amount", int(item.get("amount") or 0))]


def _reviews(item: Mapping[str, Any]) -> list[Fact]:
    from chalicelib.domain.reviews import ReviewStatus

    month = month_of(item.get("decided_at"))
    if not month or item.get("status") != ReviewStatus.DECIDED:
        return []
    outcome = item.get("outcome") if item.get("outcome") in OUTCOMES else "manual"
    return [(month, "reviews_decided", 1), (month, f"review_outcome_{outcome}", 1)]


def _leases(item: Mapping[str, Any]) -> list[Fact]:
    """A household housed: a lease confirmed (a renewal's new lease houses nobody new)."""
    month = month_of(item.get("confirmed_at"))
    return [(month, "households_housed", 1)] if month and not item.get("renews") else []


def _tickets(item: Mapping[str, Any]) -> list[Fact]:
    """Complaints and suggestions (a repair is not one): counted in the month filed; closed on time or
    not in the month resolved (``resolution_met``, known once resolved), a rating in the month rated."""
    kind = item.get("kind")
    filed = month_of(item.get("filed_at"))
    if kind not in ("complaint", "suggestion") or not filed:
        return []
    facts: list[Fact] = [(filed, "complaints" if kind == "complaint" else "suggestions", 1)]
    done = month_of(item.get("resolved_at") or item.get("closed_at"))
    met = item.get("resolution_met")
    if done and met is not None:
        facts.append((done, "feedback_closed", 1))
        if met:
            facts.append((done, "feedback_on_time", 1))
    score = item.get("rating_score")
    if isinstance(score, (int, float)) and score > 0:
        rated = month_of((item.get("rating") or {}).get("at")) or done or filed
        facts += [(rated, "feedback_rated", 1), (rated, "feedback_rating_sum", int(score))]
    return facts


#: The stats table's partition prefix of what the figures keep of deleted items ("kept#applications").
KEPT = "kept#"


@dataclass(frozen=True)
class Source:
    table: str  # the table's logical name (chalicelib.config.TABLES)
    facts: Callable[[Mapping[str, Any]], list[Fact]]
    #: A figure once counted stays: a source whose items the retention job deletes (applications,
    #: docs/decisions/0040) names the fields its facts read; the job stores that much of the item,
    #: nothing personal, in the stats table (``kept_image``) in the transaction that deletes it, the
    #: stream's REMOVE moves no counter, and the recount adds the kept images.
    kept_fields: tuple[str, ...] = ()


SOURCES: dict[str, Source] = {s.table: s for s in (
    Source("people", _people),
    Source("units", _units),
    Source("policies", _policies),
    Source("applications", _applications, kept_fields=("submitted_at", "approved_at")),
    Source("payments", _payments),
    Source("reviews", _reviews),
    Source("leases", _leases),
    Source("tickets", _tickets),
)}


def facts_of(table: str, item: Mapping[str, Any] | None) -> Counter[tuple[str, str]]:
    out: Counter[tuple[str, str]] = Counter()
    if item:
        for month, counter, amount in SOURCES[table].facts(item):
            out[(month, counter)] += amount
    return out


def kept_image(table: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """What the figures need of an item about to be deleted (Source.kept_fields), for the stats table."""
    return {f: item[f] for f in SOURCES[table].kept_fields if item.get(f) is not None}


def delta(table: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> Deltas:
    """What one change of an item does to the counters (its months' and the total): new minus old;
    nothing for a deletion from a source that keeps its figures (its kept image counts instead)."""
    if new is None and SOURCES[table].kept_fields:
        return {}
    moved: Counter[tuple[str, str]] = Counter()
    for (month, counter), n in facts_of(table, new).items():
        moved[(month, counter)] += n
        moved[(TOTAL, counter)] += n
    for (month, counter), n in facts_of(table, old).items():
        moved[(month, counter)] -= n
        moved[(TOTAL, counter)] -= n
    return {key: n for key, n in moved.items() if n}


# --- counting the streams' records ------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """One stream record: its event id (unique per record), the table's logical name, both images."""

    event_id: str
    table: str
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None


def count(changes: Iterable[Change]) -> dict[str, int]:
    """Apply a batch of stream records to the counters, each once whatever the retries."""
    events: list[tuple[str, Deltas]] = []
    seen, ids = 0, set()
    for change in changes:
        seen += 1
        if change.table in SOURCES and change.event_id not in ids:  # a record twice in one batch: once
            ids.add(change.event_id)
            moved = delta(change.table, change.old, change.new)
            if moved:
                events.append((change.event_id, moved))
    applied = deps().stats.apply(events) if events else 0
    return {"records": seen, "counted": len(events), "applied": applied, "already_counted": len(events) - applied}


# --- reading a month ---------------------------------------------------------------------------------
def check_month(month: str | None) -> str:
    """``YYYY-MM`` from 2000-01 to this month (China time); None: this month."""
    current = now().strftime("%Y-%m")
    if month is None:
        return current
    if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit() or not 1 <= int(month[5:]) <= 12:
        raise errors.InvalidInput("YYYY-MM", field="month", message="月份格式应为 YYYY-MM，例如 2026-12")
    if not "2000-01" <= month <= current:
        raise errors.InvalidInput("from 2000-01 to this month", field="month",
                                  message=f"月份应在 2000-01 至 {current} 之间")
    return month


def p90_days(counters: Mapping[str, int]) -> int | None:
    """The 90th percentile of whole days from submit to approval, from the month's histogram."""
    approved = sum(int(counters.get(f"approval_days_{d}", 0)) for d in range(MAX_DAYS + 1))
    if approved <= 0:
        return None
    rank, seen = math.ceil(0.9 * approved), 0
    for day in range(MAX_DAYS + 1):
        seen += int(counters.get(f"approval_days_{day}", 0))
        if seen >= rank:
            return day
    return MAX_DAYS


def _rate(part: int, whole: int, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole > 0 else None


def figures(counters: Mapping[str, int]) -> dict[str, Any]:
    """The ministry's figures from one counter item (a month's, or the total)."""
    c = {k: int(v) for k, v in counters.items()}
    approved = c.get("applications_approved", 0)
    closed = c.get("feedback_closed", 0)
    rated = c.get("feedback_rated", 0)
    amount = c.get("payments_online_amount", 0)
    return {
        "registered_users": c.get("registered_users", 0),
        "units_listed": c.get("units_listed", 0),
        "policies_published": c.get("policies_published", 0),
        "applications_submitted": c.get("applications_submitted", 0),
        "applications_approved": approved,
        "approval_days_avg": round(c.get("approval_seconds", 0) / 86400 / approved, 1) if approved else None,
        "approval_days_p90": p90_days(c),
        "payments_online_count": c.get("payments_online", 0),
        "payments_online_amount": amount,
        "payments_online_amount_yuan": f"{amount // 100}.{amount % 100:02d}",
        # complaints and suggestions (投诉建议): the tickets table's entry in SOURCES counts these
        "complaints": c.get("complaints", 0),
        "suggestions": c.get("suggestions", 0),
        "feedback_on_time_rate": _rate(c.get("feedback_on_time", 0), closed),
        "feedback_rating_avg": round(c.get("feedback_rating_sum", 0) / rated, 2) if rated else None,
        "reviews_decided": c.get("reviews_decided", 0),
        "review_outcomes": {o: c.get(f"review_outcome_{o}", 0) for o in OUTCOMES},
        "households_housed": c.get("households_housed", 0),
    }


@dataclass(frozen=True)
class MonthStats:
    month: str
    figures: dict[str, Any]
    totals: dict[str, Any]
    updated_at: str | None


def of_month(month: str | None) -> MonthStats:
    """One month's figures and the totals since the start: one DynamoDB request."""
    month = check_month(month)
    counters, total = deps().stats.counters(month)
    updated = max((str(c.get("updated_at") or "") for c in (counters, total)), default="") or None
    strip = ("updated_at",)
    return MonthStats(month, figures({k: v for k, v in counters.items() if k not in strip}),
                      figures({k: v for k, v in total.items() if k not in strip}), updated)


#: Each figure of a month as a row of the export (key, zh-CN label).
LABELS: tuple[tuple[str, str], ...] = (
    ("registered_users", "注册用户数"), ("units_listed", "上架房源数"), ("policies_published", "发布政策文件数"),
    ("applications_submitted", "提交申请数"), ("applications_approved", "审核通过数"),
    ("approval_days_avg", "提交至审核通过平均天数"), ("approval_days_p90", "提交至审核通过天数（90%分位）"),
    ("payments_online_count", "线上缴费笔数"), ("payments_online_amount_yuan", "线上缴费金额（元）"),
    ("complaints", "投诉数"), ("suggestions", "建议数"), ("feedback_on_time_rate", "投诉建议按时办结率"),
    ("feedback_rating_avg", "投诉建议平均评分"), ("reviews_decided", "完成年审数"),
    ("review_outcome_continue", "年审结果：继续承租"), ("review_outcome_higher_rent", "年审结果：提高租金"),
    ("review_outcome_must_leave", "年审结果：腾退"), ("review_outcome_manual", "年审结果：人工审核"),
    ("households_housed", "新增配租户数"),
)


def rows(stats: MonthStats) -> list[tuple[str, str, Any, Any]]:
    """(key, label, the month's value, the total) for every figure, in the ministry's order."""
    def value(figs: dict[str, Any], key: str) -> Any:
        if key.startswith("review_outcome_"):
            return figs["review_outcomes"][key.removeprefix("review_outcome_")]
        return figs[key]

    return [(key, label, value(stats.figures, key), value(stats.totals, key)) for key, label in LABELS]

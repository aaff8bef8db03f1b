"""Reconciliation (对账): each provider's statement for a China day against our online payments of
that day (docs/decisions/0029). The matching itself is reconciliation_matching.py (pure); here are
the runs, their mismatches for staff, and the pending pool around them.

A run is one per provider and day (``rec_{provider}_{yyyymmdd}``): starting it again re-runs it,
and everything it writes has an id derived from what it is about (the mismatch from provider,
kind, order and day; the pending item from provider, side and order), so a rerun writes nothing
twice. A statement exists after 10:00 the next day (China time): the daily job starts yesterday's
runs at 10:30, and an admin may (re)start any past day. Staff resolve each mismatch with a reason
(audited); the open ones are counted daily into a metric an alarm watches.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import audit
from chalicelib.domain.common import Page, now, now_iso
from chalicelib.domain.lifecycle import Lifecycle, Refusal
from chalicelib.domain.reconciliation_matching import (
    KIND_NAMES,
    OURS,
    Found,
    Kept,
    MismatchKind,
    Ours,
    Pend,
    Waiting,
    key_of,
    match,
)
from chalicelib.identity import Actor

if TYPE_CHECKING:  # the request models; pydantic stays off the read path
    from chalicelib.bodies import MismatchResolveIn, ReconciliationIn

PROVIDERS = ("wechat", "alipay")
#: The provider's statement for a day exists after this hour (China time) of the next day.
STATEMENT_READY_HOUR = 10
#: A running run whose heartbeat is older than this has died: it may be started again.
STALE_AFTER = timedelta(minutes=15)
#: Progress is written every this many statement lines.
PROGRESS_EVERY = 10_000
#: The daily job also (re)starts the days before yesterday whose run is missing or failed.
CATCH_UP_DAYS = 3
MATCHED = "matched"


class ReconciliationStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class MismatchStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ResolveAction(StrEnum):
    """What staff did about a mismatch (recorded with their reason; nothing is executed here)."""

    NO_ACTION = "no_action"  # explained, nothing to correct (timing, a test payment)
    SETTLED_HERE = "settled_here"  # the payment was recorded here (counter settlement, query job)
    REFUNDED = "refunded"  # the money was returned to the payer
    REPORTED_TO_PROVIDER = "reported_to_provider"  # the provider was asked to correct its record


RUNNING, COMPLETED, FAILED = ReconciliationStatus.RUNNING, ReconciliationStatus.COMPLETED, ReconciliationStatus.FAILED
OPEN, RESOLVED = MismatchStatus.OPEN, MismatchStatus.RESOLVED
RUN_NAMES = {RUNNING: "对账中", COMPLETED: "已完成", FAILED: "失败"}
MISMATCH_NAMES = {OPEN: "待处理", RESOLVED: "已处理"}
ACTION_NAMES = {ResolveAction.NO_ACTION: "无需处理", ResolveAction.SETTLED_HERE: "已在本方入账",
                ResolveAction.REFUNDED: "已退款", ResolveAction.REPORTED_TO_PROVIDER: "已提请支付机构更正"}
RUNS: Lifecycle[ReconciliationStatus] = Lifecycle(
    "reconciliation", RUNNING, {RUNNING: {COMPLETED, FAILED}, COMPLETED: {RUNNING}, FAILED: {RUNNING}},
    names=RUN_NAMES, refusals=[Refusal(frozenset({RUNNING}), frozenset({RUNNING}), errors.ReconciliationRunning, "day")])
MISMATCHES: Lifecycle[MismatchStatus] = Lifecycle(
    "reconciliation_mismatch", OPEN, {OPEN: {RESOLVED}, RESOLVED: set()}, names=MISMATCH_NAMES,
    refusals=[Refusal(frozenset({RESOLVED}), frozenset({RESOLVED}), errors.MismatchAlreadyResolved, "mismatch_id")])


@dataclass(frozen=True)
class Run:
    run_id: str
    provider: str
    day: str  # YYYY-MM-DD, China time
    status: ReconciliationStatus
    counts: dict[str, Any] = field(default_factory=dict)
    runs: int = 1
    started_at: str = ""
    heartbeat_at: str = ""
    finished_at: str | None = None
    started_by: str = ""
    error: str | None = None
    created_at: str = ""
    updated_at: str = ""
    version: int = 1


@dataclass(frozen=True)
class Mismatch:
    mismatch_id: str
    run_id: str
    provider: str
    day: str
    kind: MismatchKind
    order_id: str
    refund_id: str | None
    transaction_id: str | None
    here: dict[str, Any] | None  # {amount, state, at}
    there: dict[str, Any] | None  # {amount, kind, at, transaction_id}
    detail: str | None
    status: MismatchStatus = OPEN
    reason: str | None = None
    action: ResolveAction | None = None
    resolved_by: str | None = None
    resolved_at: str | None = None
    created_at: str = ""
    updated_at: str = ""
    version: int = 1


def run_id(provider: str, day: date) -> str:
    return f"rec_{provider}_{day:%Y%m%d}"


def mismatch_id(provider: str, kind: MismatchKind, key: tuple[str, str, str], day: str) -> str:
    import hashlib

    raw = "|".join((provider, kind.value, *key, day))
    return f"mm_{hashlib.sha256(raw.encode()).hexdigest()[:20]}"


# --- starting a run -----------------------------------------------------------------------------------
def parse_day(text: str, at: datetime | None = None) -> date:
    """A day whose statement exists: a real date before today, and if yesterday, after 10:00 today
    (China time). A malformed or future day is a 400; yesterday's before 10:00 a 409."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise errors.InvalidInput("a date YYYY-MM-DD", field="day", message="对账日期应为 YYYY-MM-DD 格式的日期") from None
    at = at or now()
    if day >= at.date():
        raise errors.InvalidInput("a day before today (China time)", field="day", message="对账日期须早于今天")
    if day == at.date() - timedelta(days=1) and at.hour < STATEMENT_READY_HOUR:
        raise errors.StatementNotReady(f"after {STATEMENT_READY_HOUR}:00 on {at.date()}", field="day")
    return day


def start(actor: Actor, body: ReconciliationIn) -> Run:
    """An admin (re)starts the reconciliation of a provider's day; it runs now, to the end."""
    day = parse_day(body.day)
    return reconcile(body.provider, day, actor.subject)


def reconcile(provider: str, day: date, by: str) -> Run:
    """Run (or re-run) one provider's day and return its result. A run already going is a 409."""
    if provider not in PROVIDERS:
        raise errors.InvalidInput(f"one of {', '.join(PROVIDERS)}", field="provider", message="不支持该支付机构")
    adapter = deps().payment_providers.get(provider)  # 400 if the city has not configured it
    run = deps().reconciliation.begin(provider, day, by, stale_before=(now() - STALE_AFTER).isoformat())
    try:
        counts = _execute(run, adapter, day)
    except Exception as exc:
        deps().reconciliation.finish(replace(run, status=RUNS.move(run.status, FAILED), error=_error_of(exc),
                                             finished_at=now_iso()))
        raise
    done = replace(run, status=RUNS.move(run.status, COMPLETED), counts=counts, finished_at=now_iso(), error=None)
    deps().reconciliation.finish(done)
    return deps().reconciliation.get_run(run.run_id) or done


def _error_of(exc: Exception) -> str:
    code = getattr(exc, "code", None) or type(exc).__name__
    return f"{code}: {exc}"[:300]


def _execute(run: Run, adapter: Any, day: date) -> dict[str, Any]:
    repo, provider = deps().reconciliation, run.provider
    counts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()

    def progress() -> dict[str, Any]:
        return {**counts, "mismatches": {k.value: kinds[k.value] for k in MismatchKind}}

    def read(lines: Iterable[Any]) -> Iterator[Any]:
        for line in lines:
            counts["lines_read"] += 1
            if counts["lines_read"] % PROGRESS_EVERY == 0:
                repo.heartbeat(run.run_id, progress())
            yield line

    def ours_read(items: Iterable[Ours]) -> Iterator[Ours]:
        for item in items:
            counts["ours_read"] += 1
            yield item

    lines = sorted(read(adapter.statement(day)), key=key_of)
    repo.heartbeat(run.run_id, progress())
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    outcomes = match(
        provider, day, lines, ours_read(repo.payments_of_day(provider, day)),
        awaiting=repo.awaiting(provider, day.isoformat(), run.run_id),
        earlier={w.pending_id: w for w in repo.pooled_by(provider, day.isoformat())},
        lookup=repo.payment, before_done=repo.is_done(provider, before), after_done=repo.is_done(provider, after))
    at = now_iso()
    for outcome in outcomes:
        if isinstance(outcome, Found):
            decided = outcome.kind.value if outcome.kind else MATCHED
            if outcome.kind is None:
                counts["matched"] += 1
            else:
                kinds[outcome.kind.value] += 1
                repo.add_mismatch(_mismatch(run, outcome, at))
            for pid in outcome.decides:
                repo.decide_pending(pid, decided, run.run_id, at)
                counts["pending_decided"] += 1
        elif isinstance(outcome, Pend):
            repo.pool(provider, outcome.pending_id, outcome.side, outcome.item, run.day, outcome.await_day, at)
            counts["pending"] += 1
        elif isinstance(outcome, Kept):
            counts["pending" if outcome.outcome is None else "pending_decided_earlier"] += 1
    return progress()


def _mismatch(run: Run, found: Found, at: str) -> Mismatch:
    assert found.kind is not None
    ours, theirs = found.ours, found.theirs
    here = {"amount": ours.amount, "state": str(ours.state), "at": ours.at} if ours else None
    there = {"amount": theirs.amount, "kind": str(theirs.kind), "at": theirs.at,
             "transaction_id": theirs.transaction_id} if theirs else None
    transaction = (theirs.transaction_id if theirs else None) or (ours.transaction_id if ours else None)
    return Mismatch(mismatch_id(run.provider, found.kind, found.key, run.day), run.run_id, run.provider, run.day,
                    found.kind, found.key[0], found.key[2] or None, transaction, here, there, found.detail,
                    MISMATCHES.initial, created_at=at, updated_at=at)


def daily(at: datetime | None = None) -> list[Run]:
    """The daily job (after 10:00): yesterday for every provider the city has, and any of the few
    days before whose run is missing or failed (oldest first: the pending pool flows forward)."""
    at = at or now()
    yesterday = at.date() - timedelta(days=1)
    out: list[Run] = []
    for provider in deps().payment_providers.configured():
        for back in range(CATCH_UP_DAYS, -1, -1):
            day = yesterday - timedelta(days=back)
            existing = deps().reconciliation.get_run(run_id(provider, day))
            if back and existing is not None and existing.status != FAILED:
                continue
            try:
                out.append(reconcile(provider, day, "schedule"))
            except errors.DomainError as exc:  # one provider's failure does not stop the others
                from chalicelib.observability import logger

                logger.warning("reconciliation not done", extra={"provider": provider, "day": day.isoformat(),
                                                                 "error": type(exc).__name__})
    return out


# --- reading and resolving ------------------------------------------------------------------------------
def get_run(reconciliation_id: str) -> Run:
    run = deps().reconciliation.get_run(reconciliation_id)
    if run is None:
        raise errors.ReconciliationNotFound(reconciliation_id, field="reconciliation_id")
    return run


def mismatches(status: MismatchStatus, cursor: str | None, limit: int) -> Page[Mismatch]:
    return deps().reconciliation.mismatches(status, cursor, limit)


def unresolved() -> int:
    """Open mismatches: the daily metric the alarm watches."""
    return deps().reconciliation.count_open()


def resolve(mismatch_id_: str, actor: Actor, body: MismatchResolveIn) -> Mismatch:
    """Staff close a mismatch with what they did and why (audited); a second time is a 409."""
    repo = deps().reconciliation
    current = repo.get_mismatch(mismatch_id_)
    to = MISMATCHES.move(current.status, RESOLVED)
    action = ResolveAction(body.action)
    audit.record(actor, f"reconciliation_mismatch#{mismatch_id_}", f"mismatch_{action.value}", body.reason)
    at = now_iso()
    resolved = replace(current, status=to, reason=body.reason, action=action, resolved_by=actor.subject,
                       resolved_at=at, updated_at=at, version=current.version + 1)
    repo.resolve(resolved, current.version)
    return resolved


def pooled(side: str, item: Any) -> dict[str, Any]:
    """A pending item as stored: plain values (a provider's kind is an enum), the fields the engine reads."""
    fields = ("order_id", "amount", "state", "at", "kind", "refund_id", "transaction_id") if side == OURS else (
        "order_id", "transaction_id", "amount", "kind", "at", "refund_id")
    values = {f: getattr(item, f) for f in fields}
    return {f: (str(v) if isinstance(v, StrEnum) else v) for f, v in values.items()}


def waiting_item(side: str, data: dict[str, Any]) -> Any:
    """A pooled item as the engine reads it (ours: :class:`Ours`; theirs: a line-like record)."""
    if side == OURS:
        return Ours(**data)
    return _Line(**data)


@dataclass(frozen=True)
class _Line:
    order_id: str
    transaction_id: str
    amount: int
    kind: str
    at: str
    refund_id: str | None = None


def as_waiting(pending_id: str, side: str, data: dict[str, Any], from_day: str, outcome: str | None) -> Waiting:
    return Waiting(pending_id, side, waiting_item(side, data), from_day, outcome)


__all__ = ["KIND_NAMES", "MismatchKind", "Ours"]

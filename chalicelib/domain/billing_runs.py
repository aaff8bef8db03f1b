"""Billing runs (账单生成): one run issues a month's rent bills to every active lease, started by an
admin (``POST /v1/admin/billing-runs``) or by the city's schedule. Decisions: docs/decisions/0027.

A run is fanned out over SQS: one message per shard of the leases' active index; a worker reads its
shard a Query page at a time, writes the page's bills (conditional puts, 100 a transaction: a bill
exists once whatever runs at once) and records the page on the shard's progress item, conditional
on the page number it started from. So a redelivered or duplicated message never counts twice: the
delivery that records a page counts it (bills found with this run's id as created, others' as
already existing), any other delivery of that page loses the condition and stops. A worker whose
time runs low sends the shard on as a continuation (page number and cursor). The run is finished
when every shard is; a shard that failed every delivery (its message goes to the DLQ) fails the run
with the reason, and a new run for the month completes it (nothing is issued twice).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Callable

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import bills
from chalicelib.domain.common import Page, new_id, now, now_iso
from chalicelib.domain.lifecycle import Lifecycle
from chalicelib.identity import Actor

if TYPE_CHECKING:  # the request model; pydantic stays off the read path
    from chalicelib.bodies import BillingRunIn


class BillingRunStatus(StrEnum):
    RUNNING = "running"  # shards being worked on
    FINISHED = "finished"  # every shard done (leases that could not be billed are listed as failures)
    FAILED = "failed"  # a shard gave up after every delivery failed (its reason is kept); run it again


class Trigger(StrEnum):
    ADMIN = "admin"
    SCHEDULE = "schedule"


RUNNING, FINISHED, FAILED = BillingRunStatus.RUNNING, BillingRunStatus.FINISHED, BillingRunStatus.FAILED
STATUS_NAMES = {RUNNING: "生成中", FINISHED: "已完成", FAILED: "失败"}
RUNS: Lifecycle[BillingRunStatus] = Lifecycle(
    "billing_run", RUNNING, {RUNNING: {FINISHED, FAILED}, FINISHED: set(), FAILED: set()}, names=STATUS_NAMES)

#: Leases a worker reads with one Query (~300 bytes each in the index: well under 1 MB).
PAGE_SIZE = 1000
#: A worker takes no further page when less than this is left of its invocation.
TIME_MARGIN_MS = 10_000
#: Failed leases listed on a shard (all are counted).
FAILURES_KEPT = 20


@dataclass(frozen=True)
class Counts:
    seen: int = 0  # leases of the index read
    created: int = 0  # bills this run issued
    existing: int = 0  # bills another run (or an earlier one) had issued already
    not_active: int = 0  # skipped: the month is outside the lease's term
    exempt: int = 0  # skipped: nothing to pay after the reduction
    failed: int = 0  # leases that could not be billed (listed with the reason)

    def __add__(self, other: Counts) -> Counts:
        return Counts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @property
    def skipped(self) -> int:
        return self.not_active + self.exempt


COUNTS = tuple(f.name for f in fields(Counts))


@dataclass(frozen=True)
class Shard:
    """One shard's progress: ``seq`` pages recorded, the index cursor after them."""

    run_id: str
    shard: str
    seq: int = 0
    cursor: dict[str, Any] | None = None
    counts: Counts = Counts()
    failures: list[dict[str, str]] = field(default_factory=list)
    finished_at: str | None = None
    failed_reason: str | None = None
    updated_at: str | None = None


@dataclass(frozen=True)
class BillingRun:
    run_id: str
    month: str
    trigger: Trigger
    started_by: str | None
    started_at: str
    status: BillingRunStatus = RUNNING
    shards: int = bills.BILLING_SHARDS
    shards_done: int = 0
    shards_failed: int = 0
    counts: Counts = Counts()  # of the shards finished
    enqueued: bool = False  # every shard's first message sent
    reason: str | None = None  # why it failed to start
    finished_at: str | None = None


@dataclass(frozen=True)
class Progress:
    """A run with its shards' live counts (``counts`` summed over every shard, running ones too)."""

    run: BillingRun
    shards: list[Shard]

    @property
    def counts(self) -> Counts:
        total = Counts()
        for s in self.shards:
            total = total + s.counts
        return total

    @property
    def failures(self) -> list[dict[str, str | None]]:
        """A shard that gave up (no lease named), then each lease that could not be billed."""
        out: list[dict[str, str | None]] = [{"shard": s.shard, "lease_id": None, "reason": s.failed_reason}
                                             for s in self.shards if s.failed_reason]
        return out + [{"shard": s.shard, "lease_id": f.get("lease_id"), "reason": f.get("reason")}
                      for s in self.shards for f in s.failures]


# --- starting --------------------------------------------------------------------------------------
def check_month(month: str, today: date | None = None) -> str:
    """A month an admin may bill: ``YYYY-MM`` within the city's ``run_months`` of the current one."""
    try:
        first, _ = bills.month_bounds(month)
    except ValueError:
        raise errors.InvalidInput("YYYY-MM", field="month", message="账期应为“年-月”，如 2027-01") from None
    limits = bills.rent_rules().run_months
    current = today or now().date()
    offset = (first.year - current.year) * 12 + first.month - current.month
    if not -limits.back <= offset <= limits.ahead:
        raise errors.InvalidInput(f"between {limits.back} months back and {limits.ahead} ahead", field="month",
                                  message=f"账期应在本月之前 {limits.back} 个月至之后 {limits.ahead} 个月之内")
    return month


def start(actor: Actor, body: BillingRunIn) -> BillingRun:
    """An admin's run for ``body.month``: a new run each time (bills already issued are counted as
    existing, never issued again)."""
    run = BillingRun(new_id("brun"), check_month(body.month), Trigger.ADMIN, actor.subject, now_iso())
    return launch(run)


def start_scheduled(today: date | None = None) -> BillingRun:
    """The schedule's run for the current month (China time). Its id is the month's, so the
    Scheduler's retries, or two invocations, make one run."""
    current = today or now().date()
    month = f"{current.year:04d}-{current.month:02d}"
    return launch(BillingRun(f"brun_{month.replace('-', '')}_schedule", month, Trigger.SCHEDULE, None, now_iso()))


def launch(run: BillingRun) -> BillingRun:
    """Record the run, then send one message per shard. The schedule's run, started again after its
    messages were not all sent, sends them again (a shard ahead of its message resumes where it is);
    an admin's run whose messages could not be sent failed (the admin starts another)."""
    repo = deps().billing_runs
    if not repo.create(run):
        run = repo.get(run.run_id)
        if run.enqueued or run.status != RUNNING:
            return run
    try:
        repo.send([message(run, f"{n:02d}") for n in range(run.shards)])
    except errors.ServiceUnavailable:
        if run.trigger == Trigger.ADMIN:
            repo.finish(replace(run, status=RUNS.move(run.status, FAILED), reason="队列暂时不可用，账单未生成",
                                finished_at=now_iso()))
        raise
    return repo.mark_enqueued(run)


def message(run: BillingRun, shard: str, seq: int = 0, cursor: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"run_id": run.run_id, "month": run.month, "shard": shard, "seq": seq, "cursor": cursor}


# --- reading ---------------------------------------------------------------------------------------
def get(run_id: str) -> Progress:
    repo = deps().billing_runs
    return Progress(repo.get(run_id), repo.shards(run_id))


def page(cursor: str | None, limit: int) -> Page[BillingRun]:
    """Runs, the newest first."""
    return deps().billing_runs.page(cursor, limit)


# --- the worker ------------------------------------------------------------------------------------
def process(msg: dict[str, Any], remaining_ms: Callable[[], int]) -> str:
    """Work on one shard message: pages until the shard ends or time runs low (then a continuation
    is sent). Returns what happened: finished | continued | lost (another delivery is ahead) | done."""
    repo = deps().billing_runs
    run_id, month, shard = str(msg["run_id"]), str(msg["month"]), str(msg["shard"])
    stored = repo.get_shard(run_id, shard)
    if stored is not None and (stored.finished_at or stored.failed_reason):
        return "done"  # a late duplicate: the shard was finished (or given up) already
    seq, cursor = int(msg.get("seq") or 0), msg.get("cursor")
    total, kept = Counts(), 0
    if stored is not None:
        # Redelivered after pages were recorded (or a duplicate): go on from what the shard says.
        seq, cursor, total, kept = stored.seq, stored.cursor, stored.counts, len(stored.failures)
    rules = bills.rent_rules()
    while True:
        leases, next_cursor = deps().leases.active_page(shard, cursor, PAGE_SIZE)
        counts, failures = issue(leases, month, run_id, rules)
        finished = next_cursor is None
        if not repo.advance_shard(run_id, shard, seq, counts, total + counts, failures[:max(0, FAILURES_KEPT - kept)],
                                  next_cursor, finished, now_iso()):
            return "lost"  # another delivery recorded this page first (and counted it)
        seq, cursor, total, kept = seq + 1, next_cursor, total + counts, kept + len(failures)
        if finished:
            settle(run_id)
            return "finished"
        if remaining_ms() < TIME_MARGIN_MS:
            repo.send([{"run_id": run_id, "month": month, "shard": shard, "seq": seq, "cursor": cursor}])
            return "continued"


def issue(leases: list[bills.ActiveLease], month: str, run_id: str, rules: Any) -> tuple[Counts, list[dict[str, str]]]:
    """One page's bills, written once each; what happened to every lease of the page."""
    at = now_iso()
    issued: list[bills.Bill] = []
    tally = {"seen": len(leases), "not_active": 0, "exempt": 0, "failed": 0}
    failures = []
    for lease in leases:
        try:
            outcome = bills.rent_bill(lease, month, run_id, rules, at)
        except (ValueError, TypeError, KeyError) as exc:  # a lease whose data cannot be billed
            tally["failed"] += 1
            failures.append({"lease_id": lease.lease_id, "reason": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        if isinstance(outcome, bills.Skipped):
            tally[outcome.value] += 1
        else:
            issued.append(outcome)
    existing = deps().bills.create_many(issued)  # bill id -> the run that had issued it
    ours = sum(1 for issuer in existing.values() if issuer == run_id)  # by an earlier delivery of this page
    return Counts(created=len(issued) - len(existing) + ours, existing=len(existing) - ours, **tally), failures


def give_up(msg: dict[str, Any], reason: str) -> None:
    """The last delivery of a shard's message failed too: the shard, and so the run, failed."""
    if deps().billing_runs.fail_shard(str(msg["run_id"]), str(msg["shard"]), reason[:300], now_iso()):
        settle(str(msg["run_id"]))


def settle(run_id: str) -> BillingRun:
    """Finish the run once every shard is finished or failed (once: on the run's status)."""
    repo = deps().billing_runs
    run = repo.get(run_id)
    if run.status != RUNNING or run.shards_done + run.shards_failed < run.shards:
        return run
    to = RUNS.move(run.status, FAILED if run.shards_failed else FINISHED)
    return repo.finish(replace(run, status=to, finished_at=now_iso())) or repo.get(run_id)


def encode_cursor(cursor: dict[str, Any] | None) -> str | None:
    return None if cursor is None else json.dumps(cursor, separators=(",", ":"), sort_keys=True)


def decode_cursor(raw: str | None) -> dict[str, Any] | None:
    return None if not raw else dict(json.loads(raw))

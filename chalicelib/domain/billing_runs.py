"""Billing runs (账单生成): one run issues a month's rent bills to every active lease, started by an
admin (``POST /v1/admin/billing-runs``) or by the city's schedule. Decisions: docs/decisions/0027.

A run is one kind of sharded job (domain/fanout.py, shared with the review campaigns): one SQS
message per shard of the leases' active index, each page's progress recorded once, continuations,
a shard that gives up failing the run. What is billing's own is the page's work: its bills, written
with conditional puts (100 a transaction), so a bill exists once whatever runs at once; the bills
found with this run's id count as created (an earlier delivery of this page wrote them), others'
as already existing. A new run for the month completes a failed one (nothing is issued twice).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Callable

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import bills, fanout
from chalicelib.domain.common import Page, new_id, now, now_iso
from chalicelib.domain.lifecycle import Lifecycle
from chalicelib.identity import Actor
from chalicelib.metric_names import BILLING_RUNS_STARTED, BILLS_ISSUED
from chalicelib.observability import count

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
TIME_MARGIN_MS, FAILURES_KEPT = fanout.TIME_MARGIN_MS, fanout.FAILURES_KEPT


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


Shard = fanout.Shard


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


Progress = fanout.Progress


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
    """Record the run, then send one message per shard (fanout.launch). The schedule's run, started
    again after its messages were not all sent, sends them again; an admin's run whose messages could
    not be sent failed (the admin starts another)."""
    count(BILLING_RUNS_STARTED)
    return fanout.launch(KIND, run, {"month": run.month},
                         fail_if_unsent="队列暂时不可用，账单未生成" if run.trigger == Trigger.ADMIN else None)


def message(run: BillingRun, shard: str, seq: int = 0, cursor: dict[str, Any] | None = None) -> dict[str, Any]:
    return fanout.message(run.run_id, shard, {"month": run.month}, seq, cursor)


# --- reading ---------------------------------------------------------------------------------------
def get(run_id: str) -> fanout.Progress[Counts]:
    return fanout.get(KIND, run_id)


def page(cursor: str | None, limit: int) -> Page[BillingRun]:
    """Runs, the newest first."""
    return deps().billing_runs.page(cursor, limit)


# --- the worker ------------------------------------------------------------------------------------
def process(msg: dict[str, Any], remaining_ms: Callable[[], int]) -> str:
    """Work on one shard message (fanout.process): finished | continued | lost | done."""
    return fanout.process(KIND, msg, remaining_ms)


def _work(msg: dict[str, Any], leases: list[bills.ActiveLease]) -> tuple[Counts, list[dict[str, str]]]:
    return issue(leases, str(msg["month"]), str(msg["run_id"]), bills.rent_rules())


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
            failures.append(fanout.failure(lease.lease_id, exc))
            continue
        if isinstance(outcome, bills.Skipped):
            tally[outcome.value] += 1
        else:
            issued.append(outcome)
    existing = deps().bills.create_many(issued)  # bill id -> the run that had issued it
    ours = sum(1 for issuer in existing.values() if issuer == run_id)  # by an earlier delivery of this page
    count(BILLS_ISSUED, len(issued) - len(existing))  # written now: a redelivered page's are not counted again
    return Counts(created=len(issued) - len(existing) + ours, existing=len(existing) - ours, **tally), failures


def give_up(msg: dict[str, Any], reason: str) -> None:
    """The last delivery of a shard's message failed too: the shard, and so the run, failed."""
    fanout.give_up(KIND, msg, reason)


def settle(run_id: str) -> BillingRun:
    """Finish the run once every shard is finished or failed (once: on the run's status)."""
    return fanout.settle(KIND, run_id)  # type: ignore[no-any-return]


KIND: fanout.Kind[Counts] = fanout.Kind("billing_run", lambda: deps().billing_runs, RUNS, lambda: PAGE_SIZE, _work)

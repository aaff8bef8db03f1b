"""Sharded jobs (分片任务): the one fan-out billing runs and review campaigns share (docs/decisions/0027,
0032). A job works through every active lease: one SQS message per shard of the sparse
``active_leases`` index; a worker reads its shard a Query page at a time, hands the page to the
job's kind (bills for a billing run, reviews for a campaign's opening, reminders for a campaign's
notice pass) and records the page on the shard's progress item, conditional on the page number it
started from. So a redelivered or duplicated message never counts twice: the delivery that records
a page counts it, any other delivery of that page loses the condition and stops. A worker whose time
runs low sends the shard on as a continuation (page number and cursor). The job is finished when
every shard is; a shard that failed every delivery (its message goes to the DLQ) fails the job with
the reason, and running the job again completes it (each kind's writes are keyed to happen once).

A kind supplies its store (the job's table and queue: repositories/fanout.py), its counts (a frozen
dataclass of ints with ``seen`` and ``failed``), the page size and the work on one page.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Generic, Protocol, TypeVar

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.bills import BILLING_SHARDS
from chalicelib.domain.common import now_iso
from chalicelib.domain.lifecycle import Lifecycle

#: Shards of the active-leases index (domain/bills.shard_of): one message each.
SHARDS = BILLING_SHARDS
#: A worker takes no further page when less than this is left of its invocation.
TIME_MARGIN_MS = 10_000
#: Failed leases listed on a shard (all are counted).
FAILURES_KEPT = 20

C = TypeVar("C")


def count_names(counts: Any) -> tuple[str, ...]:
    return tuple(f.name for f in fields(counts))


def add(a: C, b: C) -> C:
    """Two counts of one kind, summed field by field."""
    return type(a)(**{name: getattr(a, name) + getattr(b, name) for name in count_names(a)})


@dataclass(frozen=True)
class Shard(Generic[C]):
    """One shard's progress: ``seq`` pages recorded, the index cursor after them."""

    run_id: str
    shard: str
    counts: C
    seq: int = 0
    cursor: dict[str, Any] | None = None
    failures: list[dict[str, str]] = field(default_factory=list)
    finished_at: str | None = None
    failed_reason: str | None = None
    updated_at: str | None = None


class Job(Protocol):
    """What the fan-out reads of a job (a billing run, a campaign's pass)."""

    run_id: str
    status: Any
    shards: int
    shards_done: int
    shards_failed: int
    enqueued: bool
    counts: Any


@dataclass(frozen=True)
class Progress(Generic[C]):
    """A job with its shards' live counts (``counts`` summed over every shard, running ones too)."""

    run: Any
    shards: list[Shard[C]]

    @property
    def counts(self) -> C:
        total = type(self.run.counts)()
        for s in self.shards:
            total = add(total, s.counts)
        return total

    @property
    def failures(self) -> list[dict[str, str | None]]:
        """A shard that gave up (no lease named), then each lease that could not be worked on."""
        out: list[dict[str, str | None]] = [{"shard": s.shard, "lease_id": None, "reason": s.failed_reason}
                                             for s in self.shards if s.failed_reason]
        return out + [{"shard": s.shard, "lease_id": f.get("lease_id"), "reason": f.get("reason")}
                      for s in self.shards for f in s.failures]


@dataclass(frozen=True)
class Kind(Generic[C]):
    """One kind of sharded job: where its jobs are kept (``store()``: a repositories/fanout.py store),
    its lifecycle (running -> finished | failed), how many leases a page holds, and the work on a page:
    ``work(message, leases) -> (counts, failures)``, which must be safe to do twice."""

    name: str
    store: Callable[[], Any]
    lifecycle: Lifecycle[Any]
    page_size: Callable[[], int]
    work: Callable[[dict[str, Any], list[Any]], tuple[Any, list[dict[str, str]]]]

    def status(self, value: str) -> Any:
        return self.lifecycle.states(value)


# --- starting --------------------------------------------------------------------------------------
def launch(kind: Kind[Any], run: Any, fields_: dict[str, Any], *, fail_if_unsent: str | None) -> Any:
    """Record the job, then send one message per shard (``fields_`` ride on every message). A job
    started again after its messages were not all sent (a deterministic id: a retried schedule) sends
    them again (a shard ahead of its message resumes where it is); with ``fail_if_unsent`` a job whose
    messages could not be sent is failed with that reason (its starter starts another)."""
    repo = kind.store()
    if not repo.create(run):
        run = repo.get(run.run_id)
        if run.enqueued or run.status != kind.status("running"):
            return run
    try:
        repo.send([message(run.run_id, f"{n:02d}", fields_) for n in range(run.shards)])
    except errors.ServiceUnavailable:
        if fail_if_unsent:
            repo.finish(replace(run, status=kind.lifecycle.move(run.status, kind.status("failed")),
                                reason=fail_if_unsent, finished_at=now_iso()))
        raise
    return repo.mark_enqueued(run)


def message(run_id: str, shard: str, fields_: dict[str, Any], seq: int = 0,
            cursor: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"run_id": run_id, **fields_, "shard": shard, "seq": seq, "cursor": cursor}


def get(kind: Kind[Any], run_id: str) -> Progress[Any]:
    repo = kind.store()
    return Progress(repo.get(run_id), repo.shards(run_id))


# --- the worker ------------------------------------------------------------------------------------
def process(kind: Kind[Any], msg: dict[str, Any], remaining_ms: Callable[[], int]) -> str:
    """Work on one shard message: pages until the shard ends or time runs low (then a continuation
    is sent). Returns what happened: finished | continued | lost (another delivery is ahead) | done."""
    repo = kind.store()
    run_id, shard = str(msg["run_id"]), str(msg["shard"])
    stored = repo.get_shard(run_id, shard)
    if stored is not None and (stored.finished_at or stored.failed_reason):
        return "done"  # a late duplicate: the shard was finished (or given up) already
    seq, cursor = int(msg.get("seq") or 0), msg.get("cursor")
    total, kept = repo.counts_type(), 0
    if stored is not None:
        # Redelivered after pages were recorded (or a duplicate): go on from what the shard says.
        seq, cursor, total, kept = stored.seq, stored.cursor, stored.counts, len(stored.failures)
    while True:
        leases, next_cursor = deps().leases.active_page(shard, cursor, kind.page_size())
        counts, failures = kind.work(msg, leases)
        finished = next_cursor is None
        if not repo.advance_shard(run_id, shard, seq, counts, add(total, counts),
                                  failures[:max(0, FAILURES_KEPT - kept)], next_cursor, finished, now_iso()):
            return "lost"  # another delivery recorded this page first (and counted it)
        seq, cursor, total, kept = seq + 1, next_cursor, add(total, counts), kept + len(failures)
        if finished:
            settle(kind, run_id)
            return "finished"
        if remaining_ms() < TIME_MARGIN_MS:
            repo.send([{**msg, "seq": seq, "cursor": cursor}])
            return "continued"


def give_up(kind: Kind[Any], msg: dict[str, Any], reason: str) -> None:
    """The last delivery of a shard's message failed too: the shard, and so the job, failed."""
    if kind.store().fail_shard(str(msg["run_id"]), str(msg["shard"]), reason[:300], now_iso()):
        settle(kind, str(msg["run_id"]))


def settle(kind: Kind[Any], run_id: str) -> Any:
    """Finish the job once every shard is finished or failed (once: on the job's status)."""
    repo = kind.store()
    run = repo.get(run_id)
    if run.status != kind.status("running") or run.shards_done + run.shards_failed < run.shards:
        return run
    to = kind.lifecycle.move(run.status, kind.status("failed" if run.shards_failed else "finished"))
    return repo.finish(replace(run, status=to, finished_at=now_iso())) or repo.get(run_id)


def failure(lease_id: str, exc: Exception) -> dict[str, str]:
    """A lease a page could not work on, as the job lists it."""
    return {"lease_id": lease_id, "reason": f"{type(exc).__name__}: {exc}"[:200]}

"""The full recount (统计复核, docs/decisions/0037): every source table scanned page by page, each item's
facts summed as the streams count them (domain/stats.py), then compared with the counter items.
A difference is a mismatch: listed on the run and counted as a metric (STATS_RECOUNT_MISMATCHES, an
alarm watches it).

A run checks the months up to ``through`` (by default the last closed month: the open month still
moves while the scan reads it) and, when ``through`` is the current month, the totals as well. It
works in steps (the ``recount_stats`` schedule gives each its time; an admin starts one through the
API), each saving its progress (per table: pages, items, where to go on, and the sums so far) under
the run's version, so a step that dies is redone from the last save and two steps never both write.
A run that failed or found mismatches is simply run again (a new run).
"""
from __future__ import annotations

import time
from collections import Counter
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.common import new_id, now, now_iso
from chalicelib.domain.lifecycle import Lifecycle
from chalicelib.domain.stats import KEPT, SOURCES, TOTAL, check_month

if TYPE_CHECKING:
    from chalicelib.bodies import StatsRecountIn
    from chalicelib.identity import Actor


class RecountStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


RECOUNTS: Lifecycle[RecountStatus] = Lifecycle(
    "stats_recount", RecountStatus.RUNNING,
    {RecountStatus.RUNNING: {RecountStatus.FINISHED, RecountStatus.FAILED}, RecountStatus.FINISHED: set(),
     RecountStatus.FAILED: set()},
    names={RecountStatus.RUNNING: "复核中", RecountStatus.FINISHED: "已完成", RecountStatus.FAILED: "失败"})
SAVE_EVERY_PAGES = 10
SHOWN_MISMATCHES = 100


def last_closed_month() -> str:
    today = now()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def start(actor: Actor | None, body: StatsRecountIn | None = None) -> dict[str, Any]:
    """A new run (an admin's, or the schedule's: one a month, its id the month's)."""
    through = check_month(body.through if body is not None and body.through else last_closed_month())
    scheduled = actor is None
    run = {
        "recount_id": f"src-{through}" if scheduled else f"src-{through}-{new_id('r')[2:10]}",
        "through": through, "status": RecountStatus.RUNNING.value, "trigger": "schedule" if scheduled else "admin",
        "started_by": None if scheduled else actor.subject, "started_at": now_iso(), "heartbeat_at": None,
        "finished_at": None, "error": None, "steps": 0, "version": 1,
        "tables": {t: {"pages": 0, "items": 0, "done": False, "next": None} for t in _scanned()},
        "sums": {}, "mismatch_count": 0, "mismatches": [],
    }
    try:
        deps().stats.put_recount(run, None)
    except errors.WriteConflict:
        if not scheduled:
            raise
        return get(run["recount_id"])  # this month's scheduled run exists: it goes on
    return run


def _scanned() -> list[str]:
    """The source tables, then what the figures keep of the deleted items of those that keep them."""
    return list(SOURCES) + [KEPT + t for t, s in SOURCES.items() if s.kept_fields]


def get(recount_id: str) -> dict[str, Any]:
    run = deps().stats.get_recount(recount_id)
    if run is None:
        raise errors.StatsRecountNotFound(recount_id, field="recount_id")
    return run


def running() -> list[str]:
    return [r["recount_id"] for r in deps().stats.recounts() if r["status"] == RecountStatus.RUNNING.value]


def step(recount_id: str, budget_s: float) -> dict[str, Any]:
    """Scan on from where the run stopped for at most ``budget_s`` seconds; finish it when done."""
    deadline = time.monotonic() + budget_s
    run = get(recount_id)
    if run["status"] != RecountStatus.RUNNING.value:
        return run
    store = deps().stats
    sums: Counter[str] = Counter({k: int(v) for k, v in run["sums"].items()})
    run["steps"] += 1
    pages = 0
    try:
        for table, progress in run["tables"].items():
            while not progress["done"] and time.monotonic() < deadline:
                source = table.removeprefix(KEPT)
                page = store.kept_page if table.startswith(KEPT) else store.scan_page
                items, progress["next"] = page(source, progress["next"])
                for item in items:
                    for month, counter, amount in SOURCES[source].facts(item):
                        sums[f"{month}|{counter}"] += amount
                progress["pages"] += 1
                progress["items"] += len(items)
                progress["done"] = progress["next"] is None
                pages += 1
                if pages % SAVE_EVERY_PAGES == 0:
                    run = _save(run, sums)
        if all(p["done"] for p in run["tables"].values()):
            _compare(run, sums)
            RECOUNTS.move(run["status"], RecountStatus.FINISHED)
            run["status"], run["finished_at"] = RecountStatus.FINISHED.value, now_iso()
    except errors.WriteConflict:
        return get(recount_id)  # another step saved meanwhile: it carries the run on
    except errors.ServiceUnavailable:
        raise  # throttled: the next step goes on from the last save
    except Exception as exc:  # noqa: BLE001 - recorded on the run, which an admin runs again
        run["status"], run["error"] = RecountStatus.FAILED.value, f"{type(exc).__name__}: {exc}"[:500]
        run["finished_at"] = now_iso()
    run = _save(run, sums)
    if run["status"] == RecountStatus.FINISHED.value:
        from chalicelib.metric_names import STATS_RECOUNT_MISMATCHES
        from chalicelib.observability import daily_count

        daily_count(STATS_RECOUNT_MISMATCHES, run["mismatch_count"])
    return run


def _save(run: dict[str, Any], sums: Counter[str]) -> dict[str, Any]:
    expected = run["version"]
    run = {**run, "sums": {k: v for k, v in sums.items() if v}, "version": expected + 1, "heartbeat_at": now_iso()}
    deps().stats.put_recount(run, expected)
    return run


def _compare(run: dict[str, Any], sums: Counter[str]) -> None:
    """The counters against the recount: every month up to ``through``, the totals if it is this month."""
    through = run["through"]
    recounted: dict[str, Counter[str]] = {}
    for key, n in sums.items():
        month, counter = key.split("|", 1)
        recounted.setdefault(month, Counter())[counter] += n
    counted = deps().stats.all_counters()
    pairs = [(m, counted.get(m, {}), recounted.get(m, Counter()))
             for m in sorted((set(counted) - {TOTAL}) | set(recounted)) if m <= through]
    if through >= now().strftime("%Y-%m"):
        every: Counter[str] = Counter()
        for month_sums in recounted.values():
            every.update(month_sums)
        pairs.append((TOTAL, counted.get(TOTAL, {}), every))
    mismatches = []
    for month, theirs, ours in pairs:
        for counter in sorted(set(theirs) | set(ours)):
            if int(theirs.get(counter, 0)) != int(ours.get(counter, 0)):
                mismatches.append({"month": month, "counter": counter, "counted": int(theirs.get(counter, 0)),
                                   "recounted": int(ours.get(counter, 0))})
    run["mismatch_count"] = len(mismatches)
    run["mismatches"] = mismatches[:SHOWN_MISMATCHES]

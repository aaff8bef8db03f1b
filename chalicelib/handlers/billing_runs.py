"""Billing runs (账单生成): an admin starts a month's run and follows its progress (leases seen,
bills created, already existing, skipped, failed with reasons); the city's schedule starts one too
(handlers/schedules.py). docs/decisions/0027."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import lazy
from chalicelib.handlers.roles import ADMIN
from chalicelib.web import CURSOR, LIMIT, Api, Call

if TYPE_CHECKING:
    from chalicelib.domain.billing_runs import BillingRun, Counts, Progress

runs = lazy.module("chalicelib.domain.billing_runs")

bp = Blueprint(__name__)
api = Api(bp, "billing_runs")


def present_counts(c: Counts) -> dict[str, Any]:
    return {"leases_seen": c.seen, "bills_created": c.created, "already_existing": c.existing, "skipped": c.skipped,
            "skipped_not_active": c.not_active, "skipped_exempt": c.exempt, "failed": c.failed}


def present_run(run: BillingRun, counts: Counts | None = None) -> dict[str, Any]:
    return {
        "run_id": run.run_id, "month": run.month, "trigger": run.trigger, "status": run.status,
        "status_name": runs.STATUS_NAMES[run.status], "started_by": run.started_by, "started_at": run.started_at,
        "finished_at": run.finished_at, "reason": run.reason, "shards": run.shards, "shards_done": run.shards_done,
        "shards_failed": run.shards_failed, **present_counts(counts or run.counts)}


def present_progress(progress: Progress) -> dict[str, Any]:
    return {**present_run(progress.run, progress.counts), "failures": progress.failures[:100],
            "shard_progress": [{"shard": s.shard, "pages": s.seq, "done": s.finished_at is not None,
                                "failed_reason": s.failed_reason, **present_counts(s.counts)} for s in progress.shards]}


@api.route("/v1/admin/billing-runs", "POST", summary="生成某月租金账单（按在租合同；重复生成不会重复出账）", roles=ADMIN,
           body="chalicelib.bodies:BillingRunIn", status=202, response="BillingRun", operation_id="startBillingRun")
def start_billing_run(call: Call) -> dict[str, Any]:
    """Start a month's billing run; answers at once, the shards are worked on by the queue."""
    return present_progress(runs.Progress(runs.start(call.actor, call.model()), []))


@api.route("/v1/admin/billing-runs", summary="账单生成批次（新的在前）", roles=ADMIN, params=[CURSOR, LIMIT],
           response="BillingRunPage", operation_id="listBillingRuns")
def list_billing_runs(call: Call) -> dict[str, Any]:
    """Billing runs, the newest first (counts of their finished shards)."""
    page = runs.page(call.params["cursor"], call.params["limit"])
    return {"items": [present_run(r) for r in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/admin/billing-runs/{run_id}", summary="账单生成进度：已读合同、新出账单、已存在、跳过、失败及原因",
           roles=ADMIN, response="BillingRun", operation_id="getBillingRun")
def get_billing_run(call: Call, run_id: str) -> dict[str, Any]:
    """A run's live progress, summed over its shards, with the leases that could not be billed."""
    return present_progress(runs.get(run_id))

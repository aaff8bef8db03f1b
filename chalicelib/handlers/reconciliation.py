"""Reconciliation (对账): admins (re)start a provider's day and follow its progress; staff list the
mismatches and resolve each with a reason (audited). The daily run is scheduled
(handlers/schedules.py). Decisions: docs/decisions/0029."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import errors, lazy
from chalicelib.handlers.roles import ADMIN, CASE_STAFF
from chalicelib.web import CURSOR, LIMIT, Api, Call, Param

if TYPE_CHECKING:
    from chalicelib.domain.reconciliation import Mismatch, Run

reconciliation = lazy.module("chalicelib.domain.reconciliation")
matching = lazy.module("chalicelib.domain.reconciliation_matching")

bp = Blueprint(__name__)
api = Api(bp, "reconciliation")

MISMATCH_STATUS = Param("status", "enum", "差异处理状态", choices=("open", "resolved"), default="open")
COUNTED = ("lines_read", "ours_read", "matched", "pending", "pending_decided")


def present_run(run: Run) -> dict[str, Any]:
    counts = run.counts
    mismatches = counts.get("mismatches") or {}
    return {"reconciliation_id": run.run_id, "provider": run.provider, "day": run.day, "status": run.status.value,
            "status_name": reconciliation.RUN_NAMES[run.status],
            **{name: int(counts.get(name) or 0) for name in COUNTED},
            "mismatches": {k.value: int(mismatches.get(k.value) or 0) for k in matching.MismatchKind},
            "runs": run.runs, "started_at": run.started_at, "heartbeat_at": run.heartbeat_at,
            "finished_at": run.finished_at, "error": run.error}


def present_mismatch(m: Mismatch) -> dict[str, Any]:
    return {"mismatch_id": m.mismatch_id, "reconciliation_id": m.run_id, "provider": m.provider, "day": m.day,
            "kind": m.kind.value, "kind_name": matching.KIND_NAMES[m.kind], "order_id": m.order_id,
            "refund_id": m.refund_id, "transaction_id": m.transaction_id, "here": m.here, "there": m.there,
            "detail": m.detail, "status": m.status.value, "status_name": reconciliation.MISMATCH_NAMES[m.status],
            "action": m.action.value if m.action else None,
            "action_name": reconciliation.ACTION_NAMES[m.action] if m.action else None, "reason": m.reason,
            "resolved_at": m.resolved_at, "created_at": m.created_at, "version": m.version}


@api.route("/v1/admin/reconciliations", "POST", summary="对账：某支付机构某日的对账单与本方支付记录双向核对（可重复执行）",
           roles=ADMIN, body="chalicelib.bodies:ReconciliationIn", response="Reconciliation",
           raises=(errors.ReconciliationRunning, errors.StatementNotReady, errors.ServiceUnavailable),
           operation_id="startReconciliation")
def start(call: Call) -> dict[str, Any]:
    """Reconcile (again) one provider's statement of one day against our payments of that day."""
    return present_run(reconciliation.start(call.actor, call.model()))


@api.route("/v1/admin/reconciliations/{reconciliation_id}", summary="对账进度与结果：读取行数、已匹配、各类差异、待次日核对",
           roles=ADMIN, response="Reconciliation", raises=(errors.ReconciliationNotFound,),
           operation_id="getReconciliation")
def get_run(call: Call, reconciliation_id: str) -> dict[str, Any]:
    """A reconciliation's progress while it runs, and its result after."""
    return present_run(reconciliation.get_run(reconciliation_id))


@api.route("/v1/staff/reconciliation-mismatches", summary="对账差异（默认待处理，按日期先后）", roles=CASE_STAFF,
           params=[MISMATCH_STATUS, CURSOR, LIMIT], response="MismatchPage", operation_id="listReconciliationMismatches")
def list_mismatches(call: Call) -> dict[str, Any]:
    """Mismatches found by reconciliation, open ones by default, oldest day first."""
    page = reconciliation.mismatches(reconciliation.MismatchStatus(call.params["status"]), call.params["cursor"],
                                     call.params["limit"])
    return {"items": [present_mismatch(m) for m in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/staff/reconciliation-mismatches/{mismatch_id}/resolve", "POST",
           summary="处理对账差异：写明处理方式与理由（记入审计）", roles=CASE_STAFF,
           body="chalicelib.bodies:MismatchResolveIn", response="Mismatch",
           raises=(errors.MismatchNotFound, errors.MismatchAlreadyResolved), operation_id="resolveReconciliationMismatch")
def resolve(call: Call, mismatch_id: str) -> dict[str, Any]:
    """Close a mismatch with what was done about it and why (audited); a second time is a 409."""
    return present_mismatch(reconciliation.resolve(mismatch_id, call.actor, call.model()))

"""Move-out (退租): the tenant (or a delegate with an ``act`` grant) gives notice and follows each step
on the lease's move-out; staff start one, set the appointment, inspect with photos, settle the final
statement and the deposit (refund through the provider, or at the counter) and complete it (the
lease ended, the unit freed). Decisions: docs/decisions/0030."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import errors, lazy
from chalicelib.handlers.roles import CASE_STAFF, CITIZEN
from chalicelib.web import CURSOR, LIMIT, Api, Call, Param

if TYPE_CHECKING:
    from chalicelib.domain.move_outs import MoveOut

move_outs = lazy.module("chalicelib.domain.move_outs")
settlement = lazy.module("chalicelib.domain.move_out_settlement")

bp = Blueprint(__name__)
api = Api(bp, "move_outs")

STATUS = Param("status", "enum", "退租状态（缺省 requested：待预约验房）", choices=(
    "requested", "scheduled", "inspected", "settled", "completed", "cancelled"), default="requested", label="退租状态")


def present(mo: MoveOut, actor: Any) -> dict[str, Any]:
    """The move-out as the tenant and staff see it: each step, the photos (short-lived links), the
    statement line by line, the timeline."""
    names = move_outs.STATUS_NAMES
    inspection = mo.inspection
    settlement = mo.settlement
    refund = (settlement or {}).get("refund")
    return {
        "move_out_id": mo.move_out_id, "lease_id": mo.lease_id, "status": mo.status, "status_name": names[mo.status],
        "unit_id": mo.unit_id, "estate_id": mo.estate_id, "unit_label": mo.unit_label, "tenant": mo.tenant_masked,
        "move_out_date": mo.move_out_date, "started_role": mo.started_role, "reason": mo.reason,
        "review_id": mo.review_id,
        "appointment": {k: mo.appointment.get(k) for k in ("date", "slot", "note")} if mo.appointment else None,
        "inspection": {
            "condition": inspection["condition"], "condition_name": move_outs.CONDITIONS[inspection["condition"]],
            "meters": {"water": inspection["meters"]["water"], "electricity": inspection["meters"]["electricity"],
                       "gas": inspection["meters"].get("gas")},
            "damages": [{"item": d["item"], "amount": d["amount"], "note": d.get("note")}
                        for d in inspection["damages"]],
            "damages_total": sum(d["amount"] for d in inspection["damages"]),
            "unit_status": inspection["unit_status"],
            "unit_status_name": move_outs.UNIT_OUTCOMES[inspection["unit_status"]],
            "note": inspection.get("note"), "inspected_at": inspection["inspected_at"]} if inspection else None,
        "photos": move_outs.photo_links(mo, actor),
        "settlement": {
            **{k: settlement[k] for k in ("lines", "charges", "credits", "refund_amount", "balance_amount",
                                          "balance_bill_id", "cancelled_bill_ids", "summary", "settled_at")},
            "refund": {k: refund.get(k) for k in ("method", "provider", "amount", "status", "refund_id", "refunded_at",
                                                  "receipt_no")} if refund else None} if settlement else None,
        "timeline": [{"at": e["at"], "action": e["action"], "status": e["status"], "status_name": names[e["status"]],
                      "actor_role": e["actor_role"], "note": e["note"]} for e in mo.events],
        "created_at": mo.created_at, "updated_at": mo.updated_at, "version": mo.version,
    }


# --- the tenant (or a delegate) -------------------------------------------------------------------------------
@api.route("/v1/me/lease/{lease_id}/move-out", "POST", summary="申请退租：选择退租日期（城市规定的提前告知期内）",
           roles=CITIZEN, body="chalicelib.bodies:MoveOutIn", status=201, response="MoveOut",
           raises=(errors.LeaseNotFound, errors.LeaseNotActive, errors.MoveOutExists, errors.PaymentInProgress),
           operation_id="giveMoveOutNotice")
def give_notice(call: Call, lease_id: str) -> dict[str, Any]:
    """The tenant, or a delegate with an act grant, gives notice to move out on a date in the city's window."""
    return present(move_outs.give_notice(lease_id, call.actor, call.model()), call.actor)


@api.route("/v1/me/lease/{lease_id}/move-out", summary="我的退租办理：预约、验房、结算、退款、时间线", roles=CITIZEN,
           response="MoveOut", raises=(errors.LeaseNotFound, errors.MoveOutNotFound), operation_id="getMyMoveOut")
def my_move_out(call: Call, lease_id: str) -> dict[str, Any]:
    """The lease's latest move-out, every step on its timeline (the tenant, or any delegate of theirs)."""
    return present(move_outs.current(lease_id, call.actor), call.actor)


@api.route("/v1/me/lease/{lease_id}/move-out/cancel", "POST", summary="撤销退租申请（验房前）", roles=CITIZEN,
           body="chalicelib.bodies:MoveOutCancelIn", response="MoveOut",
           raises=(errors.LeaseNotFound, errors.MoveOutNotFound, errors.MoveOutNotCancellable),
           operation_id="cancelMyMoveOut")
def cancel_mine(call: Call, lease_id: str) -> dict[str, Any]:
    return present(move_outs.cancel_by_tenant(lease_id, call.actor, call.model().version), call.actor)


# --- staff ---------------------------------------------------------------------------------------------------
@api.route("/v1/staff/leases/{lease_id}/move-out", "POST", summary="工作人员发起退租（如年审结果为须腾退；理由必填，记入审计）",
           roles=CASE_STAFF, body="chalicelib.bodies:StaffMoveOutIn", status=201, response="MoveOut",
           raises=(errors.LeaseNotFound, errors.LeaseNotActive, errors.MoveOutExists, errors.PaymentInProgress),
           operation_id="startMoveOut")
def start(call: Call, lease_id: str) -> dict[str, Any]:
    return present(move_outs.start_by_staff(lease_id, call.actor, call.model()), call.actor)


@api.route("/v1/staff/move-outs", summary="退租办理清单（按状态，先申请的在前）", roles=CASE_STAFF,
           params=[STATUS, CURSOR, LIMIT], response="MoveOutPage", operation_id="listMoveOuts")
def list_move_outs(call: Call) -> dict[str, Any]:
    page = move_outs.by_status(call.params["status"], call.params["cursor"], call.params["limit"])
    return {"items": [present(m, call.actor) for m in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/staff/move-outs/{move_out_id}", summary="一笔退租办理", roles=CASE_STAFF, response="MoveOut",
           raises=(errors.MoveOutNotFound,), operation_id="getMoveOut")
def get_move_out(call: Call, move_out_id: str) -> dict[str, Any]:
    return present(move_outs.get(move_out_id), call.actor)


@api.route("/v1/staff/move-outs/{move_out_id}/appointment", "POST", summary="预约（或改约）验房：日期与时段",
           roles=CASE_STAFF, body="chalicelib.bodies:MoveOutAppointmentIn", response="MoveOut",
           raises=(errors.MoveOutNotFound,), operation_id="scheduleMoveOut")
def schedule(call: Call, move_out_id: str) -> dict[str, Any]:
    return present(move_outs.schedule(move_out_id, call.actor, call.model()), call.actor)


@api.route("/v1/staff/move-outs/{move_out_id}/photos", "POST", summary="上传验房照片：返回直传 S3 的表单（JPEG/PNG）",
           roles=CASE_STAFF, body="chalicelib.bodies:MoveOutPhotoIn", status=201, response="MoveOutPhotoUpload",
           raises=(errors.MoveOutNotFound, errors.TooManyDocuments), operation_id="addMoveOutPhoto")
def add_photo(call: Call, move_out_id: str) -> dict[str, Any]:
    mo, photo, upload = move_outs.photo_upload(move_out_id, call.actor, call.model())
    return {"move_out": present(mo, call.actor), "photo_id": photo["photo_id"], "upload": upload}


@api.route("/v1/staff/move-outs/{move_out_id}/inspection", "POST",
           summary="登记验房：房屋状况、水电燃气表读数、损坏赔偿（分）、退租后房屋去向", roles=CASE_STAFF,
           body="chalicelib.bodies:InspectionIn", response="MoveOut", raises=(errors.MoveOutNotFound,),
           operation_id="inspectMoveOut")
def inspect(call: Call, move_out_id: str) -> dict[str, Any]:
    return present(move_outs.inspect(move_out_id, call.actor, call.model()), call.actor)


@api.route("/v1/staff/move-outs/{move_out_id}/settle", "POST",
           summary="退租结算：末月租金折算、欠费与赔偿抵扣押金，余额原路退回或生成补缴账单", roles=CASE_STAFF,
           body="chalicelib.bodies:MoveOutSettleIn", response="MoveOut",
           raises=(errors.MoveOutNotFound, errors.MoveOutAlreadySettled, errors.PaymentInProgress),
           operation_id="settleMoveOut")
def settle(call: Call, move_out_id: str) -> dict[str, Any]:
    """Settles once (a retry with the same version answers the settlement and asks a pending refund again)."""
    body = call.model()
    return present(settlement.settle(move_out_id, call.actor, body.version, body.reason), call.actor)


@api.route("/v1/staff/move-outs/{move_out_id}/refund", "POST",
           summary="完成押金退款：登记窗口退款（收据编号），或重试原路退款", roles=CASE_STAFF,
           body="chalicelib.bodies:MoveOutRefundIn", response="MoveOut", raises=(errors.MoveOutNotFound,),
           operation_id="recordMoveOutRefund")
def record_refund(call: Call, move_out_id: str) -> dict[str, Any]:
    return present(settlement.record_refund(move_out_id, call.actor, call.model()), call.actor)


@api.route("/v1/staff/move-outs/{move_out_id}/complete", "POST",
           summary="退租完成：租赁合同终止，房屋转为空置或维修", roles=CASE_STAFF,
           body="chalicelib.bodies:MoveOutCompleteIn", response="MoveOut",
           raises=(errors.MoveOutNotFound, errors.RefundPending), operation_id="completeMoveOut")
def complete(call: Call, move_out_id: str) -> dict[str, Any]:
    return present(move_outs.complete(move_out_id, call.actor, call.model().version), call.actor)


@api.route("/v1/staff/move-outs/{move_out_id}/cancel", "POST", summary="撤销退租（验房前；理由必填，记入审计）",
           roles=CASE_STAFF, body="chalicelib.bodies:StaffMoveOutCancelIn", response="MoveOut",
           raises=(errors.MoveOutNotFound, errors.MoveOutNotCancellable), operation_id="cancelMoveOut")
def cancel(call: Call, move_out_id: str) -> dict[str, Any]:
    body = call.model()
    return present(move_outs.cancel_by_staff(move_out_id, call.actor, body.version, body.reason), call.actor)

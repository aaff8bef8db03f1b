"""Publicity (公示) and objections (异议): the public list (masked only), objections from anyone
logged in, staff publishing, resolving and closing, and the scheduled close (the citizen's place in
the queue: handlers/waiting_list.py). Decisions: docs/decisions/0012."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Rate

from chalicelib import errors, lazy
from chalicelib.domain.application_status import KINDS, STATUS_NAMES, S
from chalicelib.handlers.roles import CASE_STAFF
from chalicelib.identity import Role
from chalicelib.web import CURSOR, LIMIT, Api, Call, Param, error_code, item_failure

if TYPE_CHECKING:
    from chalicelib.domain.application_types import Application
    from chalicelib.domain.publicity import Batch, Entry, Objection

publicity = lazy.module("chalicelib.domain.publicity")
objections = lazy.module("chalicelib.domain.objections")
idn = lazy.module("chalicelib.domain.idnumbers")

bp = Blueprint(__name__)
api = Api(bp, "publicity")

#: Any logged-in person may object during the period.
LOGGED_IN = tuple(r.value for r in Role if r is not Role.MINISTRY)  # the ministry reads aggregates only
REASON = Param("reason", description="查看事由（记入审计）", max_length=200)
OBJECTION_STATUS = Param("status", "enum", "异议状态", choices=("open", "upheld", "dismissed"), default="open")
BATCH_STATUS_NAMES = {"open": "公示中", "closed": "公示结束"}


def present_batch(b: Batch) -> dict[str, Any]:
    return {"batch_id": b.batch_id, "title": b.title, "status": b.status,
            "status_name": BATCH_STATUS_NAMES.get(b.status, b.status), "starts_at": b.starts_at,
            "ends_at": b.ends_at, "days": b.days, "size": b.size, "in_period": b.in_period()}


def present_entry(e: Entry) -> dict[str, Any]:
    """What the public sees of a household: masked name and ID number, size, kind, street."""
    return {"entry_id": e.entry_id, "main_applicant": e.masked_name, "id_number": e.masked_id,
            "household_size": e.household_size, "kind": e.kind, "kind_name": KINDS.get(e.kind, e.kind),
            "street_id": e.street_id, "street_name": e.street_name}


def present_objection(o: Objection, *, full_contact: bool = False) -> dict[str, Any]:
    return {"objection_id": o.objection_id, "batch_id": o.batch_id, "entry_id": o.entry_id,
            "application_id": o.application_id, "reason": o.reason, "filer_role": o.filer_role,
            "contact": o.contact if full_contact else publicity.mask_contact(o.contact), "status": o.status,
            "status_name": publicity.OBJECTION_STATUS_NAMES.get(o.status, o.status),
            "decision_reason": o.decision_reason, "resolved_at": o.resolved_at, "created_at": o.created_at,
            "version": o.version}


def present_staff_entry(e: Entry, app: Application | None) -> dict[str, Any]:
    out = present_entry(e) | {
        "application_id": e.application_id, "status": e.status,
        "status_name": publicity.ENTRY_STATUS_NAMES.get(e.status, e.status), "objections_open": e.objections_open,
        "objections_upheld": e.objections_upheld, "objections_total": e.objections_total, "settled_at": e.settled_at}
    if app is not None:
        main = app.main()
        out["application"] = {"status": app.status.value, "status_name": STATUS_NAMES[app.status],
                              "main_applicant": main["name"], "id_number": main["id_number"],
                              "members": len(app.members),
                              "priority_points": (app.verification or {}).get("priority_points"),
                              "version": app.version}
    return out


# --- public ------------------------------------------------------------------------------------------
@api.route("/v1/publicity", summary="公示中的批次（无需登录）", response="PublicityList", operation_id="listPublicityBatches")
def list_batches(call: Call) -> dict[str, Any]:
    return {"items": [present_batch(b) for b in publicity.open_batches()]}


@api.route("/v1/publicity/{batch_id}", summary="公示名单：姓名、身份证号已遮盖（无需登录）", response="PublicityBatch", operation_id="getPublicityBatch")
def get_batch(call: Call, batch_id: str) -> dict[str, Any]:
    batch, entries = publicity.public_batch(batch_id)
    return present_batch(batch) | {"items": [present_entry(e) for e in entries]}


@api.route("/v1/publicity/{batch_id}/objections", "POST", summary="对公示对象提出异议（公示期内，需登录）",
           roles=LOGGED_IN, body="chalicelib.bodies:ObjectionIn", status=201, response="ObjectionFiled")
def file_objection(call: Call, batch_id: str) -> dict[str, Any]:
    o = objections.file_objection(batch_id, call.actor, call.model())
    return {"objection_id": o.objection_id, "batch_id": o.batch_id, "entry_id": o.entry_id, "status": o.status,
            "status_name": publicity.OBJECTION_STATUS_NAMES[o.status], "created_at": o.created_at}


# --- staff -------------------------------------------------------------------------------------------
@api.route("/v1/staff/publicity", "POST", summary="发布公示批次（审核通过的申请；每件单独成败）", roles=CASE_STAFF,
           body="chalicelib.bodies:PublishIn", status=201, response="PublishResult", operation_id="publishPublicityBatch")
def publish(call: Call) -> dict[str, Any]:
    try:
        batch, outcomes = publicity.publish(call.actor, call.model())
    except errors.NothingToPublish as exc:  # the detail names each application's stable code
        raise errors.NothingToPublish("; ".join(f"{i}: {error_code(e)}" for i, e in exc.failures) or exc.detail,
                                      field=exc.field) from None
    items = [{"application_id": o.application_id, **item_failure(o.error)} if o.error is not None else
             {"application_id": o.application_id, "ok": True, "entry_id": o.result.entry_id,
              "status": S.IN_PUBLICITY.value}
             for o in outcomes]
    return {"batch": present_batch(batch) | {"version": batch.version}, "items": items}


@api.route("/v1/staff/publicity/{batch_id}", summary="公示批次详情：申请人、异议（记入审计）", roles=CASE_STAFF,
           params=[REASON], response="StaffPublicity", operation_id="staffGetPublicityBatch")
def staff_batch(call: Call, batch_id: str) -> dict[str, Any]:
    batch, entries, apps, filed = publicity.staff_batch(batch_id, call.actor, call.params["reason"])
    return present_batch(batch) | {
        "version": batch.version, "demo": batch.demo, "closed_at": batch.closed_at,
        "items": [present_staff_entry(e, apps.get(e.application_id)) for e in entries],
        "objections": [present_objection(o, full_contact=True) for o in filed]}


@api.route("/v1/staff/publicity/{batch_id}/close", "POST", summary="结束公示：无异议的取得资格并进入轮候",
           roles=CASE_STAFF, body="chalicelib.bodies:VersionIn", response="PublicityClosed", operation_id="closePublicityBatch")
def close_batch(call: Call, batch_id: str) -> dict[str, Any]:
    batch, counts = publicity.close(batch_id, call.actor, call.body()["version"])
    return {"batch": present_batch(batch) | {"version": batch.version}, "counts": counts}


@api.route("/v1/staff/objections", summary="异议列表（默认待处理，先到先处理）", roles=CASE_STAFF,
           params=[OBJECTION_STATUS, CURSOR, LIMIT], response="ObjectionPage")
def list_objections(call: Call) -> dict[str, Any]:
    page = objections.by_status(call.params["status"], call.params["cursor"], call.params["limit"])
    return {"items": [present_objection(o) for o in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/staff/objections/{objection_id}/resolve", "POST", summary="处理异议：成立（退回审核）或不成立（写明理由）",
           roles=CASE_STAFF, body="chalicelib.bodies:ResolveIn", response="Objection")
def resolve_objection(call: Call, objection_id: str) -> dict[str, Any]:
    return present_objection(objections.resolve(objection_id, call.actor, call.model()))


# --- scheduled ---------------------------------------------------------------------------------------
@bp.schedule(Rate(15, unit=Rate.MINUTES), name="close_publicity")
def close_publicity(event: Any) -> dict[str, int]:
    """Every 15 minutes: batches whose period has ended are settled (and closed when no objection is open)."""
    return publicity.close_due()

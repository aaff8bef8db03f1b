"""Groups (团租): an employer's (单位) group applications, their employees one by one or from a CSV file, and
each employee's progress. Documents, submit and supplements of an employee's application go through
the ordinary application routes, where the employer acts for its employees."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import lazy
from chalicelib.domain.application_status import STATUS_NAMES, Status
from chalicelib.handlers.applications import access, present
from chalicelib.handlers.roles import EMPLOYER
from chalicelib.web import CURSOR, LIMIT, Api, Call, error_body

if TYPE_CHECKING:
    from chalicelib.domain.application_types import Application

groups = lazy.module("chalicelib.domain.groups")
hh = lazy.module("chalicelib.domain.households")
idn = lazy.module("chalicelib.domain.idnumbers")

bp = Blueprint(__name__)
api = Api(bp, "groups")

CONSENT_NAMES = {"pending": "待本人授权", "given": "已授权"}


def present_group(g: Any) -> dict[str, Any]:
    return {"group_id": g.group_id, "name": g.name, "note": g.note, "employer_name": g.employer_name,
            "credit_code": g.credit_code, "created_at": g.created_at, "updated_at": g.updated_at,
            "version": g.version}


def progress(app: Application) -> dict[str, Any]:
    """One employee's progress as the employer follows it (name and ID number masked)."""
    cfg = hh.config()
    main = app.main()
    consent = app.consents.get(main["member_id"]) or {}
    docs = list(app.documents.values())
    accepted = {d["type"] for d in docs if d.get("status") == "accepted"}
    required = cfg.required_documents.get(app.kind, [])
    supplement = None
    if app.status == Status.SUPPLEMENT_REQUESTED and app.supplement:
        since = app.supplement.get("requested_at", "")
        fresh = {d["type"] for d in docs if d.get("status") == "accepted" and d.get("created_at", "") >= since}
        supplement = {"documents": [{"type": t, "type_name": cfg.document_types.get(t, t), "uploaded": t in fresh}
                                    for t in app.supplement.get("documents", [])],
                      "note": app.supplement.get("note"), "deadline": app.supplement.get("deadline"),
                      "requested_at": app.supplement.get("requested_at")}
    status = consent.get("status", "pending")
    return {
        "application_id": app.application_id,
        "name": idn.mask_name(main["name"]),
        "id_number": idn.mask_id(main["id_number"]),
        "status": app.status.value,
        "status_name": STATUS_NAMES[app.status],
        "consent": {"status": status, "status_name": CONSENT_NAMES.get(status, status),
                    "method": consent.get("method"), "at": consent.get("at")},
        "documents": {
            "required": len(required),
            "accepted": sum(1 for t in required if t in accepted),
            "checking": sum(1 for d in docs if d.get("status") == "awaiting_upload"),
            "rejected": sum(1 for d in docs if d.get("status") == "rejected" and d["type"] not in accepted),
            "missing": [{"type": t, "type_name": cfg.document_types.get(t, t)} for t in required if t not in accepted],
        },
        "supplement": supplement,
        "submitted_at": app.submitted_at,
        "created_at": app.created_at,
        "updated_at": app.updated_at,
        "version": app.version,
    }


@api.route("/v1/employer/groups", "POST", summary="新建团租申请（须先完成单位登记）", roles=EMPLOYER,
           body="chalicelib.bodies:GroupIn", status=201, response="Group")
def create_group(call: Call) -> dict[str, Any]:
    return present_group(groups.create(call.actor, call.model()))


@api.route("/v1/employer/groups", summary="本单位的团租申请（新建的在前）", roles=EMPLOYER, params=[CURSOR, LIMIT],
           response="GroupPage")
def list_groups(call: Call) -> dict[str, Any]:
    page = groups.mine(call.actor, call.params["cursor"], call.params["limit"])
    return {"items": [present_group(g) for g in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/employer/groups/{group_id}", summary="团租申请详情（仅本单位）", roles=EMPLOYER, response="Group")
def get_group(call: Call, group_id: str) -> dict[str, Any]:
    return present_group(groups.get(group_id, call.actor))


@api.route("/v1/employer/groups/{group_id}/employees", "POST",
           summary="添加一名职工（为其建立团租申请；职工本人在APP中授权）", roles=EMPLOYER,
           body="chalicelib.bodies:EmployeeIn", status=201, response="Application")
def add_employee(call: Call, group_id: str) -> dict[str, Any]:
    return present(groups.add_employee(group_id, call.actor, call.model()), access("employer"))


@api.route("/v1/employer/groups/{group_id}/employees/import", "POST",
           summary="CSV 批量添加职工：有效行保留，错误逐行报告（行号含表头，最多 500 行）", roles=EMPLOYER,
           body="chalicelib.bodies:EmployeeImportIn", response="GroupImport")
def import_employees(call: Call, group_id: str) -> dict[str, Any]:
    left = getattr(bp.lambda_context, "get_remaining_time_in_millis", None)
    remaining = left() / 1000 - 5 if left else groups.IMPORT_BUDGET_S  # time to answer after the last row
    budget = max(1.0, min(groups.IMPORT_BUDGET_S, remaining))
    result = groups.import_csv(group_id, call.actor, call.body()["csv"], budget)
    failures = []
    for row, exc in result.failed:
        _, payload = error_body(exc, None)
        err = payload["error"]
        failures.append({"row": row, "field": err.get("field"), "code": err["code"], "message": err["message"],
                         "detail": err.get("detail")})
    return {
        "rows": result.rows,
        "created": [{"row": row, "application_id": app.application_id, "name": idn.mask_name(app.main()["name"]),
                     "id_number": idn.mask_id(app.main()["id_number"])} for row, app in result.created],
        "errors": failures,
        "ignored_columns": result.ignored_columns,
    }


@api.route("/v1/employer/groups/{group_id}/employees", summary="职工办理进度（授权、材料、补正；姓名与证件号已遮盖）",
           roles=EMPLOYER, params=[CURSOR, LIMIT], response="GroupEmployeePage")
def list_employees(call: Call, group_id: str) -> dict[str, Any]:
    page = groups.employees(group_id, call.actor, call.params["cursor"], call.params["limit"])
    return {"items": [progress(a) for a in page.items], "next_cursor": page.next_cursor}

"""Staff (窗口/街道): the city's applications, 代办 intake, supplements, paper consent, audit trail."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import errors, lazy
from chalicelib.domain.application_status import Status
from chalicelib.handlers.applications import present, summary
from chalicelib.handlers.roles import CASE_STAFF, OVERSIGHT
from chalicelib.web import CURSOR, LIMIT, Api, Call, Param

apps = lazy.module("chalicelib.domain.applications")
audit = lazy.module("chalicelib.domain.audit")
idn = lazy.module("chalicelib.domain.idnumbers")

bp = Blueprint(__name__)
api = Api(bp, "staff")

STATUS = Param("status", "enum", "申请状态", choices=tuple(s.value for s in Status), default="submitted")


@api.route("/v1/staff/applications", summary="本市申请列表（按状态，先到先办；姓名已遮盖）", roles=CASE_STAFF,
           params=[STATUS, CURSOR, LIMIT], response="ApplicationPage", operation_id="staffListApplications")
def list_applications(call: Call) -> dict[str, Any]:
    page = apps.staff_list(call.params["status"], call.params["cursor"], call.params["limit"])
    return {"items": [summary(a) | {"main_applicant": idn.mask_name(a.main()["name"])} for a in page.items],
            "next_cursor": page.next_cursor}


@api.route("/v1/staff/applications", "POST", summary="代办：工作人员为群众创建申请（窗口或上门）",
           roles=CASE_STAFF, body="chalicelib.bodies:AssistedIn", status=201, response="Application", operation_id="createAssistedApplication")
def assisted_intake(call: Call) -> dict[str, Any]:
    return present(apps.create_assisted(call.actor, call.body()), apps.Access("staff"))


@api.route("/v1/staff/applications/{application_id}/supplement", "POST",
           summary="要求补正：指定材料、说明与期限", roles=CASE_STAFF, body="chalicelib.bodies:SupplementIn",
           response="Application")
def request_supplement(call: Call, application_id: str) -> dict[str, Any]:
    return present(apps.request_supplement(application_id, call.actor, call.body()), apps.Access("staff"))


@api.route("/v1/staff/applications/{application_id}/consents", "POST", raises=(errors.ConsentNotFound,),
           summary="登记家庭成员的书面授权（已上传签字授权书）", roles=CASE_STAFF,
           body="chalicelib.bodies:PaperConsentIn", response="Application", operation_id="recordPaperConsent")
def paper_consent(call: Call, application_id: str) -> dict[str, Any]:
    return present(apps.paper_consent(application_id, call.actor, call.body()), apps.Access("staff"))


@api.route("/v1/audit/{target_kind}/{target_id}", summary="审计记录：谁在何时因何查看了个人信息",
           roles=OVERSIGHT, response="AuditTrail", operation_id="getAuditTrail")
def audit_trail(call: Call, target_kind: str, target_id: str) -> dict[str, Any]:
    return {"items": audit.trail(f"{target_kind}#{target_id}")}

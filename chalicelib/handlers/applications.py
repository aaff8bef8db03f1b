"""Applications: create, read, change, submit, withdraw; documents; consent; the timeline; staff's
list of the city's applications and their supplement requests (补正). Intake (代办): handlers/intake.py.

The same routes serve the owner, a delegate (within the grant), the employer of a group member and
city staff; the domain decides which of them the caller is (chalicelib.domain.applications.authorize).
"""
from __future__ import annotations

from typing import Any

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib import errors, lazy
from chalicelib.domain.application_status import CONTENT_TYPES, KINDS, STATUS_NAMES, Status
from chalicelib.handlers.roles import CASE_ACTORS, CASE_STAFF, CITIZEN
from chalicelib.web import CURSOR, LIMIT, Api, Call, Param

if TYPE_CHECKING:
    from chalicelib.domain.application_types import Access, Application, Event

apps = lazy.module("chalicelib.domain.applications")
types_ = lazy.module("chalicelib.domain.application_types")  # not on a catalogue cold start
intake = lazy.module("chalicelib.domain.intake")
documents = lazy.module("chalicelib.domain.documents")
hh = lazy.module("chalicelib.domain.households")
idn = lazy.module("chalicelib.domain.idnumbers")

bp = Blueprint(__name__)
api = Api(bp, "applications")

REASON = Param("reason", description="工作人员查看个人信息的事由（记入审计，工作人员必填）", max_length=200)
STATUS = Param("status", "enum", "申请状态", choices=tuple(s.value for s in Status), default="submitted")
ACTOR_ROLE_NAMES = {"applicant": "申请人", "delegate": "受托人", "staff": "工作人员", "employer": "单位",
                    "member": "家庭成员", "system": "系统"}


def access(role: str) -> Access:
    """How the caller reaches the application, for ``present`` (the domain's ``Access``)."""
    return types_.Access(role)


def present(app: Application, access: Access | None = None) -> dict[str, Any]:
    """What the caller may see: the owner and staff see members in full, others masked."""
    full = access is None or access.as_role in ("applicant", "staff")
    cfg = hh.config()
    docs = [present_document(d) for d in app.documents.values()]
    docs.sort(key=lambda d: d["created_at"])
    accepted = {d["type"] for d in app.documents.values() if d.get("status") == "accepted"}
    required = cfg.required_documents.get(app.kind, [])
    return {
        "application_id": app.application_id,
        "kind": app.kind,
        "kind_name": KINDS.get(app.kind, app.kind),
        "status": app.status.value,
        "status_name": STATUS_NAMES[app.status],
        "members": [hh.present_member(m, full=full) for m in app.members],
        "contact_mobile": idn.mask_mobile(app.contact_mobile),
        "documents": docs,
        "required_documents": [{"type": t, "type_name": cfg.document_types[t], "accepted": t in accepted}
                               for t in required],
        "consents": [{"member_id": k, "status": v["status"], "name": v.get("name"), "method": v.get("method"),
                      "at": v.get("at"), "text_version": v.get("text_version")} for k, v in app.consents.items()],
        "supplement": app.supplement and {k: v for k, v in app.supplement.items() if k != "requested_by"},
        "assisted": app.assisted and {k: v for k, v in app.assisted.items() if k not in ("staff", "confirmed_by")},
        "group_id": app.group_id,
        "employer": app.employer and {"name": app.employer.get("name")},
        "declared": app.data.get("declared", {}),
        "rules_version": app.rules_version,
        "submitted_at": app.submitted_at,
        "created_at": app.created_at,
        "updated_at": app.updated_at,
        "version": app.version,
        "as": access.as_role if access else None,
    }


#: A document's fields that are null until they happen (the check, its size, the member it belongs to).
DOCUMENT_LATER = ("member_id", "reason", "size", "checked_at")


def present_document(doc: dict[str, Any]) -> dict[str, Any]:
    """One document, the same in every answer (storage key and uploader's login left out)."""
    out = dict.fromkeys(DOCUMENT_LATER) | {k: v for k, v in doc.items() if k not in ("key", "uploaded_by")}
    return out | {"type_name": hh.config().document_types.get(doc["type"], doc["type"])}


def present_event(e: Event) -> dict[str, Any]:
    return {"at": e.at, "type": e.type, "actor_role": e.actor_role,
            "actor_role_name": ACTOR_ROLE_NAMES.get(e.actor_role, e.actor_role),
            "from_status": e.from_status, "to_status": e.to_status, "note": e.note, "changes": e.changes,
            "by_delegate": e.grant_id is not None}


def summary(app: Application) -> dict[str, Any]:
    return {"application_id": app.application_id, "kind": app.kind, "status": app.status.value,
            "status_name": STATUS_NAMES[app.status], "members": len(app.members),
            "submitted_at": app.submitted_at, "created_at": app.created_at, "updated_at": app.updated_at,
            "assisted": bool(app.assisted), "group_id": app.group_id, "version": app.version}


@api.route("/v1/me/applications", summary="我的申请", roles=CITIZEN, params=[CURSOR, LIMIT],
           response="ApplicationPage", operation_id="listMyApplications")
def my_applications(call: Call) -> dict[str, Any]:
    page = apps.mine(call.actor, call.params["cursor"], call.params["limit"])
    return {"items": [summary(a) for a in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/applications", "POST", raises=(errors.HouseholdNotFound,), summary="新建申请（草稿，取自本人家庭信息）", roles=CITIZEN,
           body="chalicelib.bodies:ApplicationIn", status=201, response="Application")
def create_application(call: Call) -> dict[str, Any]:
    return present(apps.create(call.actor, call.model()), access("applicant"))


@api.route("/v1/applications/{application_id}", summary="申请详情", roles=CASE_ACTORS, params=[REASON],
           response="Application")
def get_application(call: Call, application_id: str) -> dict[str, Any]:
    app, access = apps.get(application_id, call.actor, call.params["reason"])
    return present(app, access)


@api.route("/v1/applications/{application_id}", "PATCH", raises=(errors.HouseholdNotFound,), summary="修改申请（草稿或待补正）", roles=CASE_ACTORS,
           body="chalicelib.bodies:ApplicationPatch", response="Application")
def update_application(call: Call, application_id: str) -> dict[str, Any]:
    return present(apps.update(application_id, call.actor, call.model()))


@api.route("/v1/applications/{application_id}/submit", "POST", summary="提交申请（补正后再次提交）",
           roles=CASE_ACTORS, body="chalicelib.bodies:VersionIn", response="Application")
def submit_application(call: Call, application_id: str) -> dict[str, Any]:
    return present(apps.submit(application_id, call.actor, call.body()["version"]))


@api.route("/v1/applications/{application_id}/withdraw", "POST", summary="撤回申请", roles=CASE_ACTORS,
           body="chalicelib.bodies:WithdrawIn", response="Application")
def withdraw_application(call: Call, application_id: str) -> dict[str, Any]:
    body = call.body()
    return present(apps.withdraw(application_id, call.actor, body["version"], body.get("note")))


@api.route("/v1/applications/{application_id}/timeline", summary="办理进度（每一步的时间、操作人角色、变化与说明）",
           roles=CASE_ACTORS, params=[REASON], response="Timeline", operation_id="getApplicationTimeline")
def application_timeline(call: Call, application_id: str) -> dict[str, Any]:
    events = apps.timeline(application_id, call.actor, call.params["reason"])
    return {"items": [present_event(e) for e in events]}


@api.route("/v1/applications/{application_id}/documents", "POST",
           summary="上传材料：返回直传 S3 的预签名表单（JPEG/PNG/PDF，≤10MB）", roles=CASE_ACTORS,
           body="chalicelib.bodies:DocumentIn", status=201, response="DocumentUpload")
def add_document(call: Call, application_id: str) -> dict[str, Any]:
    app, doc, upload = documents.add_document(application_id, call.actor, call.model())
    return {"document": present_document(doc), "upload": upload,
            "version": app.version}


@api.route("/v1/applications/{application_id}/documents/{document_id}",
           summary="材料详情与短时下载链接（工作人员查看记入审计）", roles=CASE_ACTORS, params=[REASON],
           response="DocumentLink")
def get_document(call: Call, application_id: str, document_id: str) -> dict[str, Any]:
    doc, link = documents.document_link(application_id, document_id, call.actor, call.params["reason"])
    return {"document": present_document(doc), "download": link}


@api.route("/v1/applications/{application_id}/consent", "POST",
           summary="家庭成员本人在线授权查询个人信息（个人信息查询授权）", roles=CITIZEN,
           body="chalicelib.bodies:ConsentIn", response="ConsentResult")
def give_consent(call: Call, application_id: str) -> dict[str, Any]:
    app = apps.give_consent(application_id, call.actor, call.model())
    person = hh.me(call.actor)
    member = next(m for m in app.members if m["person_key"] == person.person_key)
    return {"application_id": application_id, "member_id": member["member_id"],
            **app.consents[member["member_id"]]}


@api.route("/v1/applications/{application_id}/confirm", "POST",
           summary="确认工作人员代办的申请（本人在线确认，或工作人员登记签字确认书）", roles=CASE_ACTORS,
           body="chalicelib.bodies:ConfirmIn", response="Application")
def confirm_application(call: Call, application_id: str) -> dict[str, Any]:
    return present(intake.confirm_assisted(application_id, call.actor, call.model()))


@api.route("/v1/consent-text", summary="个人信息查询授权书（现行文本与版本）", response="ConsentText", operation_id="getConsentText")
def consent_text(call: Call) -> dict[str, Any]:
    cfg = hh.config()
    return {"version": cfg.consent_version, "title": cfg.consent_title, "text": cfg.consent_text}


@api.route("/v1/document-requirements", summary="各类申请需要提交的材料（本市设定）", response="DocumentRequirements", operation_id="getDocumentRequirements")
def document_requirements(call: Call) -> dict[str, Any]:
    cfg = hh.config()
    return {"kinds": [{"kind": k, "kind_name": KINDS.get(k, k),
                       "documents": [{"type": t, "type_name": cfg.document_types[t]} for t in types]}
                      for k, types in cfg.required_documents.items()],
            "document_types": [{"type": t, "type_name": n} for t, n in cfg.document_types.items()],
            "content_types": list(CONTENT_TYPES), "max_bytes": 10 * 1024 * 1024}


# --- staff -----------------------------------------------------------------------------------------
@api.route("/v1/staff/applications", summary="本市申请列表（按状态，先到先办；姓名已遮盖）", roles=CASE_STAFF,
           params=[STATUS, CURSOR, LIMIT], response="ApplicationPage", operation_id="staffListApplications")
def list_applications(call: Call) -> dict[str, Any]:
    page = apps.staff_list(call.params["status"], call.params["cursor"], call.params["limit"])
    return {"items": [summary(a) | {"main_applicant": idn.mask_name(a.main()["name"])} for a in page.items],
            "next_cursor": page.next_cursor}


@api.route("/v1/staff/applications/{application_id}/supplement", "POST",
           summary="要求补正：指定材料、说明与期限", roles=CASE_STAFF, body="chalicelib.bodies:SupplementIn",
           response="Application")
def request_supplement(call: Call, application_id: str) -> dict[str, Any]:
    return present(apps.request_supplement(application_id, call.actor, call.model()), access("staff"))

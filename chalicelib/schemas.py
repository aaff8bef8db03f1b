"""The response shapes the OpenAPI document shows, and the bodies' JSON Schema (bodies.py validates)."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.application_status import (RECOMMENDATIONS, ConsentStatus, DepartmentAnswer, DocumentStatus,
                                                   RunStatus)
from chalicelib.domain.application_status import Status as ApplicationStatus
from chalicelib.domain.billing_runs import BillingRunStatus, Trigger
from chalicelib.domain.bills import BillKind, BillStatus
from chalicelib.domain.eligibility import Result, Verdict
from chalicelib.domain.leases import LeaseStatus
from chalicelib.domain.facilities import FacilityType
from chalicelib.domain.policies import PolicyCategory, PolicyStatus
from chalicelib.domain.publicity import BatchStatus, EntryStatus, ObjectionStatus
from chalicelib.domain.real_name_status import ConflictStatus, RealNameStatus
from chalicelib.domain.round_status import RoundStatus
from chalicelib.domain.selection import SelectionPhase, SelectionStatus
from chalicelib.domain.units import Layout, UnitStatus
from chalicelib.lazy import resolve  # not from web: web imports this module (no cycle)


def json_schema(dotted: str) -> dict[str, Any]:
    schema = resolve(dotted).model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


def body_definitions(dotted_names: list[str]) -> dict[str, Any]:
    """Nested models a body refers to, hoisted into components."""
    out: dict[str, Any] = {}
    for dotted in dotted_names:
        schema = resolve(dotted).model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.get("$defs", {}))
    return out


#: Names whose values are instants (ISO 8601 with an offset) or calendar dates; the document says so
#: with ``format`` and tests/documented.py checks every answer the suite gets against it.
INSTANTS = frozenset({"at", "deadline", "period_end", "effective_from", "slot_start", "slot_end"})


def _formatted(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    types = schema.get("type")
    if "format" in schema or "pattern" in schema or (types != "string" and (not isinstance(types, list) or "string" not in types)):
        return schema
    if name in INSTANTS or name.endswith("_at"):
        return {**schema, "format": "date-time"}
    if name.endswith("_date"):
        return {**schema, "format": "date"}
    return schema


def _obj(props: dict[str, Any], required: list[str] | None = None, *,
         optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object whose fields are all present unless named ``optional`` (a nullable field is present, as
    null): an SDK generated from the document then has non-optional fields (docs/decisions/0024)."""
    props = {name: _formatted(name, schema) for name, schema in props.items()}
    out: dict[str, Any] = {"type": "object", "properties": props}
    names = required if required is not None else [name for name in props if name not in optional]
    if names:
        out["required"] = names
    return out


def _maybe(props: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """An object that may be null (absent as a whole, never in part)."""
    return {**_obj(props, **kw), "type": ["object", "null"]}


def _enum(cls: Any, *, nullable: bool = False, **extra: Any) -> dict[str, Any]:
    """A status (or any closed set of values) as the enum the domain declares (or the values given).
    Nullable as ``anyOf`` [enum, null]: a generator then makes one enum class (a type list made three)."""
    values: list[Any] = [getattr(member, "value", member) for member in cls]
    if nullable:
        return {"anyOf": [{"type": "string", "enum": values}, {"type": "null"}], **extra}
    return {"type": "string", "enum": values, **extra}


S, INT, N, B = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
NS = {"type": ["string", "null"]}

#: The error a batch item carries when it failed (the envelope's inner object, as the error table answers).
ITEM_ERROR = _obj({"code": S, "message": S, "field": S, "detail": S, "request_id": S},
                  optional=("field", "detail", "request_id"))


def _page(item: str) -> dict[str, Any]:
    return _obj({"items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
                 "next_cursor": NS}, ["items"])


RESPONSE_SCHEMAS: dict[str, Any] = {
    "Health": _obj({"status": S, "city": S}),
    "Street": _obj({"street_id": S, "name": S, "units_total": INT, "units_vacant": INT}),
    "Area": _obj({"area_id": S, "name": S, "district": NS, "units_total": INT, "units_vacant": INT,
                  "streets": {"type": "array", "items": {"$ref": "#/components/schemas/Street"}}}),
    "AreaList": _obj({"items": {"type": "array", "items": {"$ref": "#/components/schemas/Area"}}}),
    "UnitMix": {"type": "object", "additionalProperties": _obj({"layout_name": S, "total": INT, "vacant": INT})},
    "Manager": _obj({"company": S, "contact": NS, "phone": S, "office": NS, "hours": NS}),
    "Nearby": _obj({"facility_id": S, "type": _enum(FacilityType), "type_name": S, "name": S, "distance_m": INT}),
    "Building": _obj({"building_id": S, "name": S, "floors": INT, "elevator": B}),
    "Estate": _obj({
        "estate_id": S, "name": S, "area_id": S, "street_id": S, "address": S, "lat": N, "lng": N,
        "description": NS, "manager": {"anyOf": [{"$ref": "#/components/schemas/Manager"}, {"type": "null"}]},
        "buildings": {"type": "array", "items": {"$ref": "#/components/schemas/Building"}},
        "unit_mix": {"$ref": "#/components/schemas/UnitMix"}, "units_total": INT, "units_vacant": INT,
        "nearby": {"type": "array", "items": {"$ref": "#/components/schemas/Nearby"}},
        "photos": {"type": "array", "items": S}, "version": INT, "updated_at": S,
    }),
    "EstatePage": _page("Estate"),
    "Unit": _obj({
        "unit_id": S, "estate_id": S, "building_id": S, "area_id": S, "street_id": S, "number": S,
        "layout": _enum(Layout), "layout_name": S, "floor_area": N, "floor": INT,
        "rent": {**INT, "description": "分/月"}, "status": _enum(UnitStatus), "status_name": S, "orientation": NS, "photos": {"type": "array", "items": S},
        "version": INT, "updated_at": S,
    }),
    "UnitPage": _page("Unit"),
    "StatusChange": _obj({"at": S, "from_status": _enum(UnitStatus, nullable=True), "to_status": _enum(UnitStatus), "actor_role": S, "reason": NS}),
    "StatusChangePage": _page("StatusChange"),
    "EstatePin": _obj({"estate_id": S, "name": S, "area_id": S, "street_id": S, "address": S, "lat": N,
                       "lng": N, "units_total": INT, "units_vacant": INT}),
    "MapEstates": _obj({"items": {"type": "array", "items": {"$ref": "#/components/schemas/EstatePin"}},
                        "truncated": B}),
    "Facility": _obj({"facility_id": S, "type": _enum(FacilityType), "type_name": S, "name": S, "lat": N, "lng": N,
                      "address": NS, "version": INT}),
    "NearFacility": _obj({"facility_id": S, "type": _enum(FacilityType), "type_name": S, "name": S, "lat": N, "lng": N,
                          "address": NS, "distance_m": INT}),
    "MapFacilities": _obj({"items": {"type": "array", "items": {"$ref": "#/components/schemas/NearFacility"}}}),
    "Policy": _obj({
        "policy_id": S, "title": S, "summary": NS, "body": S, "category": _enum(PolicyCategory), "category_name": S,
        "issuer": NS, "doc_number": NS, "attachments": {"type": "array", "items": _obj({"name": S, "url": S})},
        "status": _enum(PolicyStatus), "published_at": NS, "version": INT, "updated_at": S,
    }, optional=("body",)),  # the list leaves the body out
    "PolicyPage": _page("Policy"),
    "SelfAssessmentQuestions": _obj({
        "rules_version": S, "policy": S, "kinds": {"type": "array", "items": S},
        "questions": {"type": "array", "items": _obj({
            "id": S, "label": S, "type": {"type": "string", "enum": ["integer", "boolean", "money", "area"]},
            "unit": NS, "min": {"type": ["number", "null"]}, "max": {"type": ["number", "null"]}})},
    }),
    "SelfAssessmentAnswers": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "kind": {"type": "string", "enum": ["individual", "graduate"], "default": "individual"},
            "answers": {"type": "object", "description": "问卷 id -> 回答（money 为分，area 为平方米）；可留空的项判为无法判断",
                        "additionalProperties": {"type": ["integer", "number", "boolean", "null"]}},
        },
    },
    "SelfAssessment": _obj({
        "rules_version": S, "policy": S, "verdict": _enum(Verdict),
        "verdict_name": S, "priority_points": INT, "next_steps": {"type": "array", "items": S},
        "priority_groups": {"type": "array", "items": _obj({"id": S, "title": S, "points": INT})},
        "rules": {"type": "array", "items": _obj({
            "rule_id": S, "title": S, "result": _enum(Result),
            "result_name": S, "explanation": S, "clause": S,
            "sources": {"type": "object", "additionalProperties": S}})},
    }),
}


# --- applying ------------------------------------------------------------------------------------
def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return _obj({"items": {"type": "array", "items": item}}, ["items"])


OBJ = {"type": "object"}
BN = {"type": ["boolean", "null"]}
#: A declared answer (问卷 id -> 回答), and a fact the rules read: a number, a yes/no, or unknown.
ANSWER = {"type": ["integer", "number", "boolean", "null"]}
_EVENT = _obj({"at": S, "type": S, "actor_role": S, "actor_role_name": S, "from_status": NS, "to_status": NS,
               "note": NS, "changes": {
                   "type": ["object", "null"], "description": "本步改变了什么（随 type 而不同，如 document_id、batch_id、reason_code）",
                   "additionalProperties": {"type": ["string", "integer", "boolean", "array", "null"], "items": S}},
               "by_delegate": B})
_DOC = _obj({"document_id": S, "type": S, "type_name": S, "content_type": S, "member_id": NS,
             "status": _enum(DocumentStatus), "reason": NS,
             "size": {"type": ["integer", "null"]}, "uploaded_as": S, "created_at": S, "checked_at": NS})
_GRANT = _obj({"grant_id": S, "delegate_name": NS, "grantor_name": NS, "scopes": {"type": "array", "items": S},
               "expires_at": S, "revoked_at": NS, "created_at": S,
               "status": {"type": "string", "enum": ["active", "expired", "revoked"]}},
              optional=("delegate_name",))  # a delegate does not see the name the grantor gave them
RESPONSE_SCHEMAS.update({
    "Person": _obj({"kind": S, "name": S, "id_number": NS, "mobile": NS, "credit_code": NS, "household_id": NS,
                    "registered_at": S, "version": INT, "real_name": {
                        **_maybe({"status": _enum(RealNameStatus), "check_id": NS, "verified_by": NS,
                                  "verified_at": NS,
                                  "face": {"type": ["object", "null"], "description": "交给核验方人脸 SDK 的参数",
                                           "additionalProperties": S}},
                                 optional=("check_id", "verified_by", "verified_at", "face")),
                        "description": "实名核验（单位账号为 null）"}}),
    "Member": _obj({"member_id": S, "relation": S, "relation_name": S, "name": S, "id_number": S,
                    "birth_date": NS, "sex": S, "age": INT, "adult": B, "hukou": S,
                    "monthly_income": {"type": ["integer", "null"]}, "disability": B, "veteran": B,
                    "subsistence_allowance": B, "serious_illness": B, "model_worker": B, "frontline_worker": B}),
    "Household": _obj({"household_id": S, "members": {"type": "array", "items": _ref("Member")}, "claimed": B,
                       "created_at": S, "updated_at": S, "version": INT}),
    "ApplicationSummary": _obj({"application_id": S, "kind": S, "status": _enum(ApplicationStatus), "status_name": S, "members": INT,
                                "submitted_at": NS, "created_at": S, "updated_at": S, "assisted": B,
                                "group_id": NS, "version": INT, "main_applicant": S},
                               optional=("main_applicant",)),  # staff lists only
    "ApplicationPage": _page("ApplicationSummary"),
    "Document": _DOC,
    "Application": _obj({
        "application_id": S, "kind": S, "kind_name": S, "status": _enum(ApplicationStatus), "status_name": S,
        "members": {"type": "array", "items": _ref("Member")}, "contact_mobile": NS,
        "documents": {"type": "array", "items": _ref("Document")},
        "required_documents": {"type": "array", "items": _obj({"type": S, "type_name": S, "accepted": B})},
        "consents": {"type": "array", "items": _obj({"member_id": S, "status": _enum(ConsentStatus), "name": NS, "method": NS,
                                                      "at": NS, "text_version": NS})},
        "supplement": {**_maybe({"documents": {"type": "array", "items": S}, "note": S, "deadline": S, "requested_at": S,
                                 "reminded_at": NS, "answered_at": NS}), "description": "待补正的材料（补正中或已补正）"},
        "assisted": {**_maybe({"at": S, "note": NS, "confirmed_at": NS,
                               "confirmation": _enum(("app", "paper"), nullable=True),
                               "document_id": NS}, optional=("document_id",)),  # the signed paper, once confirmed
                     "description": "代办：工作人员代为申请（申请人确认前 confirmed_at 为 null）"},
        "group_id": NS, "employer": _maybe({"name": NS}),
        "declared": {"type": "object", "description": "申报信息：问卷 id -> 回答（money 为分，area 为平方米）",
                     "additionalProperties": ANSWER},
        "rules_version": NS, "submitted_at": NS, "created_at": S, "updated_at": S, "version": INT, "as": NS}),
    "Event": _EVENT,
    "Timeline": _list(_ref("Event")),
    "DocumentUpload": _obj({"document": _ref("Document"), "version": INT, "upload": _obj(
        {"url": S, "fields": {"type": "object", "additionalProperties": S}, "max_bytes": INT, "expires_at": S})}),
    "DocumentLink": _obj({"document": _ref("Document"),
                          "download": _maybe({"url": S, "expires_at": S})}),
    "ConsentResult": _obj({"application_id": S, "member_id": S, "status": _enum(ConsentStatus), "method": S, "at": S,
                           "text_version": S}),
    "ConsentText": _obj({"version": S, "title": S, "text": S}),
    "ConsentList": _list(_obj({"application_id": S, "member_id": S, "status": _enum(ConsentStatus), "method": NS,
                               "text_version": NS, "given_at": NS, "requested_at": S})),
    "DocumentRequirements": _obj({"kinds": {"type": "array", "items": _obj({
                                      "kind": S, "kind_name": S,
                                      "documents": {"type": "array", "items": _obj({"type": S, "type_name": S})}})},
                                  "document_types": {"type": "array", "items": _obj({"type": S, "type_name": S})},
                                  "content_types": {"type": "array", "items": S}, "max_bytes": INT}),
    "Grant": _GRANT,
    "GrantList": _list(_ref("Grant")),
    "GrantActivity": _list(_EVENT),
    "AuditTrail": _list(_obj({"target": S, "at": {
        **S, "pattern": "^\\d{4}-\\d{2}-\\d{2}T[^#]+#aud_\\w+$",
        "description": "时间#记录编号（记录的唯一排序键；digest 按此值计算，故原样返回）",
        "examples": ["2026-03-02T09:30:00.000+08:00#aud_5d1c0b2e"]}, "actor": S, "actor_role": S, "action": S, "reason": NS,
                              "day": S, "digest": S})),
})


# --- group rental (团租) -------------------------------------------------------------------------
_TYPE = _obj({"type": S, "type_name": S})
RESPONSE_SCHEMAS.update({
    "Group": _obj({"group_id": S, "name": S, "note": NS, "employer_name": S, "credit_code": S, "created_at": S,
                   "updated_at": S, "version": INT}),
    "GroupPage": _page("Group"),
    "GroupEmployee": _obj({
        "application_id": S, "name": S, "id_number": S, "status": _enum(ApplicationStatus), "status_name": S,
        "consent": _obj({"status": _enum(ConsentStatus), "status_name": S, "method": NS, "at": NS}),
        "documents": _obj({"required": INT, "accepted": INT, "checking": INT, "rejected": INT,
                           "missing": {"type": "array", "items": _TYPE}}),
        "supplement": _maybe({
            "documents": {"type": "array", "items": _obj({"type": S, "type_name": S, "uploaded": B})},
            "note": S, "deadline": S, "requested_at": S}),
        "submitted_at": NS, "created_at": S, "updated_at": S, "version": INT}),
    "GroupEmployeePage": _page("GroupEmployee"),
    "GroupImport": _obj({
        "rows": INT,
        "created": {"type": "array", "items": _obj({"row": INT, "application_id": S, "name": S, "id_number": S})},
        "errors": {"type": "array", "items": _obj({"row": INT, "field": NS, "code": S, "message": S, "detail": NS},
                                                  ["row", "code", "message"])},
        "ignored_columns": {"type": "array", "items": S}}, ["rows", "created", "errors"]),
})


# --- eligibility rules versions --------------------------------------------------------------------
_RULE = _obj({"rule_id": S, "title": S, "clause": S, "applies_to": {"type": "array", "items": S}, "passed_means": S})
RESPONSE_SCHEMAS.update({
    "RulesVersionIn": _obj({
        "version": {"type": "string", "maxLength": 32}, "effective_from": {"type": "string", "format": "date-time"},
        "policy": S, "params": {"type": "object", "additionalProperties": N},
        "rules": {"oneOf": [{"type": "string", "description": "@rule_set of the city file"},
                            {"type": "array", "items": OBJ}]}}, ["version", "effective_from", "rules"]),
    "RulesVersion": _obj({"version": S, "effective_from": S, "policy": S,
                          "params": {"type": "object", "additionalProperties": N},
                          "rules": {"type": "array", "items": _RULE}}),
    "RulesVersionList": _list(_obj({
        "version": S, "effective_from": S, "policy": S, "params": {"type": "object", "additionalProperties": N},
        "rules": {"type": "array", "items": S},
        "source": {"type": "string", "enum": ["shipped", "published"]},
        "state": {"type": "string", "enum": ["in_force", "scheduled", "superseded"]},
        "published_at": NS, "published_by": NS})),
})


# --- review --------------------------------------------------------------------------------------
#: A fact as a department answered it (chalicelib/departments/contract.py FACTS): a value, or a list of
#: records (homes, vehicles, companies) of named values.
_DEPARTMENT_FACT = {"type": ["boolean", "string", "integer", "number", "array", "null"],
                    "items": {"type": "object", "additionalProperties": {"type": ["string", "integer", "number"]}}}
_VERIFICATION = _obj({
    "run_id": NS, "execution_name": NS, "status": _enum(RunStatus, nullable=True), "error": NS, "recommendation": NS,
    "recommendation_name": NS, "verdict": NS, "rules_version": NS, "policy": NS,
    "outcomes": {"type": "array", "items": _obj({
        "rule_id": S, "title": S, "result": _enum(Result), "explanation": S, "clause": S,
        "sources": {"type": "object", "description": "事实 -> 来源（declared 为申报，否则为部门）", "additionalProperties": S}})},
    "priority_points": {"type": ["integer", "null"]},
    "priority_groups": {"type": "array", "items": _obj({"id": S, "title": S, "points": INT})},
    "flags": {"type": "array", "items": _obj({
        "fact": {**NS, "description": "需核对的申报事实（部门无法核查时为 null）"}, "declared": ANSWER, "found": ANSWER,
        "department": S, "members": {"type": "array", "items": S},
        "reason": _enum(("unconfirmed", "identity_invalid", "unavailable", "no_record", "contradicted")),
        "note": S}, optional=("declared", "found", "members"))},  # a department that could not answer: no fact
    "departments": {"type": "array", "items": _obj({
        "department": S, "department_name": S, "status": _enum(DepartmentAnswer),
        "error": S, "answered_at": S,
        "persons": {"type": "array", "items": _obj({
            "member_id": S, "found": B,
            "facts": {"type": "object", "description": "事实 -> 部门答复的值（无记录为空）", "additionalProperties": _DEPARTMENT_FACT}})},
        "no_record": _obj({"means": _enum(("answer", "unconfirmed", "unknown")), "means_name": S,
                           "members": {"type": "array", "items": S}})},
        optional=("error", "answered_at", "persons", "no_record"))},  # unavailable: error; answered: the rest
    "override": _maybe({"recommendation": _enum(RECOMMENDATIONS), "from": _enum(RECOMMENDATIONS, nullable=True),
                        "reason": S, "by": S, "at": S}),
    "started_at": NS, "decided_at": NS, "failed_at": NS,
    "history": {"type": "array", "description": "此前各次联合审查", "items": _obj({
        "run_id": S, "status": _enum(RunStatus, nullable=True), "recommendation": NS, "error": NS})}})
RESPONSE_SCHEMAS.update({
    "ReviewItem": _obj({"application_id": S, "kind": S, "status": _enum(ApplicationStatus), "status_name": S, "members": INT,
                        "submitted_at": NS, "main_applicant": S, "street_id": NS, "recommendation": NS,
                        "flags": INT, "priority_points": {"type": ["integer", "null"]}, "decided_at": NS,
                        "version": INT}),
    "ReviewQueue": _page("ReviewItem"),
    "ReviewPage": {"allOf": [_ref("Application"), _obj({
        "verification": _VERIFICATION,
        "reject_reasons": {"type": "array", "items": _obj({"code": S, "name": S})}})]},
    "BulkApproveResult": _list(_obj({"application_id": S, "ok": B, "status": _enum(ApplicationStatus), "version": INT,
                                     "status_code": INT, "error": ITEM_ERROR},
                                     optional=("status", "version", "status_code", "error"))),
})


# --- publicity (公示), objections (异议), waiting list (轮候) --------------------------------------------
_BATCH = {"batch_id": S, "title": NS, "status": _enum(BatchStatus), "status_name": S, "starts_at": S, "ends_at": S,
          "days": {"type": ["integer", "null"]}, "size": INT, "in_period": B}
_PUBLIC_ENTRY = {"entry_id": S, "main_applicant": {**S, "description": "已遮盖，如 张*明"},
                 "id_number": {**S, "description": "已遮盖，如 4407**********1234"}, "household_size": INT,
                 "kind": S, "kind_name": S, "street_id": NS, "street_name": NS}
_OBJECTION = {"objection_id": S, "batch_id": S, "entry_id": S, "application_id": S, "reason": S, "filer_role": S,
              "contact": NS, "status": _enum(ObjectionStatus), "status_name": S,
              "decision_reason": NS, "resolved_at": NS, "created_at": S, "version": INT}
RESPONSE_SCHEMAS.update({
    "PublicityBatchSummary": _obj(_BATCH),
    "PublicityList": _list(_ref("PublicityBatchSummary")),
    "PublicEntry": _obj(_PUBLIC_ENTRY),
    "PublicityBatch": _obj({**_BATCH, "items": {"type": "array", "items": _ref("PublicEntry")}}),
    "ObjectionFiled": _obj({"objection_id": S, "batch_id": S, "entry_id": S, "status": _enum(ObjectionStatus), "status_name": S,
                            "created_at": S}),
    "Objection": _obj(_OBJECTION),
    "ObjectionPage": _page("Objection"),
    "PublishResult": _obj({"batch": _obj({**_BATCH, "version": INT}), "items": {"type": "array", "items": _obj({
        "application_id": S, "ok": B, "entry_id": S, "status": _enum(ApplicationStatus), "status_code": INT,
        "error": ITEM_ERROR}, optional=("entry_id", "status", "status_code", "error"))}}),
    "StaffPublicity": _obj({**_BATCH, "version": INT, "demo": B, "closed_at": NS, "items": {"type": "array", "items": _obj({
        **_PUBLIC_ENTRY, "application_id": S, "status": _enum(EntryStatus), "status_name": S, "objections_open": INT,
        "objections_upheld": INT, "objections_total": INT, "settled_at": NS, "application": _obj({
            "status": _enum(ApplicationStatus), "status_name": S, "main_applicant": S, "id_number": S,
            "members": INT,
            "priority_points": {"type": ["integer", "null"]}, "version": INT})}, optional=("application",))},
        "objections": {"type": "array", "items": _ref("Objection")}}),
    "PublicityClosed": _obj({"batch": _obj({**_BATCH, "version": INT}),
                             "counts": {"type": "object", "additionalProperties": INT}}),
    "WaitingList": _list(_obj({"application_id": S, "queue": S, "kind_name": S, "position": INT, "ahead": INT,
                               "priority_points": INT, "household_size": INT, "batch_id": S, "period_end": S,
                               "qualified_at": S})),
})


# --- lottery rounds (摇号): docs/decisions/0014 -------------------------------------------------------
_ROUND = {
    "round_id": S, "title": S, "status": _enum(RoundStatus),
    "status_name": S, "registration_opens_at": S, "registration_closes_at": S, "registration_open": B,
    "units": INT, "layout_mix": {"type": "object", "additionalProperties": _obj({"layout_name": S, "units": INT})},
    "layouts_by_size": {"type": "object", "additionalProperties": {"type": "array", "items": S},
                        "description": "家庭人数（\"5+\" 表示 5 人及以上）-> 可选户型"},
    "priority_groups": {"type": "array", "items": _obj({"id": S, "name": S})},
    "randomness_source": S, "slot_minutes": INT, "slot_size": INT, "registrants": INT,
    "commitment_sha256": {**NS, "description": "承诺文件（commitment.json）的 SHA-256"}, "committed_at": NS,
    "public_value": NS, "result_sha256": NS, "drawn_at": NS, "published_at": NS, "created_at": S, "updated_at": S,
    "version": INT,
}
RESPONSE_SCHEMAS.update({
    "Round": _obj(_ROUND),
    "RoundPage": _page("Round"),
    "AdminRound": _obj({**_ROUND, "unit_ids": {"type": "array", "items": S}, "close_reason": NS, "closed_at": NS,
                        "cancel_reason": NS}),
    "PublishedRound": _obj({"round": _ref("AdminRound"), "notified": INT}),
    "Registration": _obj({"round_id": S, "registration_no": S, "application_id": S, "priority_group": S,
                          "priority_group_name": S, "household_size": INT, "allowed_layouts": {"type": "array", "items": S},
                          "allowed_layout_names": {"type": "array", "items": S},
                          "rank": {"type": ["integer", "null"], "description": "摇号后的排序号"},
                          "round_status": _enum(RoundStatus), "round_status_name": S, "registered_at": S}),
    "RankEntry": _obj({"rank": INT, "registration_no": S, "priority_group": S, "priority_group_name": S,
                       "main_applicant": {**S, "description": "已遮盖，如 张*明"},
                       "id_number": {**S, "description": "已遮盖，如 4407**********1234"}, "household_size": INT}),
    "RankPage": _obj({"round_id": S, "title": S, "items": {"type": "array", "items": _ref("RankEntry")},
                      "next_cursor": NS}, ["items"]),
})


# --- online unit selection (选房) and leases (租赁合同) ----------------------------------------------
_SEL_UNIT = {"unit_id": S, "estate_id": S, "building_id": S, "number": S, "layout": S, "layout_name": S,
             "floor_area": N, "floor": INT, "rent": {**INT, "description": "分/月"}}
_MY_SELECTION = {
    "round_id": S, "rank": INT, "registration_no": S, "application_id": S, "household_size": INT,
    "allowed_layouts": {"type": "array", "items": S},
    "status": _enum(SelectionStatus), "status_name": S,
    "slot": {"type": ["integer", "null"]}, "slot_start": NS, "slot_end": NS, "reinvited": B, "unit_id": NS,
    "lease_id": NS, "chosen_at": NS, "confirmed_at": NS}
RESPONSE_SCHEMAS.update({
    "SelectionMeta": _obj({"round_id": S, "phase": _enum(SelectionPhase), "starts_at": S, "slots": INT, "slot_minutes": INT,
                           "slot_size": INT, "first_ends_at": S}),
    "SelectionAdvance": _obj({"round_id": S, "passed": INT, "reinvited": INT, "finished": B, "units_free": INT}),
    "SelectionUnit": _obj(_SEL_UNIT),
    "Availability": _obj({"round_id": S, "units_total": INT, "units_free": INT,
                          "by_layout": {"type": "array", "items": _obj({"layout": S, "layout_name": S, "free": INT})},
                          "items": {"type": "array", "items": _ref("SelectionUnit")}}),
    "MySelection": _obj({**_MY_SELECTION, "units": {"type": "array", "items": _ref("SelectionUnit")}}),
    "Lease": _obj({
        "lease_id": S, "round_id": S, "application_id": S, "status": _enum(LeaseStatus),
        "status_name": S, "tenant_name": S, "tenant_id_masked": S, "household_size": INT,
        "unit": _obj({"unit_id": S, "building_id": S, "building_name": S, "number": S, "layout": S,
                      "layout_name": S, "floor_area": N}),
        "estate": _obj({"estate_id": S, "name": S, "address": S}),
        "manager": _maybe({"company": S, "contact": NS, "phone": S}),
        "landlord": S, "base_rent": {**INT, "description": "分/月"}, "monthly_rent": {**INT, "description": "分/月"},
        "reduction": _maybe({"key": S, "percent": INT, "note": S}),
        "deposit": {**INT, "description": "分"}, "term_months": INT, "start_date": S, "end_date": S,
        "clauses": {"type": "array", "items": S}, "confirmed_at": NS, "confirmed_device": NS, "has_contract": B,
        "created_at": S, "version": INT, "renews": NS, "renewed_by": NS}),  # 续签：原合同 / 续签后的新合同
    "LeaseList": _list(_ref("Lease")),
    "Choice": _obj({"selection": _obj(_MY_SELECTION), "lease": _ref("Lease")}),
    "ContractLink": _obj({"lease_id": S, "content_type": S, "download": _obj({"url": S, "expires_at": S})}),
})

#: One side of an identity conflict as its registration stood when the conflict opened.
_SIDE = {"subject": S, "name": S, "mobile": NS, "verified_by": NS, "verified_at": NS, "registered_at": S,
         "household_id": NS}
RESPONSE_SCHEMAS.update({
    "IdentityConflict": _obj({
        "conflict_id": S, "status": _enum(ConflictStatus), "opened_at": S,
        "id_number": {**S, "description": "已遮盖"}, "holder": S, "claimant": S,
        "evidence": {**_obj({"holder": {**_maybe(_SIDE), "description": "持有该身份证号的账号（已不存在时为 null）"},
                             "claimant": _obj({**_SIDE, "verified_by": S, "verified_at": S, "check_id": NS})}),
                     "description": "双方的登记与核验情况（手机号已遮盖）"},
        "resolution": _maybe({"winner": S, "reason": S, "by": S, "at": S})},
        ["conflict_id", "status", "opened_at", "id_number", "holder", "claimant", "evidence"]),
    "IdentityConflictPage": _page("IdentityConflict"),
})


# --- the files a round publishes, and the document itself ---------------------------------------------
RESPONSE_SCHEMAS.update({
    "RoundCommitment": _obj({
        "format": S, "round_id": S, "title": S, "algorithm": S, "groups": {"type": "array", "items": S},
        "randomness_source": S, "committed_at": S,
        "registrants": {"type": "array", "items": _obj(
            {"registration_no": S, "priority_group": S, "masked_name": S, "masked_id": S})}}),
    "RoundResult": _obj({
        "format": S, "round_id": S, "algorithm": S, "commitment_sha256": S, "public_value": S, "seed": S,
        "ranks": {"type": "array", "items": _obj({"rank": INT, "registration_no": S, "priority_group": S})}}),
    "OpenApiDocument": _obj({"openapi": S, "info": _obj({"title": S, "version": S, "description": S}),
                             "servers": {"type": "array", "items": _obj({"url": S})},
                             "paths": {"type": "object", "additionalProperties": _ref("OpenApiPathItem")},
                             "components": _ref("OpenApiComponents")}),
})


# --- rent (租金): bills (账单) and billing runs (docs/decisions/0027); amounts in fen, yuan to show ------
FEN, DATEN, MONTH = INT, {**NS, "format": "date"}, {"pattern": r"^\d{4}-\d{2}$", "examples": ["2027-01"]}
YUAN = {**S, "pattern": r"^\d+\.\d{2}$", "examples": ["300.00"]}
_COUNTS = dict.fromkeys(("leases_seen", "bills_created", "already_existing", "skipped", "skipped_not_active",
                         "skipped_exempt", "failed"), INT)
_RUN = {"run_id": S, "month": {**S, **MONTH}, "trigger": _enum(Trigger), "status": _enum(BillingRunStatus),
        "status_name": S, "started_by": NS, "started_at": S, "finished_at": NS, "reason": NS, "shards": INT,
        "shards_done": INT, "shards_failed": INT, **_COUNTS}
_SHARD = _obj({"shard": S, "pages": INT, "done": B, "failed_reason": NS, **_COUNTS})
RESPONSE_SCHEMAS.update({
    "Bill": _obj({
        "bill_id": S, "lease_id": S, "kind": _enum(BillKind), "kind_name": S, "month": {**NS, **MONTH},
        "period_start": DATEN, "period_end": DATEN, "base_amount": FEN, "amount": FEN, "amount_yuan": YUAN,
        "due_date": S, "overdue": B, "status": _enum(BillStatus), "status_name": S, "estate_id": S, "unit_id": S,
        "unit_label": S, "reduction": _maybe({"key": S, "percent": INT, "note": S, "amount": FEN, "amount_yuan": YUAN}),
        "proration": _maybe({"days": INT, "days_in_month": INT}), "payment_id": NS, "paid_at": NS, "created_at": S,
        "version": INT}),
    "BillPage": _page("Bill"), "BillingRunSummary": _obj(_RUN), "BillingRunPage": _page("BillingRunSummary"),
    "BillingRun": _obj({**_RUN, "failures": {"type": "array", "items": _obj({"shard": S, "lease_id": NS, "reason": S})},
                        "shard_progress": {"type": "array", "items": _SHARD}}),
})

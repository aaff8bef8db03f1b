"""The response shapes of the annual review (年审), issue 12 §1 (docs/decisions/0031), beside
schemas.py and built with its helpers; openapi.document() adds them to the document's components.
Named ``AnnualReview...``: ``Review...`` are the application review's (审核) shapes."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.application_status import DocumentStatus, RunStatus
from chalicelib.domain.publicity import ObjectionStatus
from chalicelib.domain.eligibility import ON_FAIL, Result
from chalicelib.domain.reviews import Outcome, ReviewKind, ReviewStatus
from chalicelib.schemas import _VERIFICATION, ANSWER, INT, NS, B, S, _enum, _maybe, _obj, _ref

FEN = {**INT, "description": "分"}
MONTH = {"type": "string", "pattern": "^\\d{4}-(0[1-9]|1[0-2])$", "examples": ["2027-05"]}
DAY = {"type": "string", "format": "date"}
_SOURCE = _obj({"source": {**S, "description": "来源：部门（如 real_estate）、arrears（租金台账）、declared（本人申报）"},
                "source_name": S})
_RULE = _obj({"rule_id": S, "title": S, "result": _enum(Result), "explanation": S, "clause": S,
              "on_fail": _enum(ON_FAIL, description="不符合时的结果：提高租金或腾退"),
              "sources": {"type": "object", "description": "事实 -> 来源", "additionalProperties": _SOURCE}})
_FLAGS = _VERIFICATION["properties"]["flags"]
_DEPARTMENTS = _VERIFICATION["properties"]["departments"]
_RENT = _maybe({"monthly_rent": {**FEN, "description": "调整后的月租金（分）"},
                "from_month": {**MONTH, "description": "自该月账单起执行"}, "basis": S,
                "percent_over": {"type": "number", "description": "超出继续承租标准的百分比"}})
_RECOMMENDATION = _maybe({
    "outcome": _enum(Outcome), "outcome_name": S, "rules_version": S, "policy": S,
    "rules": {"type": "array", "items": _RULE}, "flags": _FLAGS,
    "reasons": {"type": "array", "items": S, "description": "结果的理由（不符合的规则，或需人工核对的事项）"},
    "clean": {**B, "description": "核查无异常的“继续承租”：可一键批量确认"}, "made_at": S,
    "rent": {**_RENT, "description": "提高租金（仅 higher_rent）"},
    "leave_by": {**DAY, "type": ["string", "null"], "description": "腾退期限（仅 must_leave）"},
    "grace_days": {"type": ["integer", "null"]},
    "decided_otherwise": _maybe({"recommended": _enum(Outcome), "reason": S})})
_MEMBER = _ref("Member")

REVIEW_SCHEMAS: dict[str, Any] = {
    "AnnualReview": _obj({
        "review_id": S, "campaign_id": S, "lease_id": S, "kind": _enum(ReviewKind), "status": _enum(ReviewStatus),
        "status_name": S, "deadline": {**DAY, "description": "申报截止日（北京时间）"}, "deadline_passed": B,
        "unit_label": S, "estate_id": S, "as": _enum(("tenant", "delegate", "staff")),
        "household": _obj({
            "members": {"type": "array", "items": _MEMBER, "description": "住建部门掌握的家庭成员（家庭档案）"},
            "facts": {"type": "array", "description": "最近一次核查的结果（条件事实及来源）", "items": _obj({
                "fact": S, "label": S, "value": ANSWER, "source": S, "source_name": S})},
            "verified_at": NS}),
        "ways": {"type": "array", "description": "两种申报方式", "items": _obj({
            "change": _enum(("none", "changed")), "title": S, "description": S,
            "documents": {"type": "array", "items": _obj({"type": S, "type_name": S})}})},
        "answer": _maybe({"change": _enum(("none", "changed")), "role": _enum(("tenant", "delegate", "staff", "exempt")),
                          "answered_at": S, "declared": {"type": "object", "additionalProperties": ANSWER},
                          "note": NS, "members": {"type": "array", "items": _MEMBER}}),
        "consents": {"type": "array", "description": "成年家庭成员的授权（全部授权后开始核查）", "items": _obj({
            "member_id": S, "name": S, "given": B, "method": NS})},
        "consent_text_version": S,
        "documents": {"type": "array", "items": _obj({"document_id": S, "type": S, "type_name": S,
                                                      "status": _enum(DocumentStatus),
                                                      "reason": NS, "created_at": S})},
        "assisted": _maybe({"where": _enum(("counter", "home")), "at": S, "reason": NS}),
        "verification": _maybe({"run_id": NS, "status": _enum(RunStatus, nullable=True), "queued_at": NS,
                                "decided_at": NS, "error": NS, "exemption": NS, "flags": _FLAGS,
                                "departments": _DEPARTMENTS,
                                "arrears": _maybe({"months": INT, "amount": FEN, "since": NS})},
                               optional=("flags", "departments", "arrears")),  # staff only
        "recommendation": _RECOMMENDATION,
        "outcome": _enum(Outcome, nullable=True), "outcome_name": NS, "decided_at": NS,
        "objection": _maybe({"objection_id": S, "status": _enum(ObjectionStatus), "filed_at": S}),
        "created_at": S, "updated_at": S, "version": INT}),
    "AnnualReviewConsent": _obj({"review_id": S, "status": _enum(ReviewStatus), "status_name": S,
                                 "missing": {"type": ["integer", "null"], "description": "尚未授权的成年成员数（未申报时为 null）"},
                                 "version": INT}),
    "AnnualReviewDocumentUpload": _obj({
        "review_id": S, "document_id": S, "type": S, "status": _enum(DocumentStatus), "version": INT,
        "upload": _obj({"url": S, "fields": {"type": "object", "additionalProperties": S}, "max_bytes": INT,
                        "expires_at": S})}),
    "AnnualReviewBulkResult": _obj({
        "confirmed": INT, "review_ids": {"type": "array", "items": S},
        "left": {"type": "array", "description": "未确认的年审及原因代码（REVIEW_NOT_CONFIRMABLE：并非核查无异常的继续承租，请逐件确认；或确认时的冲突代码）", "items": _obj({"review_id": S, "code": S})}}),
}

"""The response shapes of personal data over time (PIPL, docs/decisions/0040): what the bureau holds
about me, a consent withdrawn, an account closed, the audit trail's verification; beside schemas.py
(at its size limit) and built with its helpers; openapi.document() adds them to the components."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.application_status import ConsentStatus
from chalicelib.schemas import INT, NS, S, B, _enum, _obj, _ref

_ARRAY = {"type": "array"}
_KEPT = _obj({"kind": _enum(("leases", "payments", "audit", "applications")), "name": S,
              "period": {**S, "description": "保存期限（中文）"}, "basis": S})
AUDIT_RECORD = _obj({
    "target": {**S, "description": "被查看的对象，如 application#app_…、lease#lse_…"},
    "at": {**S, "pattern": "^\\d{4}-\\d{2}-\\d{2}T[^#]+#aud_\\w+$", "examples": ["2026-03-02T09:30:00.000+08:00#aud_5d1c0b2e"],
           "description": "时间#记录编号"},
    "actor": {**S, "description": "查看人账号（system 为系统任务）"}, "actor_role": S, "action": S, "reason": NS,
    "day": {**S, "format": "date"}, "digest": S})

PRIVACY_SCHEMAS: dict[str, Any] = {
    "AuditRecord": AUDIT_RECORD,
    "MyData": _obj({
        "person": _ref("Person"),
        "household": {"anyOf": [_ref("Household"), {"type": "null"}]},
        "applications": {**_ARRAY, "items": _ref("Application")},
        "leases": {**_ARRAY, "items": _ref("Lease")},
        "payments": {**_ARRAY, "items": _ref("Payment")},
        "consents": {**_ARRAY, "items": _obj({"application_id": S, "member_id": S, "status": _enum(ConsentStatus),
                                              "method": NS, "text_version": NS, "given_at": NS, "requested_at": S})},
        "audit": {**_ARRAY, "items": _ref("AuditRecord"), "description": "谁在何时因何查看或处理了我的信息（最新在前）"},
        "truncated": {**_ARRAY, "items": _enum(("applications", "payments", "audit")),
                      "description": "超过上限（每类 export_max_items 条）而未全部列出的类别"},
        "kept": {**_ARRAY, "items": _KEPT, "description": "依法保存的信息及其保存期限"},
        "generated_at": S}),
    "ConsentWithdrawal": _obj({"application_id": S, "member_id": S, "status": _enum(ConsentStatus),
                               "application_status": S, "effect": {**S, "description": "撤回授权对该申请意味着什么"},
                               "version": INT}),
    "AccountClosure": _obj({"closed_at": S, "message": S, "kept": {**_ARRAY, "items": _KEPT}}),
    "AuditVerification": _obj({
        "from": {**S, "format": "date"}, "to": {**S, "format": "date"}, "ok": B,
        "days": {**_ARRAY, "items": _obj({
            "day": {**S, "format": "date"},
            "status": {**_enum(("sealed", "unsealed", "expired")),
                       "description": "sealed 已封存；unsealed 尚未封存（今天、昨天）；expired 记录已过保存期（仅核验封存链）"},
            "records": {"type": ["integer", "null"]}, "seal": NS})},
        "problems": {**_ARRAY, "items": _obj({
            "day": {**S, "format": "date"},
            "kind": _enum(("record_altered", "records_changed", "seal_altered", "chain_broken", "seal_missing")),
            "detail": S, "at": {**S, "pattern": "^\\d{4}-\\d{2}-\\d{2}T[^#]+#\\w+$", "description": "出问题的记录（时间#记录编号）",
                                                 "examples": ["2026-03-02T09:30:00.000+08:00#aud_5d1c0b2e"]}},
            optional=("at",))},
        "checked_at": S}),
}

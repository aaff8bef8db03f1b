"""The audit trail (审计): who read which personal data, when and why (docs/decisions/0009)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import lazy
from chalicelib.handlers.roles import OVERSIGHT
from chalicelib.web import Api, Call

audit = lazy.module("chalicelib.domain.audit")

bp = Blueprint(__name__)
api = Api(bp, "audit")


@api.route("/v1/audit/{target_kind}/{target_id}", summary="审计记录：谁在何时因何查看了个人信息",
           roles=OVERSIGHT, response="AuditTrail", operation_id="getAuditTrail")
def audit_trail(call: Call, target_kind: str, target_id: str) -> dict[str, Any]:
    return {"items": audit.trail(f"{target_kind}#{target_id}")}

"""The audit trail (审计): who read which personal data, when and why (docs/decisions/0009); its
verifier and the daily seal that makes it tamper-evident (docs/decisions/0040)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Cron

from chalicelib import lazy
from chalicelib.handlers.roles import OVERSIGHT
from chalicelib.identity import Role
from chalicelib.web import Api, Call, Param

audit = lazy.module("chalicelib.domain.audit")

bp = Blueprint(__name__)
api = Api(bp, "audit")

DAY = r"^\d{4}-\d{2}-\d{2}$"
VERIFIERS = (Role.AUDITOR.value, Role.ADMIN.value)


@api.route("/v1/audit/{target_kind}/{target_id}", summary="审计记录：谁在何时因何查看了个人信息",
           roles=OVERSIGHT, response="AuditTrail", operation_id="getAuditTrail")
def audit_trail(call: Call, target_kind: str, target_id: str) -> dict[str, Any]:
    return {"items": audit.trail(f"{target_kind}#{target_id}")}


@api.route("/v1/audit/verification", summary="核验审计记录是否被篡改（逐条摘要、每日封存与封存链）",
           roles=VERIFIERS, response="AuditVerification", operation_id="verifyAuditTrail",
           params=[Param("from", description="开始日期（YYYY-MM-DD，默认 6 天前）", pattern=DAY, max_length=10, label="开始日期"),
                   Param("to", description="结束日期（YYYY-MM-DD，默认今天；一次最多 31 天）", pattern=DAY, max_length=10,
                         label="结束日期")])
def verify_audit_trail(call: Call) -> dict[str, Any]:
    """Every record of the days against its digest, each day against its seal, the seals' chain."""
    return audit.verify_range(call.params["from"], call.params["to"])


@bp.schedule(Cron(30, 16, "*", "*", "?", "*"), name="seal_audit_trail")  # 00:30 China time
def seal_audit_trail(event: Any) -> dict[str, Any]:
    """Each day not yet sealed up to yesterday: its records' count and root, chained to the day before."""
    return audit.seal_due()

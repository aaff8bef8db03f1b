"""Real-name identity (实名): completing the check; identity conflicts for staff (docs/decisions/0016)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import lazy
from chalicelib.handlers.roles import CASE_STAFF, CITIZEN
from chalicelib.web import CURSOR, LIMIT, Api, Call, Param

hh = lazy.module("chalicelib.domain.households")
real_name = lazy.module("chalicelib.domain.real_name")

bp = Blueprint(__name__)
api = Api(bp, "real_name")
REASON = Param("reason", description="查看事由（记入审计）", max_length=200)


@api.route("/v1/me/real-name-check", "POST", summary="人脸核验完成后提交：服务端向核验方查询结果，通过则完成实名登记",
           roles=CITIZEN, body="chalicelib.bodies:RealNameCheckIn", response="Person", pending_ok=True, operation_id="completeRealNameCheck")
def complete_check(call: Call) -> dict[str, Any]:
    return hh.present_person(real_name.complete_check(call.actor, call.model()))


@api.route("/v1/staff/identity-conflicts", summary="身份争议：同一身份证号被两个已实名核验的账号登记（记入审计）",
           roles=CASE_STAFF, params=[REASON, CURSOR, LIMIT], response="IdentityConflictPage", operation_id="listIdentityConflicts")
def list_conflicts(call: Call) -> dict[str, Any]:
    page = real_name.conflicts(call.actor, call.params["reason"], call.params["cursor"], call.params["limit"])
    return {"items": [real_name.present_conflict(c) for c in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/staff/identity-conflicts/{conflict_id}/resolve", "POST", summary="处理身份争议：判定身份证号归属并写明理由（记入审计）",
           roles=CASE_STAFF, body="chalicelib.bodies:IdentityConflictResolveIn", response="IdentityConflict", operation_id="resolveIdentityConflict")
def resolve_conflict(call: Call, conflict_id: str) -> dict[str, Any]:
    return real_name.resolve(call.actor, conflict_id, call.model())

"""Personal data over time (PIPL, docs/decisions/0040): what the bureau holds about me (as JSON and as
a file to download), withdrawing a consent, closing an account; the daily retention job."""
from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint, Cron, Response

from chalicelib import errors, lazy
from chalicelib.handlers.roles import CITIZEN
from chalicelib.web import Api, Call

privacy = lazy.module("chalicelib.domain.privacy")
hh = lazy.module("chalicelib.domain.households")

bp = Blueprint(__name__)
api = Api(bp, "privacy")


def present(data: Any) -> dict[str, Any]:
    from chalicelib.handlers.applications import present as present_application
    from chalicelib.handlers.leases import present_lease
    from chalicelib.handlers.payments import present as present_payment

    return {
        "person": hh.present_person(data.person),
        "household": hh.present_household(data.household) if data.household else None,
        "applications": [present_application(a) for a in data.applications],
        "leases": [present_lease(x) for x in data.leases],
        "payments": [present_payment(p) for p in data.payments],
        "consents": data.consents,
        "audit": data.audit,
        "truncated": data.truncated,
        "kept": privacy.kept(),
        "generated_at": data.generated_at,
    }


@api.route("/v1/me/data", summary="我的个人信息：本局保存的关于我的全部信息（登记、家庭、申请、合同、缴费、授权，及谁因何查看过）",
           roles=CITIZEN, response="MyData", operation_id="getMyData")
def my_data(call: Call) -> dict[str, Any]:
    """Everything the bureau holds about the caller, with who read it and why; each kind bounded."""
    return present(privacy.my_data(call.actor))


@api.route("/v1/me/data/file", summary="下载我的个人信息（JSON 文件）", roles=CITIZEN,
           response="MyData", operation_id="downloadMyData")
def download_my_data(call: Call) -> Response:
    """The same as a file to save (Content-Disposition: attachment); never cached."""
    body = present(privacy.my_data(call.actor))
    name = f"my-data-{body['generated_at'][:10]}.json"
    return Response(body=json.dumps(body, ensure_ascii=False, indent=2), status_code=200,
                    headers={"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store",
                             "Content-Disposition": f'attachment; filename="{name}"'})


@api.route("/v1/me/consents/{application_id}/withdraw", "POST", summary="撤回个人信息查询授权（撤回后该申请无法完成联合审查）",
           roles=CITIZEN, body="chalicelib.bodies:VersionIn", response="ConsentWithdrawal",
           raises=(errors.ConsentNotFound, errors.ConsentNotGiven), operation_id="withdrawConsent")
def withdraw_consent(call: Call, application_id: str) -> dict[str, Any]:
    """A member takes back their consent to the departments' queries; the answer says what that means."""
    app, member_id, effect = privacy.withdraw_consent(call.actor, application_id, call.model())
    return {"application_id": app.application_id, "member_id": member_id,
            "status": app.consents[member_id]["status"], "application_status": app.status.value,
            "effect": effect, "version": app.version}


@api.route("/v1/me/close", "POST", summary="注销账号：此后该账号不能再使用；依法须保存的信息（合同、缴费、审计记录）继续保存",
           roles=CITIZEN, body="chalicelib.bodies:VersionIn", response="AccountClosure",
           raises=(errors.AccountInUse,), operation_id="closeMyAccount")
def close_my_account(call: Call) -> dict[str, Any]:
    """Closes the caller's account for good (``version`` of GET /v1/me); what the law keeps is listed."""
    person, kept = privacy.close_account(call.actor, call.model())
    periods = "；".join(f"{k['name']}：{k['period']}" for k in kept)
    return {"closed_at": person.closed_at, "kept": kept,
            "message": f"账号已注销，此后不能再使用该账号登录办理。依照法律规定，以下信息继续保存：{periods}。"}


@bp.schedule(Cron(0, 19, "*", "*", "?", "*"), name="purge_expired_applications")  # 03:00 China time
def purge_expired_applications(event: Any) -> dict[str, Any]:
    """Rejected, withdrawn or expired applications past the city's period: documents and data deleted, recorded."""
    from chalicelib.domain import retention

    return retention.run().as_dict()

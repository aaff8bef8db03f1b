"""The caller: registration (实名登记), household, consents asked of them, delegation grants."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import errors, lazy
from chalicelib.handlers.applications import present_event, summary
from chalicelib.handlers.roles import CITIZEN, EMPLOYER
from chalicelib.web import Api, Call

apps = lazy.module("chalicelib.domain.applications")
grants = lazy.module("chalicelib.domain.grants")
hh = lazy.module("chalicelib.domain.households")
real_name = lazy.module("chalicelib.domain.real_name")

bp = Blueprint(__name__)
api = Api(bp, "me")
ANYONE = CITIZEN + EMPLOYER


@api.route("/v1/me", summary="我的实名登记信息（含实名核验状态）", roles=ANYONE, response="Person", pending_ok=True)
def get_me(call: Call) -> dict[str, Any]:
    return hh.present_person(hh.me(call.actor, pending_ok=True))


@api.route("/v1/me", "POST", summary="实名登记：身份提供方已实名的直接核验；否则先核验姓名与身份证号，再按 real_name.face "
           "进行人脸核验（状态 pending），完成后调用 /v1/me/real-name-check；核验通过后工作人员代办的家庭随之归入本人",
           roles=CITIZEN, body="chalicelib.bodies:RegisterIn", status=201, response="Person", pending_ok=True, operation_id="register")
def register(call: Call) -> dict[str, Any]:
    person, face = real_name.register(call.actor, call.body())
    return hh.present_person(person, face)


@api.route("/v1/me/employer", "POST", summary="单位登记（名称与统一社会信用代码）", roles=EMPLOYER,
           body="chalicelib.bodies:EmployerRegisterIn", status=201, response="Person")
def register_employer(call: Call) -> dict[str, Any]:
    return hh.present_person(hh.register_employer(call.actor, call.body()))


@api.route("/v1/me/household", raises=(errors.HouseholdNotFound,), summary="我的家庭（申请人与家庭成员）", roles=CITIZEN, response="Household")
def get_household(call: Call) -> dict[str, Any]:
    return hh.present_household(hh.my_household(call.actor))


@api.route("/v1/me/household", "PUT", summary="填写或修改家庭成员（年龄、性别由身份证号得出）", roles=CITIZEN,
           body="chalicelib.bodies:HouseholdIn", response="Household")
def put_household(call: Call) -> dict[str, Any]:
    return hh.present_household(hh.save_my_household(call.actor, call.body()))


@api.route("/v1/me/consents", summary="需要我授权（或我已授权）的申请", roles=CITIZEN, response="ConsentList", operation_id="listMyConsents")
def my_consents(call: Call) -> dict[str, Any]:
    person = hh.me(call.actor)
    from chalicelib.deps import deps

    return {"items": deps().applications.consents_of(person.person_key)}  # type: ignore[arg-type]


# --- delegation -----------------------------------------------------------------------------------
def present_grant(g: dict[str, Any], *, mine: bool) -> dict[str, Any]:
    out = {k: v for k, v in g.items() if k not in ("grantor", "delegate")}
    out["status"] = grants.status(g)
    if not mine:
        out.pop("delegate_name", None)
    return out


@api.route("/v1/me/grants", "POST", raises=(errors.DelegateNotRegistered,), summary="授权他人（已实名登记的手机号）查看或代办，至指定日期", roles=CITIZEN,
           body="chalicelib.bodies:GrantIn", status=201, response="Grant")
def create_grant(call: Call) -> dict[str, Any]:
    return present_grant(grants.create(call.actor, call.body()), mine=True)


@api.route("/v1/me/grants", summary="我给出的授权", roles=CITIZEN, response="GrantList")
def list_grants(call: Call) -> dict[str, Any]:
    return {"items": [present_grant(g, mine=True) for g in grants.given(call.actor)]}


@api.route("/v1/me/grants/{grant_id}/revoke", "POST", summary="撤销授权（立即生效）", roles=CITIZEN,
           response="Grant")
def revoke_grant(call: Call, grant_id: str) -> dict[str, Any]:
    return present_grant(grants.revoke(call.actor, grant_id), mine=True)


@api.route("/v1/me/grants/{grant_id}/activity", summary="受托人在此授权下的全部操作", roles=CITIZEN,
           response="GrantActivity", operation_id="listGrantActivity")
def grant_activity(call: Call, grant_id: str) -> dict[str, Any]:
    return {"items": [present_event(apps.Event(**{k: v for k, v in e.items() if k != "application_id"}))
                      | {"application_id": e["application_id"]} for e in grants.activity(call.actor, grant_id)]}


@api.route("/v1/me/delegations", summary="他人给我的授权", roles=CITIZEN, response="GrantList")
def list_delegations(call: Call) -> dict[str, Any]:
    return {"items": [present_grant(g, mine=False) for g in grants.held(call.actor)]}


@api.route("/v1/delegations/{grant_id}/applications", summary="受托人：委托人的申请", roles=CITIZEN,
           response="ApplicationPage", operation_id="listDelegatedApplications")
def delegated_applications(call: Call, grant_id: str) -> dict[str, Any]:
    grant = grants.usable(call.actor, grant_id, "view")
    from chalicelib.deps import deps

    person = deps().people.get(grant["grantor"])
    if person is None or not person.person_key:
        return {"items": [], "next_cursor": None}
    page = deps().applications.by_owner(person.person_key, None, 50)
    return {"items": [summary(a) for a in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/delegations/{grant_id}/household", raises=(errors.HouseholdNotFound,), summary="受托人：委托人的家庭（证件号码已遮盖）", roles=CITIZEN,
           response="Household", operation_id="getDelegatedHousehold")
def delegated_household(call: Call, grant_id: str) -> dict[str, Any]:
    grant = grants.usable(call.actor, grant_id, "view")
    return hh.present_household(hh.my_household_of(grant["grantor"]), full=False)


@api.route("/v1/delegations/{grant_id}/household", "PUT", raises=(errors.HouseholdNotFound,), summary="受托人：代为修改委托人的家庭成员",
           roles=CITIZEN, body="chalicelib.bodies:HouseholdIn", response="Household", operation_id="putDelegatedHousehold")
def delegated_put_household(call: Call, grant_id: str) -> dict[str, Any]:
    body = call.body()
    grant = grants.usable(call.actor, grant_id, "act")
    household = hh.my_household_of(grant["grantor"])
    saved = hh.save_household_for(household.household_id, call.actor.subject, grant["grantor"], body)
    grants.record_action(grant, call.actor, "household_updated", household.household_id)
    return hh.present_household(saved, full=False)

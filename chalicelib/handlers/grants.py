"""Grants (授权): a citizen grants another registered person the right to view or act for them, until
a date; the delegate's view of the grantor's applications and household (docs/decisions/0009)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import errors, lazy
from chalicelib.handlers.applications import present_event, summary
from chalicelib.handlers.roles import CITIZEN
from chalicelib.web import Api, Call

grants = lazy.module("chalicelib.domain.grants")
hh = lazy.module("chalicelib.domain.households")

bp = Blueprint(__name__)
api = Api(bp, "grants")


def present_grant(g: dict[str, Any], *, mine: bool) -> dict[str, Any]:
    out = {k: v for k, v in g.items() if k not in ("grantor", "delegate")}
    out["status"] = grants.status(g)
    if not mine:
        out.pop("delegate_name", None)
    return out


@api.route("/v1/me/grants", "POST", raises=(errors.DelegateNotRegistered,), summary="授权他人（已实名登记的手机号）查看或代办，至指定日期", roles=CITIZEN,
           body="chalicelib.bodies:GrantIn", status=201, response="Grant")
def create_grant(call: Call) -> dict[str, Any]:
    return present_grant(grants.create(call.actor, call.model()), mine=True)


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
    return {"items": [present_event(lazy.resolve("chalicelib.domain.application_types:Event")(**{k: v for k, v in e.items() if k != "application_id"}))
                      | {"application_id": e["application_id"]} for e in grants.activity(call.actor, grant_id)]}


@api.route("/v1/me/delegations", summary="他人给我的授权", roles=CITIZEN, response="GrantList")
def list_delegations(call: Call) -> dict[str, Any]:
    return {"items": [present_grant(g, mine=False) for g in grants.held(call.actor)]}


@api.route("/v1/delegations/{grant_id}/applications", summary="受托人：委托人的申请", roles=CITIZEN,
           response="ApplicationPage", operation_id="listDelegatedApplications")
def delegated_applications(call: Call, grant_id: str) -> dict[str, Any]:
    grant = grants.usable(call.actor, grant_id, "view")
    from chalicelib.deps import deps

    person = deps().households.get(grant["grantor"])
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
    body = call.model()  # validated before the grant is looked at, as before
    grant = grants.usable(call.actor, grant_id, "act")
    household = hh.my_household_of(grant["grantor"])
    saved = hh.save_household_for(household.household_id, call.actor.subject, grant["grantor"], body)
    grants.record_action(grant, call.actor, "household_updated", household.household_id)
    return hh.present_household(saved, full=False)

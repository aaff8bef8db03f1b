"""Households: the caller's registration (实名登记), household and the consents asked of them; an
employer's registration. A delegate's view of a household is with the grants (handlers/grants.py)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import errors, lazy
from chalicelib.handlers.roles import CITIZEN, EMPLOYER
from chalicelib.web import Api, Call

hh = lazy.module("chalicelib.domain.households")
real_name = lazy.module("chalicelib.domain.real_name")

bp = Blueprint(__name__)
api = Api(bp, "households")
ANYONE = CITIZEN + EMPLOYER


@api.route("/v1/me", summary="我的实名登记信息（含实名核验状态）", roles=ANYONE, response="Person", pending_ok=True)
def get_me(call: Call) -> dict[str, Any]:
    return hh.present_person(hh.me(call.actor, pending_ok=True))


@api.route("/v1/me", "POST", summary="实名登记：身份提供方已实名的直接核验；否则先核验姓名与身份证号，再按 real_name.face "
           "进行人脸核验（状态 pending），完成后调用 /v1/me/real-name-check；核验通过后工作人员代办的家庭随之归入本人",
           roles=CITIZEN, body="chalicelib.bodies:RegisterIn", status=201, response="Person", pending_ok=True)
def register(call: Call) -> dict[str, Any]:
    person, face = real_name.register(call.actor, call.model())
    return hh.present_person(person, face)


@api.route("/v1/me/employer", "POST", summary="单位登记（名称与统一社会信用代码）", roles=EMPLOYER,
           body="chalicelib.bodies:EmployerRegisterIn", status=201, response="Person")
def register_employer(call: Call) -> dict[str, Any]:
    return hh.present_person(hh.register_employer(call.actor, call.model()))


@api.route("/v1/me/household", raises=(errors.HouseholdNotFound,), summary="我的家庭（申请人与家庭成员）", roles=CITIZEN, response="Household")
def get_household(call: Call) -> dict[str, Any]:
    return hh.present_household(hh.my_household(call.actor))


@api.route("/v1/me/household", "PUT", summary="填写或修改家庭成员（年龄、性别由身份证号得出）", roles=CITIZEN,
           body="chalicelib.bodies:HouseholdIn", response="Household")
def put_household(call: Call) -> dict[str, Any]:
    return hh.present_household(hh.save_my_household(call.actor, call.model()))


@api.route("/v1/me/consents", summary="需要我授权（或我已授权）的申请", roles=CITIZEN, response="ConsentList", operation_id="listMyConsents")
def my_consents(call: Call) -> dict[str, Any]:
    person = hh.me(call.actor)
    from chalicelib.deps import deps

    return {"items": deps().applications.consents_of(person.person_key)}  # type: ignore[arg-type]

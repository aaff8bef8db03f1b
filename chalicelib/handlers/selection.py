"""Online unit selection (在线选房) and leases (租赁合同): the admin starts and advances a round's
selection, the public sees what is free, a household chooses in its slot and confirms its lease, and
the signed contract is served by short-lived links only. Decisions: docs/decisions/0015."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Rate

from chalicelib import errors, lazy
from chalicelib.domain import common
from chalicelib.handlers.roles import ADMIN, CITIZEN
from chalicelib.identity import Role
from chalicelib.web import Api, Call, Param

if TYPE_CHECKING:
    from chalicelib.domain.leases import Lease
    from chalicelib.domain.selection import Availability, Household

selection = lazy.module("chalicelib.domain.selection")
leases = lazy.module("chalicelib.domain.leases")

bp = Blueprint(__name__)
api = Api(bp, "selection")

CONTRACT_READERS = (Role.APPLICANT.value, Role.STAFF.value, Role.ADMIN.value)
REASON = Param("reason", description="查看事由（工作人员必填，记入审计）", max_length=200)


def _layout_name(layout: str) -> str:
    from chalicelib.domain.units import LAYOUT_NAMES, Layout

    try:
        return LAYOUT_NAMES[Layout(layout)]
    except ValueError:
        return layout


def present_unit(u: dict[str, Any]) -> dict[str, Any]:
    return {**{k: u[k] for k in ("unit_id", "estate_id", "building_id", "number", "layout", "floor_area", "floor",
                                 "rent")}, "layout_name": _layout_name(u["layout"])}


def present_availability(a: Availability) -> dict[str, Any]:
    return {"round_id": a.round_id, "units_total": a.total, "units_free": len(a.units),
            "by_layout": [{"layout": k, "layout_name": _layout_name(k), "free": v}
                          for k, v in sorted(a.by_layout().items())],
            "items": [present_unit(u) for u in a.units]}


def present_household(h: Household) -> dict[str, Any]:
    status = h.shown_status(common.now())
    return {"round_id": h.round_id, "rank": h.rank, "registration_no": h.registration_no,
            "application_id": h.application_id, "household_size": h.household_size,
            "allowed_layouts": list(h.allowed_layouts), "status": status,
            "status_name": selection.STATUS_NAMES.get(status, status), "slot": h.slot, "slot_start": h.slot_start,
            "slot_end": h.slot_end, "reinvited": h.reinvited, "unit_id": h.unit_id, "lease_id": h.lease_id,
            "chosen_at": h.chosen_at, "confirmed_at": h.confirmed_at}


def present_lease(lease: Lease) -> dict[str, Any]:
    return {
        "lease_id": lease.lease_id, "round_id": lease.round_id, "application_id": lease.application_id,
        "status": lease.status, "status_name": leases.STATUS_NAMES.get(lease.status, lease.status),
        "tenant_name": lease.tenant_name, "tenant_id_masked": lease.tenant_id_masked,
        "household_size": lease.household_size,
        "unit": {"unit_id": lease.unit_id, "building_id": lease.building_id, "building_name": lease.building_name,
                 "number": lease.number, "layout": lease.layout, "layout_name": _layout_name(lease.layout),
                 "floor_area": lease.floor_area},
        "estate": {"estate_id": lease.estate_id, "name": lease.estate_name, "address": lease.address},
        "manager": lease.manager, "landlord": lease.landlord, "base_rent": lease.base_rent,
        "monthly_rent": lease.monthly_rent, "reduction": lease.reduction, "deposit": lease.deposit,
        "term_months": lease.term_months, "start_date": lease.start_date, "end_date": lease.end_date,
        "clauses": list(lease.clauses), "confirmed_at": lease.confirmed_at, "confirmed_device": lease.confirmed_device,
        "has_contract": bool(lease.contract_key), "created_at": lease.created_at, "version": lease.version}


# --- admin ---------------------------------------------------------------------------------------------
@api.route("/v1/admin/rounds/{round_id}/selection/start", "POST", summary="开始选房：按顺序号分时段邀请",
           roles=ADMIN, body="chalicelib.bodies:SelectionStartIn", response="SelectionMeta")
def start_selection(call: Call, round_id: str) -> dict[str, Any]:
    body = call.body()
    meta = selection.start(round_id, call.actor, body["version"], body.get("starts_at"))
    return {"round_id": round_id, "phase": meta.phase, "starts_at": meta.starts_at, "slots": meta.slots,
            "slot_minutes": meta.slot_minutes, "slot_size": meta.slot_size, "first_ends_at": meta.first_ends_at}


@api.route("/v1/admin/rounds/{round_id}/selection/advance", "POST", raises=(errors.SelectionNotFound,),
           summary="推进选房：过号、末尾补选、无人可邀或无房时结束", roles=ADMIN, response="SelectionAdvance", operation_id="advanceSelection")
def advance_selection_now(call: Call, round_id: str) -> dict[str, Any]:
    return selection.advance(round_id, call.actor)


# --- public and the household ----------------------------------------------------------------------------
@api.route("/v1/rounds/{round_id}/availability", summary="本轮可选房源（实时，无需登录）", response="Availability", operation_id="getRoundAvailability")
def availability(call: Call, round_id: str) -> dict[str, Any]:
    return present_availability(selection.availability(round_id))


@api.route("/v1/me/rounds/{round_id}/selection", raises=(errors.SelectionNotFound,), summary="我的选房：时段、状态、适合本户的可选房源", roles=CITIZEN,
           response="MySelection", operation_id="getMySelection")
def my_selection(call: Call, round_id: str) -> dict[str, Any]:
    h, registrant, avail = selection.mine(round_id, call.actor)
    if h is not None:
        me = present_household(h)
    else:  # registered, the selection has not started
        me = {"round_id": round_id, "rank": registrant.rank, "registration_no": registrant.registration_no,
              "application_id": registrant.application_id, "household_size": registrant.household_size,
              "allowed_layouts": list(registrant.allowed_layouts), "status": selection.WAITING,
              "status_name": selection.STATUS_NAMES[selection.WAITING], "slot": None, "slot_start": None,
              "slot_end": None, "reinvited": False, "unit_id": None, "lease_id": None, "chosen_at": None,
              "confirmed_at": None}
    return me | {"units": [present_unit(u) for u in avail.units]}


@api.route("/v1/rounds/{round_id}/choices", "POST", raises=(errors.SelectionNotFound,), summary="选房：在本户时段内选定一套房源（生成待确认的租赁合同）",
           roles=CITIZEN, body="chalicelib.bodies:ChoiceIn", status=201, response="Choice", operation_id="chooseUnit")
def choose(call: Call, round_id: str) -> dict[str, Any]:
    h, lease = selection.choose(round_id, call.actor, call.body()["unit_id"])
    return {"selection": present_household(h), "lease": present_lease(lease)}


@api.route("/v1/me/lease", summary="我的租赁合同：房源、项目、物业联系方式", roles=CITIZEN, response="LeaseList", operation_id="listMyLeases")
def my_leases(call: Call) -> dict[str, Any]:
    return {"items": [present_lease(lease) for lease in leases.mine(call.actor)]}


@api.route("/v1/me/lease/{lease_id}/confirm", "POST", summary="确认租赁合同（承租人本人；记录时间与设备）",
           roles=CITIZEN, body="chalicelib.bodies:VersionIn", response="Lease")
def confirm_lease(call: Call, lease_id: str) -> dict[str, Any]:
    headers = call.request.headers
    device = headers.get("x-device-id") or headers.get("user-agent")
    return present_lease(leases.confirm(lease_id, call.actor, call.body()["version"], device))


@api.route("/v1/leases/{lease_id}/contract", raises=(errors.ContractNotReady,), summary="合同文本（PDF）的短期下载链接：承租人、受托人、工作人员（记入审计）",
           roles=CONTRACT_READERS, params=[REASON], response="ContractLink", operation_id="getLeaseContract")
def contract(call: Call, lease_id: str) -> dict[str, Any]:
    lease, link = leases.contract_link(lease_id, call.actor, call.params["reason"])
    return {"lease_id": lease.lease_id, "content_type": leases.CONTRACT_TYPE, "download": link}


# --- scheduled -------------------------------------------------------------------------------------------
@bp.schedule(Rate(5, unit=Rate.MINUTES), name="advance_selection")
def advance_selection(event: Any) -> dict[str, int]:
    """Every 5 minutes: pass over ended slots, re-invite at the end, finish rounds with nobody or nothing left."""
    return selection.advance_due()

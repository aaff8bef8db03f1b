"""Online unit selection (在线选房): the admin starts and advances a round's selection, the public sees
what is free, a household chooses in its slot (which drafts its lease: handlers/leases.py).
Decisions: docs/decisions/0015."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Rate

from chalicelib import errors, lazy
from chalicelib.domain import common
from chalicelib.handlers.leases import layout_name, present_lease
from chalicelib.handlers.roles import ADMIN, CITIZEN
from chalicelib.web import Api, Call

if TYPE_CHECKING:
    from chalicelib.domain.selection import Availability, Household

selection = lazy.module("chalicelib.domain.selection")

bp = Blueprint(__name__)
api = Api(bp, "selection")

def present_unit(u: dict[str, Any]) -> dict[str, Any]:
    return {**{k: u[k] for k in ("unit_id", "estate_id", "building_id", "number", "layout", "floor_area", "floor",
                                 "rent")}, "layout_name": layout_name(u["layout"])}


def present_availability(a: Availability) -> dict[str, Any]:
    return {"round_id": a.round_id, "units_total": a.total, "units_free": len(a.units),
            "by_layout": [{"layout": k, "layout_name": layout_name(k), "free": v}
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


# --- scheduled -------------------------------------------------------------------------------------------
@bp.schedule(Rate(5, unit=Rate.MINUTES), name="advance_selection")
def advance_selection(event: Any) -> dict[str, int]:
    """Every 5 minutes: pass over ended slots, re-invite at the end, finish rounds with nobody or nothing left."""
    return selection.advance_due()

"""Leases (租赁合同): the tenant's leases, confirming one (the tenant only), and the signed contract,
served by short-lived links only. A lease is drafted when a household chooses a unit
(handlers/selection.py). Decisions: docs/decisions/0015."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import errors, lazy
from chalicelib.handlers.roles import CITIZEN
from chalicelib.identity import Role
from chalicelib.web import Api, Call, Param

if TYPE_CHECKING:
    from chalicelib.domain.leases import Lease

leases = lazy.module("chalicelib.domain.leases")

bp = Blueprint(__name__)
api = Api(bp, "leases")

CONTRACT_READERS = (Role.APPLICANT.value, Role.STAFF.value, Role.ADMIN.value)
REASON = Param("reason", description="查看事由（工作人员必填，记入审计）", max_length=200)


def layout_name(layout: str) -> str:
    from chalicelib.domain.units import LAYOUT_NAMES, Layout

    try:
        return LAYOUT_NAMES[Layout(layout)]
    except ValueError:
        return layout


def present_lease(lease: Lease) -> dict[str, Any]:
    return {
        "lease_id": lease.lease_id, "round_id": lease.round_id, "application_id": lease.application_id,
        "status": lease.status, "status_name": leases.STATUS_NAMES.get(lease.status, lease.status),
        "tenant_name": lease.tenant_name, "tenant_id_masked": lease.tenant_id_masked,
        "household_size": lease.household_size,
        "unit": {"unit_id": lease.unit_id, "building_id": lease.building_id, "building_name": lease.building_name,
                 "number": lease.number, "layout": lease.layout, "layout_name": layout_name(lease.layout),
                 "floor_area": lease.floor_area},
        "estate": {"estate_id": lease.estate_id, "name": lease.estate_name, "address": lease.address},
        "manager": lease.manager, "landlord": lease.landlord, "base_rent": lease.base_rent,
        "monthly_rent": lease.monthly_rent, "reduction": lease.reduction, "deposit": lease.deposit,
        "term_months": lease.term_months, "start_date": lease.start_date, "end_date": lease.end_date,
        "clauses": list(lease.clauses), "confirmed_at": lease.confirmed_at, "confirmed_device": lease.confirmed_device,
        "has_contract": bool(lease.contract_key), "created_at": lease.created_at, "version": lease.version,
        "renews": lease.renews, "renewed_by": lease.renewed_by}


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

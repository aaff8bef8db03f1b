"""Leases (租赁合同): drafted when a household chooses a unit, confirmed by the tenant, who then
holds a signed PDF (private S3 object, short-lived links only). Decisions: docs/decisions/0015.

Confirming moves the unit reserved -> leased and the household's selection chosen -> confirmed in
one transaction with the lease; then the application becomes housed (已配租) and leaves the waiting
list. Those later steps check before they act, so a repeated confirm (or a retry after a failure
between them) completes them without doing anything twice.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date
from enum import StrEnum
from functools import cache
from typing import Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import common
from chalicelib.domain.common import expect_version, new_id
from chalicelib.domain.lifecycle import Lifecycle, Refusal
from chalicelib.identity import Actor, Role



class LeaseStatus(StrEnum):
    DRAFT = "draft"  # drafted by the unit choice, waiting for the tenant
    CONFIRMED = "confirmed"  # confirmed by the tenant: the contract is signed, the unit leased
    ENDED = "ended"  # moved out (退租, domain/move_outs.py): out of billing's active index, the unit freed


DRAFT, CONFIRMED, ENDED = LeaseStatus.DRAFT, LeaseStatus.CONFIRMED, LeaseStatus.ENDED
STATUS_NAMES = {DRAFT: "待确认", CONFIRMED: "已确认", ENDED: "已退租"}
LEASES: Lifecycle[LeaseStatus] = Lifecycle(
    "lease", DRAFT, {DRAFT: {CONFIRMED}, CONFIRMED: {ENDED}, ENDED: set()}, names=STATUS_NAMES,
    refusals=[Refusal(frozenset({CONFIRMED}), frozenset({CONFIRMED}), errors.LeaseAlreadyConfirmed, "lease_id"),
              Refusal(frozenset({DRAFT, ENDED}), frozenset({ENDED}), errors.LeaseNotActive, "lease_id")])
CONTRACT_TYPE = "application/pdf"
STAFF_ROLES = (Role.STAFF, Role.ADMIN)


@dataclass(frozen=True)
class LeaseConfig:
    term_months: int
    deposit_months: int
    reductions: dict[str, dict[str, Any]]
    landlord: str
    clauses: list[str]


@cache
def lease_config(city: str) -> LeaseConfig:
    """The ``leases`` part of the city's applications.json (validated by its model: term 1-60 months)."""
    from chalicelib.city_files import city_file

    data = city_file(city, "applications.json").leases
    return LeaseConfig(data.term_months, data.deposit_months,
                       {k: r.model_dump() for k, r in data.reductions.items()}, data.landlord, list(data.clauses))


def config() -> LeaseConfig:
    return lease_config(deps().settings.city_code)


@dataclass(frozen=True)
class Lease:
    lease_id: str
    round_id: str
    application_id: str
    owner: str | None  # None: an imported lease its tenant has not claimed yet (docs/decisions/0036)
    owner_key: str
    tenant_name: str
    tenant_id_masked: str
    household_size: int
    unit_id: str
    estate_id: str
    estate_name: str
    address: str
    building_id: str
    building_name: str
    number: str
    layout: str
    floor_area: float
    base_rent: int  # fen per month: the unit's rent
    monthly_rent: int  # fen per month, after the reduction
    reduction: dict[str, Any] | None
    deposit: int
    term_months: int
    start_date: str
    end_date: str
    manager: dict[str, Any] | None
    landlord: str
    clauses: list[str] = field(default_factory=list)
    status: LeaseStatus = DRAFT
    confirmed_at: str | None = None
    confirmed_device: str | None = None
    contract_key: str | None = None
    #: Rent changes from a month on (a review's higher rent: {from_month, monthly_rent, basis, review_id});
    #: ``bills.rent_for`` is the one place that says a lease's rent for a month.
    rent_changes: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""
    version: int = 1
    renews: str | None = None  # a renewal's new lease: the lease it renews (domain/renewals.py)
    renewed_by: str | None = None  # a renewed lease: its successor, set when the successor is confirmed


# --- drafting (called by the selection when a unit is chosen) ----------------------------------------
def first_of_next_month(today: date) -> date:
    return date(today.year + (today.month == 12), today.month % 12 + 1, 1)


def add_months(start: date, months: int) -> date:
    """The last day of the term: ``months`` after ``start``, minus one day."""
    from datetime import timedelta

    y, m = divmod(start.month - 1 + months, 12)
    return date(start.year + y, m + 1, start.day) - timedelta(days=1)


def reduction_for(app: Any) -> dict[str, Any] | None:
    """The city's reduction whose key is among the application's verified priority groups (the
    largest, if several apply)."""
    groups = {str(g.get("id")) for g in ((app.verification or {}).get("priority_groups") or []) if isinstance(g, dict)}
    found = [(int(r.get("percent", 0)), key, r) for key, r in config().reductions.items() if key in groups]
    if not found:
        return None
    percent, key, r = max(found)
    return {"key": key, "percent": percent, "note": str(r.get("note") or "")}


def draft(round_id: str, household: Any, app: Any, unit: Any, estate: Any) -> Lease:
    cfg = config()
    reduction = reduction_for(app)
    rent = unit.rent if reduction is None else unit.rent * (100 - reduction["percent"]) // 100
    start = first_of_next_month(common.now().date())
    main = app.main()
    from chalicelib.domain.idnumbers import mask_id

    building = next((b for b in estate.buildings if b.get("building_id") == unit.building_id), {})
    at = common.now_iso()
    return Lease(
        lease_id=new_id("lse"), round_id=round_id, application_id=app.application_id, owner=household.owner,
        owner_key=household.owner_key, tenant_name=main["name"], tenant_id_masked=mask_id(main["id_number"]) or "",
        household_size=household.household_size, unit_id=unit.unit_id, estate_id=estate.estate_id,
        estate_name=estate.name, address=estate.address, building_id=unit.building_id,
        building_name=str(building.get("name") or unit.building_id), number=unit.number, layout=unit.layout.value,
        floor_area=unit.floor_area, base_rent=unit.rent, monthly_rent=rent, reduction=reduction,
        deposit=rent * cfg.deposit_months, term_months=cfg.term_months, start_date=start.isoformat(),
        end_date=add_months(start, cfg.term_months).isoformat(), manager=dict(estate.manager or {}) or None,
        landlord=cfg.landlord, clauses=list(cfg.clauses), created_at=at, updated_at=at)


# --- the tenant -----------------------------------------------------------------------------------
def mine(actor: Actor) -> list[Lease]:
    return deps().leases.of_owner(actor.subject)


def confirm(lease_id: str, actor: Actor, version: int, device: str | None) -> Lease:
    """Only the tenant confirms (a delegate may not sign for them). A repeat of the same confirm
    answers the confirmed lease and completes any step left undone."""
    repo = deps().leases
    lease = repo.get(lease_id)
    if lease.owner != actor.subject:
        if deps().grants.between(lease.owner, actor.subject) is not None:
            raise errors.Forbidden("only the tenant confirms the lease")
        raise errors.LeaseNotFound(lease_id)
    if lease.status == CONFIRMED and lease.version == version + 1:
        if not lease.renews:
            _after_confirm(lease)
        return lease
    to = LEASES.move(lease.status, CONFIRMED)  # confirmed already: 409 LEASE_ALREADY_CONFIRMED
    expect_version(lease.version, version)
    at = common.now_iso()
    # One object per attempt: a confirm that loses a race never overwrites the winner's contract.
    key = f"leases/{lease_id}/contract-{new_id('c')}.pdf"
    confirmed = replace(lease, status=to, confirmed_at=at, confirmed_device=(device or "unknown")[:200],
                        contract_key=key, updated_at=at, version=lease.version + 1)
    from chalicelib.domain.contract_pdf import render

    repo.put_contract(key, render(contract_fields(confirmed)))
    from chalicelib.domain.bills import deposit_bill

    try:  # the lease, the unit, the selection and the deposit's bill at once
        if lease.renews:  # a renewal: the unit stays leased, the deposit carries over (docs/decisions/0033)
            deps().renewals.confirm(confirmed, lease)
        else:
            deps().selection.confirm(confirmed, lease, actor, deposit=deposit_bill(confirmed, at))
    except errors.Conflict:
        deps().storage.delete(key)  # this attempt's contract: never referenced
        again = repo.get(lease_id)
        if again.status == CONFIRMED and again.version == version + 1:
            return again  # a double tap raced us and won: the same confirmation (its contract stands)
        raise
    if confirmed.renews:  # a renewal's application was housed by its first lease: the tenant is told
        from chalicelib.notify import Notice

        person = deps().households.get(confirmed.owner)
        deps().notifier.notify(Notice(template="lease_renewed", recipient=confirmed.owner,
                                      mobile=person.mobile if person else None, params={
                                          "lease_id": confirmed.lease_id, "start_date": confirmed.start_date,
                                          "end_date": confirmed.end_date,
                                          "monthly_rent": f"{confirmed.monthly_rent / 100:.2f}"}))
    else:
        _after_confirm(confirmed)
    return confirmed


def contract_fields(lease: Lease) -> dict[str, Any]:
    from chalicelib.domain.units import LAYOUT_NAMES, Layout

    manager = lease.manager or {}
    return {
        "lease_id": lease.lease_id, "city_name": deps().settings.city_name, "tenant_name": lease.tenant_name,
        "tenant_id_masked": lease.tenant_id_masked, "household_size": lease.household_size,
        "estate_name": lease.estate_name, "address": lease.address, "building": lease.building_name,
        "unit_number": lease.number, "layout_name": LAYOUT_NAMES.get(Layout(lease.layout), lease.layout),
        "floor_area": lease.floor_area, "monthly_rent": lease.monthly_rent,
        "rent_reduction_note": (lease.reduction or {}).get("note") or None, "deposit": lease.deposit,
        "start_date": lease.start_date, "end_date": lease.end_date, "term_months": lease.term_months,
        "manager": {"company": manager.get("company") or "", "contact": manager.get("contact") or "",
                    "phone": manager.get("phone") or ""},
        "landlord": lease.landlord, "clauses": list(lease.clauses), "created_at": lease.created_at,
    }


def _after_confirm(lease: Lease) -> None:
    """The application is housed (已配租) and leaves the waiting list; each step once."""
    from chalicelib.domain.application_status import S, check_transition
    from chalicelib.domain.access import mutate, notify_citizen
    from chalicelib.domain.application_types import Access, Application, Event, Skip

    def change(app: Application, _: Access) -> tuple[Application, list[Event]]:
        if app.status == S.HOUSED:
            raise Skip()
        check_transition(app.status, S.HOUSED)
        housing = {"lease_id": lease.lease_id, "unit_id": lease.unit_id, "round_id": lease.round_id,
                   "housed_at": lease.confirmed_at}
        return replace(app, status=S.HOUSED, version=app.version + 1, data={**app.data, "housing": housing}), [
            Event("housed", lease.owner, "applicant", S.QUALIFIED.value, S.HOUSED.value,
                  note=f"已签订租赁合同：{lease.estate_name}{lease.building_name}{lease.number}",
                  changes={"lease_id": lease.lease_id, "unit_id": lease.unit_id})]

    try:
        app = mutate(lease.application_id, None, change)
        deps().waiting_list.leave(lease.application_id)
        notify_citizen(app, "lease_confirmed", {
            "lease_id": lease.lease_id, "start_date": lease.start_date, "end_date": lease.end_date,
            "monthly_rent": f"{lease.monthly_rent / 100:.2f}"})
    except Skip:
        deps().waiting_list.leave(lease.application_id)


def contract_link(lease_id: str, actor: Actor, reason: str | None) -> tuple[Lease, dict[str, Any]]:
    """A short-lived link to the signed contract: the tenant, a delegate whose grant has the
    ``documents`` scope (the contract is a raw file with the tenant's ID number), or staff (audited,
    with a reason). A delegate without that scope is refused (403); anyone else is told the lease
    does not exist (404), as for an application."""
    lease = deps().leases.get(lease_id)
    if lease.owner == actor.subject:
        pass
    elif actor.has(*STAFF_ROLES):
        from chalicelib.domain import audit

        audit.record(actor, f"lease#{lease_id}", "read_contract", reason)
    else:
        grant = deps().grants.between(lease.owner, actor.subject)
        if grant is None:
            raise errors.LeaseNotFound(lease_id, field="lease_id")
        from chalicelib.domain.grants import check_files

        check_files(grant)
    if not lease.contract_key:
        raise errors.ContractNotReady(lease.status, field="lease_id")
    return lease, deps().storage.presigned_get(lease.contract_key, CONTRACT_TYPE)


def as_dict(lease: Lease) -> dict[str, Any]:
    return asdict(lease)

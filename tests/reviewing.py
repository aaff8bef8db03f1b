"""The annual review's test helpers (年审): one lease through open review -> answer -> recommendation
-> confirm. The HTTP steps are devstack/tenancy.py's (one copy: the demo's steps 16-22 use them against
``make run``), re-exported here; each takes a ``call(method, path, headers, body) -> (status, body)``
(the Chalice test client's ``tests.applying.call`` here):

    tenant = housed(client, stack, "年审甲")                           # a tenant with a confirmed lease
    review_id = open_review(tenant.lease_id, campaign)                  # what a campaign opens (in-process)
    no_change(call, tenant.headers, review_id)                          # "nothing changed", one tap
    wait_for(call, staff, review_id, "recommended")                     # departments, rules, recommendation
    confirm_continues(call, staff, review_ids=[review_id])              # one staff click

The demo's households: ``no_change`` (continues), ``report_income`` (a new income over the limit:
the higher rent from the next bill), and a household the registry says owns a home
(``departments.update(id, real_estate=OWNS_HOME)``: must leave, with the city's grace period).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devstack.tenancy import (OWNS_HOME, Send as Call, confirm, confirm_continues, current, no_change,
                              report_income, wait_for)
from tests.applying import Citizen, call as client_call, register

__all__ = ["OWNS_HOME", "Call", "Tenant", "confirm", "confirm_continues", "current", "department_answers", "housed",
           "no_change", "open_review", "report_income", "run_steps", "wait_for"]


@dataclass
class Tenant:
    person: Citizen
    subject: str
    application_id: str
    lease_id: str

    @property
    def headers(self) -> dict[str, str]:
        return self.person.headers()


def housed(client: Any, stack: Any, name: str, born: str = "19800101", income: int = 200000,
           rent: int = 40000, floor_area: float = 50.0, **departments: dict[str, Any] | None) -> Tenant:
    """A registered tenant with a household of one, a consented application and a confirmed lease
    (written as the selection's confirm writes it); the department simulator knows them."""
    import jwt

    from chalicelib.domain.common import new_id, now_iso
    from chalicelib.domain.leases import Lease
    from chalicelib.repositories.leases import lease_record

    person = Citizen(stack, name, born=born)
    register(client, person)
    status, body = client_call(client, "PUT", "/v1/me/household", person.headers(),
                               {"members": [person.member(monthly_income=income)]})
    assert status == 200, body
    status, app = client_call(client, "POST", "/v1/applications", person.headers(), {"kind": "individual"})
    assert status == 201, app
    status, text = client_call(client, "GET", "/v1/consent-text", person.headers())
    status, consented = client_call(client, "POST", f"/v1/applications/{app['application_id']}/consent",
                                    person.headers(), {"text_version": text["version"], "agree": True})
    assert status == 200, consented
    if stack.departments is not None:
        stack.departments.add_default(person.id_number, provident_fund={"monthly_deposit_base": income},
                                      **departments)
    subject = str(jwt.decode(person.token, options={"verify_signature": False})["sub"])
    lease_id = new_id("lse")
    lease_record(Lease(
        lease_id=lease_id, round_id="rnd_review", application_id=app["application_id"], owner=subject,
        owner_key="x", tenant_name="张*", tenant_id_masked="4407**", household_size=1, unit_id=new_id("unt"),
        estate_id="fuzeyuan", estate_name="福泽园", address="福泽园路1号", building_id="b1", building_name="1栋",
        number="101", layout="1b1l", floor_area=floor_area, base_rent=rent, monthly_rent=rent, reduction=None,
        deposit=rent * 2, term_months=36, start_date="2026-01-01", end_date="2028-12-31", manager=None,
        landlord="江门市住房保障中心", status="confirmed", contract_key=f"leases/{lease_id}/contract.pdf",
        created_at=now_iso(), updated_at=now_iso())).save()
    return Tenant(person, subject, app["application_id"], lease_id)


def open_review(lease_id: str, campaign_id: str, deadline: str = "2099-12-31") -> str:
    """What a campaign's fan-out does for one lease (domain/reviews.open_page): the review's id."""
    from chalicelib.deps import deps
    from chalicelib.domain import reviews
    from chalicelib.domain.bills import ActiveLease

    lease = deps().leases.get(lease_id)
    reviews.open_page(campaign_id, deadline, [ActiveLease(
        lease.lease_id, lease.owner, True, lease.monthly_rent, lease.base_rent, lease.reduction, lease.start_date,
        lease.end_date, lease.estate_id, lease.unit_id, f"{lease.estate_name}{lease.building_name}{lease.number}")])
    return reviews.review_key(campaign_id, lease_id)


def department_answers(members: list[dict[str, Any]], down: tuple[str, ...] = (),
                       **facts: dict[str, Any]) -> list[dict[str, Any]]:
    """What the eight departments answer about ``members`` (a clean local citizen each, ``facts``
    merged per department; ``down`` unavailable), as the workflow hands them to the decision."""
    from devstack.departments import DEPARTMENTS, default_facts

    clean = default_facts("jiangmen")
    return [{"department": d, "status": "unavailable", "error": "DepartmentUnavailable: 503"} if d in down else
            {"department": d, "status": "answered", "answered_at": "2026-12-01T10:00:00+08:00",
             "persons": [{"member_id": m["member_id"], "found": True, "facts": {**clean[d], **facts.get(d, {})}}
                         for m in members]} for d in DEPARTMENTS]


def run_steps(review_id: str, down: tuple[str, ...] = (), **facts: dict[str, Any]) -> Any:
    """The workflow's steps for the review's current run, in-process (a stack without the workflow)."""
    from chalicelib.deps import deps
    from chalicelib.domain import review_verification

    review = deps().reviews.get(review_id)
    run_id = review.verification["run_id"]
    review_verification.start(review_id, run_id)
    review_verification.decide(review_id, run_id, department_answers(review.answer["members"], down, **facts))
    return deps().reviews.get(review_id)

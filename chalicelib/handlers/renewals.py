"""Renewal (续签) of a lease: the tenant (or a delegate with an ``act`` grant) applies in the last months
of the lease, follows it and may withdraw it; staff apply at the counter or at home with a reason
(audited). The new lease is confirmed through the lease's own confirm route. Decisions: docs/decisions/0033."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import errors, lazy
from chalicelib.handlers.roles import CASE_STAFF, CITIZEN
from chalicelib.web import Api, Call, Param

if TYPE_CHECKING:
    from chalicelib.domain.renewals import Renewal

renewals = lazy.module("chalicelib.domain.renewals")

bp = Blueprint(__name__)
api = Api(bp, "renewals")

REASON = Param("reason", description="查看事由（工作人员必填，记入审计）", max_length=200)
APPLY_RAISES = (errors.RenewalExists, errors.RenewalOutsideWindow, errors.LeaseNotRenewable, errors.RenewalRefused)


def present(r: Renewal) -> dict[str, Any]:
    return {
        "renewal_id": r.renewal_id, "lease_id": r.lease_id, "status": r.status,
        "status_name": renewals.STATUS_NAMES[r.status], "via": r.via, "via_name": renewals.VIA_NAMES.get(r.via, r.via),
        "review_id": r.review_id, "outcome": r.outcome, "monthly_rent": r.monthly_rent, "reasons": list(r.reasons),
        "leave_by": r.leave_by, "new_lease_id": r.new_lease_id, "requested_at": r.requested_at,
        "decided_at": r.decided_at, "renewed_at": r.renewed_at, "cancelled_at": r.cancelled_at,
        "updated_at": r.updated_at, "version": r.version}


@api.route("/v1/me/lease/{lease_id}/renewal", "POST", summary="申请续签：租期届满前规定月份内，承租人或受托人（代办授权）",
           roles=CITIZEN, body="chalicelib.bodies:VersionIn", status=201, response="Renewal", raises=APPLY_RAISES,
           operation_id="applyForRenewal")
def apply_for_renewal(call: Call, lease_id: str) -> dict[str, Any]:
    """Applies to renew the lease (its current version): decided at once by a recent review, else a fresh review runs."""
    return present(renewals.apply(lease_id, call.actor, call.model().version))


@api.route("/v1/me/lease/{lease_id}/renewal", summary="续签进度：核查、新合同、不予续签的原因", roles=CITIZEN,
           response="Renewal", raises=(errors.RenewalNotFound,), operation_id="getMyRenewal")
def my_renewal(call: Call, lease_id: str) -> dict[str, Any]:
    return present(renewals.get(lease_id, call.actor))


@api.route("/v1/me/lease/{lease_id}/renewal/cancel", "POST", summary="撤回续签申请（确认新合同之前）", roles=CITIZEN,
           body="chalicelib.bodies:VersionIn", response="Renewal", raises=(errors.RenewalNotFound, errors.RenewalClosed),
           operation_id="cancelRenewal")
def cancel_renewal(call: Call, lease_id: str) -> dict[str, Any]:
    return present(renewals.cancel(lease_id, call.actor, call.model().version))


@api.route("/v1/staff/leases/{lease_id}/renewal", "POST", summary="窗口或上门代办续签（须写明事由，记入审计）",
           roles=CASE_STAFF, body="chalicelib.bodies:StaffRenewalIn", status=201, response="Renewal",
           raises=APPLY_RAISES, operation_id="applyForRenewalForTenant")
def apply_for_renewal_for_tenant(call: Call, lease_id: str) -> dict[str, Any]:
    """Staff apply to renew a tenant's lease at the counter or at home (代办), with a written reason (audited)."""
    return present(renewals.apply_at_counter(lease_id, call.actor, call.model()))


@api.route("/v1/staff/leases/{lease_id}/renewal", summary="查看续签办理情况（须填写查看事由，记入审计）", roles=CASE_STAFF,
           params=[REASON], response="Renewal", raises=(errors.RenewalNotFound,), operation_id="getRenewal")
def renewal(call: Call, lease_id: str) -> dict[str, Any]:
    return present(renewals.get(lease_id, call.actor, call.params["reason"]))

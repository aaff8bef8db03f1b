"""Renewal (续签), issue 12 §2: in the last months of a lease the tenant (a delegate with an ``act``
grant, or staff at the counter with a reason) applies to renew; the latest decided annual review
decides if it is recent enough, else a fresh verification runs (a review of kind ``renewal``) and the
renewal waits for it. A renewed lease is a NEW lease (the city's term, the rent the review allows, its
own contract PDF) linked to the old one (``renews`` / ``renewed_by``), starting the day after the old
one ends; the tenant confirms it through the lease's confirm route. Decisions: docs/decisions/0033.

One renewal per lease (``renewal_key``): a second application is refused while the first lives; a
cancelled one may be applied for again. The deposit carries over (no second deposit bill) and the
unit stays leased (no unit move): the renewal's confirmation is its own transaction
(repositories/renewals.py ``confirm``, called by domain/leases.confirm for a lease that ``renews``),
not the selection's.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain.common import expect_version, new_id, now, now_iso
from chalicelib.domain.lifecycle import Lifecycle, Refusal
from chalicelib.identity import Actor, Role

if TYPE_CHECKING:
    from chalicelib.bodies import StaffRenewalIn
    from chalicelib.domain.leases import Lease
    from chalicelib.domain.reviews import Review


class RenewalStatus(StrEnum):
    REQUESTED = "requested"  # applied for; being decided (a moment, unless a step failed: re-applying goes on)
    AWAITING_REVIEW = "awaiting_review"  # the latest review is missing, manual or too old: a fresh one runs
    APPROVED = "approved"  # the new lease is drafted: the tenant confirms it
    RENEWED = "renewed"  # the tenant confirmed the new lease
    REFUSED = "refused"  # the review says the household must leave (the reasons are shown)
    CANCELLED = "cancelled"  # withdrawn by the tenant before confirming (may be applied for again)


REQUESTED, AWAITING_REVIEW, APPROVED, RENEWED, REFUSED, CANCELLED = (
    RenewalStatus.REQUESTED, RenewalStatus.AWAITING_REVIEW, RenewalStatus.APPROVED, RenewalStatus.RENEWED,
    RenewalStatus.REFUSED, RenewalStatus.CANCELLED)
STATUS_NAMES = {REQUESTED: "已申请", AWAITING_REVIEW: "资格核查中", APPROVED: "待确认新合同", RENEWED: "已续签",
                REFUSED: "不予续签", CANCELLED: "已撤回"}
RENEWALS: Lifecycle[RenewalStatus] = Lifecycle(
    "renewal", REQUESTED,
    {REQUESTED: {AWAITING_REVIEW, APPROVED, REFUSED, CANCELLED}, AWAITING_REVIEW: {APPROVED, REFUSED, CANCELLED},
     APPROVED: {RENEWED, CANCELLED}, RENEWED: set(), REFUSED: set(), CANCELLED: {REQUESTED}},
    names=STATUS_NAMES,
    refusals=[Refusal(frozenset({REFUSED}), frozenset(RenewalStatus), errors.RenewalRefused, "lease_id"),
              Refusal(frozenset({REQUESTED, AWAITING_REVIEW, APPROVED, RENEWED}), frozenset({REQUESTED}),
                      errors.RenewalExists, "lease_id"),
              Refusal(frozenset({REQUESTED, AWAITING_REVIEW}), frozenset({RENEWED}), errors.RenewalNotApproved,
                      "lease_id"),
              Refusal(frozenset({RENEWED, CANCELLED}), frozenset(RenewalStatus), errors.RenewalClosed, "lease_id")])
#: How the renewal was applied for.
VIA_NAMES = {"tenant": "承租人本人", "delegate": "受托人代办", "staff": "窗口工作人员代办"}
STAFF_ROLES = (Role.STAFF, Role.ADMIN)


@dataclass(frozen=True)
class Renewal:
    renewal_id: str
    lease_id: str  # the lease being renewed
    owner: str  # the tenant's login subject
    status: RenewalStatus = REQUESTED
    via: str = "tenant"  # tenant | delegate | staff
    requested_by: str = ""
    reason: str | None = None  # staff's written reason (masked), for the audit trail
    review_id: str | None = None  # the review that decided, or the one awaited
    outcome: str | None = None  # the review's outcome (continue, higher_rent, must_leave)
    monthly_rent: int | None = None  # fen: the new lease's rent
    reasons: list[str] = field(default_factory=list)  # why it was refused (zh-CN, shown to the tenant)
    leave_by: str | None = None  # a must-leave outcome's date
    new_lease_id: str | None = None
    requested_at: str = ""
    decided_at: str | None = None
    renewed_at: str | None = None
    cancelled_at: str | None = None
    created_at: str = ""
    updated_at: str = ""
    version: int = 1


def renewal_key(lease_id: str) -> str:
    """The one renewal a lease can have (a cancelled one is applied for again under the same key)."""
    return f"rnw-{lease_id}"


# --- the window and the review that decides ---------------------------------------------------------
def rules(city: str | None = None) -> Any:
    from chalicelib.city_files import city_file

    return city_file(city or deps().settings.city_code, "reviews.json").renewal


def months_before(day: date, months: int) -> date:
    """``day`` minus ``months`` calendar months (the last day of a shorter month if needed)."""
    import calendar

    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def window(lease: Lease) -> tuple[date, date]:
    """The days a renewal may be applied for: ``window_months`` before the day after the end, to the end."""
    end = date.fromisoformat(lease.end_date)
    return months_before(end + timedelta(days=1), rules().window_months), end


def deciding_review(lease_id: str, today: date) -> Review | None:
    """The latest decided review of the lease, if it was decided within ``review_valid_months``."""
    from chalicelib.domain.reviews import DECIDED

    decided = [r for r in deps().reviews.of_lease(lease_id) if r.status == DECIDED and r.decided_at]
    if not decided:
        return None
    latest = max(decided, key=lambda r: r.decided_at or "")
    oldest = months_before(today, rules().review_valid_months)
    return latest if (latest.decided_at or "")[:10] >= oldest.isoformat() else None


def refusal_reasons(review: Review) -> list[str]:
    """What the tenant is told: the recommendation's reasons (zh-CN), else its failed rules' explanations."""
    rec = review.recommendation or {}
    out = [str(r) for r in rec.get("reasons") or [] if isinstance(r, str) and r.strip()]
    if not out:
        for rule in rec.get("rules") or []:
            if isinstance(rule, dict) and rule.get("result") in ("failed", "fail"):
                text = rule.get("explanation") or rule.get("name")
                if text:
                    out.append(str(text))
    return out or ["年审结论为限期腾退，不予续签"]


def review_rent(review: Review, lease: Lease) -> int:
    """A higher-rent outcome's monthly rent in fen (``recommendation["rent"]["monthly_rent"]``); a
    review without one (never by the reviews' contract) keeps the current rent, logged."""
    value = ((review.recommendation or {}).get("rent") or {}).get("monthly_rent")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    from chalicelib.observability import logger

    logger.warning("higher_rent review without a rent", extra={"review_id": review.review_id})
    return lease.monthly_rent


# --- applying -----------------------------------------------------------------------------------------
def _reach(lease: Lease, actor: Actor, act: bool, reason: str | None = None) -> str:
    """How the caller reaches the lease: the tenant, a delegate within a live grant (``act`` to write),
    or staff (audited, with a reason). Anyone else is told the lease does not exist."""
    if lease.owner == actor.subject:
        return "tenant"
    if actor.has(*STAFF_ROLES):
        from chalicelib.domain import audit

        audit.record(actor, f"lease#{lease.lease_id}", "renewal" if act else "read_renewal", reason)
        return "staff"
    grant = deps().grants.between(lease.owner, actor.subject)
    if grant is None:
        raise errors.LeaseNotFound(lease.lease_id, field="lease_id")
    from chalicelib.domain.grants import check

    check(grant, "act" if act else "view")
    return "delegate"


def apply(lease_id: str, actor: Actor, version: int, reason: str | None = None) -> Renewal:
    """Apply to renew ``lease_id`` (its current ``version``): refused with a 409 and nothing written for
    a lease not in force, outside the window, renewed or with a live renewal already; else the renewal
    is decided at once by a recent review, or waits for a fresh one."""
    from chalicelib.domain.leases import CONFIRMED
    from chalicelib.domain.reviews import Outcome

    repo = deps().renewals
    lease = deps().leases.get(lease_id)
    via = _reach(lease, actor, act=True, reason=reason)
    existing = repo.find(renewal_key(lease_id))
    if existing is not None and existing.status == REQUESTED:
        return _decide(lease, existing)  # a step failed after the record was written: go on
    if lease.status != CONFIRMED:
        raise errors.LeaseNotRenewable(f"lease {lease.status}", field="lease_id")
    if lease.renewed_by:
        raise errors.RenewalExists(f"renewed by {lease.renewed_by}", field="lease_id")
    if existing is not None:
        RENEWALS.move(existing.status, REQUESTED)  # a live renewal: 409 RENEWAL_EXISTS
    expect_version(lease.version, version)
    today = now().date()
    opens, closes = window(lease)
    if not opens <= today <= closes:
        raise errors.RenewalOutsideWindow(
            f"{opens}..{closes}", field="lease_id",
            message=f"续签申请时间为租期届满前{rules().window_months}个月内（{opens.isoformat()}至{closes.isoformat()}）")
    review = deciding_review(lease_id, today)
    if review is not None and review.outcome == Outcome.MUST_LEAVE:  # refused before anything is written
        raise errors.RenewalRefused(review.review_id, field="lease_id",
                                    message="根据年审结论不予续签：" + "；".join(refusal_reasons(review)))
    at = now_iso()
    from chalicelib.domain.idnumbers import mask_free_text

    renewal = Renewal(renewal_id=renewal_key(lease_id), lease_id=lease_id, owner=lease.owner, via=via,
                      requested_by=actor.subject, reason=mask_free_text(reason)[:500] if reason else None,
                      requested_at=at, created_at=existing.created_at if existing else at, updated_at=at,
                      version=existing.version + 1 if existing else 1)
    repo.create(renewal, replacing=existing)  # a race with another application: 409 RENEWAL_EXISTS
    return _decide(lease, renewal)


def apply_at_counter(lease_id: str, actor: Actor, body: StaffRenewalIn) -> Renewal:
    return apply(lease_id, actor, body.version, reason=body.reason)


def _decide(lease: Lease, renewal: Renewal) -> Renewal:
    """A requested renewal: decided by the latest review if recent enough, else a fresh review opens."""
    from chalicelib.domain.reviews import Outcome

    review = deciding_review(lease.lease_id, now().date())
    if review is None or review.outcome not in (Outcome.CONTINUE, Outcome.HIGHER_RENT, Outcome.MUST_LEAVE):
        return _await_review(lease, renewal)
    return _by_review(lease, renewal, review)


def _await_review(lease: Lease, renewal: Renewal) -> Renewal:
    from chalicelib.domain import reviews
    from chalicelib.domain.bills import unit_label

    campaign_id = f"renewal-{lease.lease_id}-{lease.end_date}"
    reviewed = SimpleNamespace(lease_id=lease.lease_id, owner=lease.owner, estate_id=lease.estate_id,
                               unit_id=lease.unit_id, unit_label=unit_label(lease.estate_name, lease.building_name,
                                                                            lease.number))
    reviews.open_page(campaign_id, lease.end_date, [reviewed], kind=reviews.ReviewKind.RENEWAL)  # once, whatever retries
    at = now_iso()
    waiting = replace(renewal, status=RENEWALS.move(renewal.status, AWAITING_REVIEW),
                      review_id=reviews.review_key(campaign_id, lease.lease_id), updated_at=at,
                      version=renewal.version + 1)
    deps().renewals.update(waiting, renewal)
    _tell(waiting, "renewal_awaiting_review", {"lease_id": lease.lease_id})
    return waiting


def _by_review(lease: Lease, renewal: Renewal, review: Review) -> Renewal:
    from chalicelib.domain.reviews import Outcome

    at = now_iso()
    if review.outcome == Outcome.MUST_LEAVE:
        leave_by = (review.recommendation or {}).get("leave_by")
        refused = replace(renewal, status=RENEWALS.move(renewal.status, REFUSED), review_id=review.review_id,
                          outcome=review.outcome.value, reasons=refusal_reasons(review),
                          leave_by=str(leave_by) if leave_by else None, decided_at=at, updated_at=at,
                          version=renewal.version + 1)
        deps().renewals.update(refused, renewal)
        _tell(refused, "renewal_refused", {"lease_id": lease.lease_id, "reasons": "；".join(refused.reasons),
                                           "leave_by": refused.leave_by or ""})
        return refused
    rent, reduction = lease.monthly_rent, lease.reduction
    if review.outcome == Outcome.HIGHER_RENT:
        rent, reduction = review_rent(review, lease), None  # the review's rent is what is due: no reduction on it
    new = draft(lease, rent, reduction, at)
    approved = replace(renewal, status=RENEWALS.move(renewal.status, APPROVED), review_id=review.review_id,
                       outcome=review.outcome.value if review.outcome else None, monthly_rent=rent,
                       new_lease_id=new.lease_id, decided_at=at, updated_at=at, version=renewal.version + 1)
    deps().renewals.approve(approved, renewal, new)  # the renewal and the drafted lease at once
    _tell(approved, "renewal_approved", {"lease_id": lease.lease_id, "new_lease_id": new.lease_id,
                                         "start_date": new.start_date, "end_date": new.end_date,
                                         "monthly_rent": f"{rent / 100:.2f}"})
    return approved


def draft(old: Lease, rent: int, reduction: dict[str, Any] | None, at: str) -> Lease:
    """The new lease: the same unit and household, the city's term from the day after the old one
    ends, ``rent`` a month; the deposit carried over from the old lease (no second deposit bill)."""
    from chalicelib.domain.leases import DRAFT, add_months, config

    cfg = config()
    start = date.fromisoformat(old.end_date) + timedelta(days=1)
    carried = f"押金{old.deposit / 100:.2f}元由原租赁合同（编号{old.lease_id}）结转，不另行收取。"
    return replace(old, lease_id=new_id("lse"), base_rent=old.base_rent, monthly_rent=rent, reduction=reduction,
                   term_months=cfg.term_months, start_date=start.isoformat(),
                   end_date=add_months(start, cfg.term_months).isoformat(), landlord=cfg.landlord,
                   clauses=[*cfg.clauses, carried], status=DRAFT, confirmed_at=None, confirmed_device=None,
                   contract_key=None, renews=old.lease_id, renewed_by=None, rent_changes=[],  # its own rent, from its start
                   created_at=at, updated_at=at, version=1)


# --- the review's answer, the tenant's confirmation, cancelling ----------------------------------------
def review_decided(review: Review) -> Renewal | None:
    """Called by the reviews' code when a review of kind ``renewal`` is decided: the renewal waiting for
    it goes on (approved with a new lease, or refused). A manual outcome keeps it waiting; a review no
    renewal waits for (cancelled meanwhile, or a repeat call) changes nothing."""
    from chalicelib.domain.reviews import Outcome

    renewal = deps().renewals.find(renewal_key(review.lease_id))
    if renewal is None or renewal.status != AWAITING_REVIEW or renewal.review_id != review.review_id:
        return None
    if review.outcome not in (Outcome.CONTINUE, Outcome.HIGHER_RENT, Outcome.MUST_LEAVE):
        return None
    return _by_review(deps().leases.get(review.lease_id), renewal, review)


def cancel(lease_id: str, actor: Actor, version: int) -> Renewal:
    """The tenant (or an ``act`` delegate) withdraws a renewal not yet confirmed; an approved one's
    drafted lease is deleted with it."""
    lease = deps().leases.get(lease_id)
    _reach(lease, actor, act=True)
    renewal = deps().renewals.get(renewal_key(lease_id))
    to = RENEWALS.move(renewal.status, CANCELLED)
    expect_version(renewal.version, version)
    at = now_iso()
    cancelled = replace(renewal, status=to, cancelled_at=at, updated_at=at, version=renewal.version + 1)
    deps().renewals.cancel(cancelled, renewal)
    return cancelled


def get(lease_id: str, actor: Actor, reason: str | None = None) -> Renewal:
    """The renewal of a lease: its tenant, a delegate with a live grant, staff (audited)."""
    lease = deps().leases.get(lease_id)
    _reach(lease, actor, act=False, reason=reason)
    return deps().renewals.get(renewal_key(lease_id))


def _tell(renewal: Renewal, template: str, params: dict[str, str]) -> None:
    from chalicelib.notify import Notice

    person = deps().households.get(renewal.owner)
    deps().notifier.notify(Notice(template=template, params=params, recipient=renewal.owner,
                                  mobile=person.mobile if person else None))

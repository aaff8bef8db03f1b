"""Annual reviews (年审), issue 12 §1: one review per lease and campaign, answered by the household
("nothing changed" in one tap, or a changed household), verified by the same departments' workflow
and rules engine with the city's review rules, recommended, and confirmed by staff.

This module holds the review itself: its lifecycle, the record a campaign opens for each lease
(``open_page``: exactly once per lease and campaign, however often a page is retried) and, as
the work goes on, answering, the recommendation and the staff's decision. Campaigns (which leases,
the window, the notices) are domain/review_campaigns.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from chalicelib.deps import deps
from chalicelib.domain.common import now_iso
from chalicelib.domain.lifecycle import Lifecycle


class ReviewStatus(StrEnum):
    OPEN = "open"  # waiting for the household's answer (notices go out before the deadline)
    VERIFYING = "verifying"  # answered (or exempt): the departments are being asked
    RECOMMENDED = "recommended"  # the rules' recommendation is ready: staff confirm it
    DECIDED = "decided"  # staff confirmed the outcome (the tenant is told, with the reasons)


class Outcome(StrEnum):
    CONTINUE = "continue"  # 继续承租
    HIGHER_RENT = "higher_rent"  # 继续承租，按标准提高租金 (from the next bill)
    MUST_LEAVE = "must_leave"  # 腾退, with the city's grace period
    MANUAL = "manual"  # 人工审核


class ReviewKind(StrEnum):
    CAMPAIGN = "campaign"  # opened by a review campaign
    RENEWAL = "renewal"  # opened for a renewal whose latest review is too old (§2)


OPEN, VERIFYING, RECOMMENDED, DECIDED = (ReviewStatus.OPEN, ReviewStatus.VERIFYING, ReviewStatus.RECOMMENDED,
                                         ReviewStatus.DECIDED)
STATUS_NAMES = {OPEN: "待申报", VERIFYING: "核查中", RECOMMENDED: "待确认", DECIDED: "已办结"}
OUTCOME_NAMES = {Outcome.CONTINUE: "继续承租", Outcome.HIGHER_RENT: "提高租金后继续承租",
                 Outcome.MUST_LEAVE: "限期腾退", Outcome.MANUAL: "人工审核"}
REVIEWS: Lifecycle[ReviewStatus] = Lifecycle(
    "review", OPEN,
    {OPEN: {VERIFYING}, VERIFYING: {RECOMMENDED, OPEN}, RECOMMENDED: {DECIDED, VERIFYING}, DECIDED: set()},
    names=STATUS_NAMES)


@dataclass(frozen=True)
class Review:
    review_id: str
    campaign_id: str
    lease_id: str
    owner: str | None  # the tenant's account (None: an imported lease not claimed yet)
    estate_id: str
    unit_id: str
    unit_label: str
    deadline: str  # YYYY-MM-DD, China time: the last day to answer
    kind: ReviewKind = ReviewKind.CAMPAIGN
    status: ReviewStatus = OPEN
    answer: dict[str, Any] | None = None  # what the household said (no change / the changes)
    answered_at: str | None = None
    answered_by: str | None = None
    recommendation: dict[str, Any] | None = None  # the rules' outcome with every rule explained
    outcome: Outcome | None = None  # as staff confirmed it
    decided_at: str | None = None
    decided_by: str | None = None
    notices: dict[str, str] = field(default_factory=dict)  # notice offset (days) -> when it was queued
    created_at: str = ""
    updated_at: str = ""
    version: int = 1


def review_key(campaign_id: str, lease_id: str) -> str:
    """A review's id: one per lease and campaign, so a retried page writes nothing twice."""
    return f"rev-{campaign_id}-{lease_id}"


@dataclass(frozen=True)
class Opened:
    """What a page of leases gave: reviews this call wrote, and those that existed already."""

    created: int = 0
    existing: int = 0


def open_page(campaign_id: str, deadline: str, leases: list[Any], kind: ReviewKind = ReviewKind.CAMPAIGN) -> Opened:
    """Open one review per lease of the page (``bills.ActiveLease``-like: lease_id, owner,
    estate_id, unit_id, unit_label), each written only if it does not exist yet."""
    at = now_iso()
    reviews = [Review(review_key(campaign_id, lease.lease_id), campaign_id, lease.lease_id, lease.owner,
                      lease.estate_id, lease.unit_id, lease.unit_label, deadline, kind=kind, created_at=at,
                      updated_at=at) for lease in leases]
    existing = deps().reviews.create_many(reviews)
    return Opened(created=len(reviews) - len(existing), existing=len(existing))


def get(review_id: str) -> Review:
    return deps().reviews.get(review_id)

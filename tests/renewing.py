"""Helpers for the renewal tests (续签, docs/decisions/0033), and the driver `make demo` uses: a lease
brought into its renewal window, decided reviews written straight to the reviews table (as the reviews'
own code leaves them), and ``renew``, which takes one lease through renewal to a confirmed new lease
(devstack/tenancy.py, the driver the demo uses too)."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any, Callable

from devstack import tenancy
from devstack.tenancy import term_ending_in

#: ``call(method, path, headers, body) -> (status, body)``: the Chalice test client (tests.applying.call)
#: or HTTP against a running `make run` (the demo).
Caller = tenancy.Send


def ending_in(lease_id: str, days: int) -> Any:
    """Move a lease's term so that it ends ``days`` from today (China time), keeping its length: a
    lease inside its renewal window (or, with a large ``days``, before it)."""
    from chalicelib.deps import deps
    from chalicelib.repositories.leases import lease_record

    lease = deps().leases.get(lease_id)
    start, end = term_ending_in(lease.term_months, days)
    moved = replace(lease, start_date=start.isoformat(), end_date=end.isoformat())
    lease_record(moved).save()
    return moved


def decided_review(lease_id: str, outcome: str, *, days_ago: int = 30, kind: str = "campaign",
                   recommendation: dict[str, Any] | None = None, campaign_id: str | None = None) -> Any:
    """A review of ``lease_id`` decided ``days_ago`` with ``outcome``, as the reviews' code stores one
    (the campaign and staff confirmation are the reviews' own tests)."""
    from chalicelib.deps import deps
    from chalicelib.domain.common import new_id, now
    from chalicelib.domain.reviews import DECIDED, Outcome, Review, ReviewKind, review_key
    from chalicelib.repositories.reviews import review_record

    lease = deps().leases.get(lease_id)
    at = (now() - timedelta(days=days_ago)).isoformat(timespec="milliseconds")
    campaign = campaign_id or new_id("cmp")
    review = Review(review_key(campaign, lease_id), campaign, lease_id, lease.owner, lease.estate_id, lease.unit_id,
                    "福泽园1栋101", at[:10], kind=ReviewKind(kind), status=DECIDED, outcome=Outcome(outcome),
                    recommendation=recommendation, decided_at=at, decided_by="sub_staff", created_at=at, updated_at=at)
    review_record(review).save()
    return review


def decide(review_id: str, outcome: str, recommendation: dict[str, Any] | None = None) -> Any:
    """What the reviews' code does when staff confirm a renewal review: the review decided, then
    ``renewals.review_decided`` (the hook this issue's renewal provides)."""
    from chalicelib.deps import deps
    from chalicelib.domain import renewals
    from chalicelib.domain.common import now_iso
    from chalicelib.domain.reviews import DECIDED, Outcome
    from chalicelib.repositories.reviews import review_record

    review = deps().reviews.get(review_id)
    decided = replace(review, status=DECIDED, outcome=Outcome(outcome), recommendation=recommendation,
                      decided_at=now_iso(), decided_by="sub_staff", updated_at=now_iso(), version=review.version + 1)
    review_record(decided).save()
    return renewals.review_decided(decided)


def renew(call: Caller, tenant: dict[str, str], lease_id: str, *, key: str = "renewal-demo",
          decide_review: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """devstack.tenancy.renew (the demo's driver too), a waiting review decided ``continue`` by default."""
    return tenancy.renew(call, tenant, lease_id, key=key,
                         decide_review=decide_review or (lambda review_id: decide(review_id, "continue")))

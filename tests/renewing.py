"""Helpers for the renewal tests (续签, docs/decisions/0033), and the driver `make demo` uses: a lease
brought into its renewal window, decided reviews written straight to the reviews table (as the reviews'
own code leaves them), and ``renew``, which takes one lease through renewal to a confirmed new lease."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any, Callable

#: ``call(method, path, headers, body) -> (status, body)``: the Chalice test client (tests.applying.call)
#: or HTTP against a running `make run` (the demo).
Caller = Callable[[str, str, dict[str, str], Any], tuple[int, Any]]


def ending_in(lease_id: str, days: int) -> Any:
    """Move a lease's term so that it ends ``days`` from today (China time), keeping its length: a
    lease inside its renewal window (or, with a large ``days``, before it)."""
    from chalicelib.deps import deps
    from chalicelib.domain.common import now
    from chalicelib.domain.renewals import months_before
    from chalicelib.repositories.leases import lease_record

    lease = deps().leases.get(lease_id)
    end = now().date() + timedelta(days=days)
    start = months_before(end + timedelta(days=1), lease.term_months)
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
    """Take one lease through renewal to a confirmed new lease, as the tenant's app does: read the
    lease, apply (``POST /v1/me/lease/{id}/renewal``), let a waiting review be decided
    (``decide_review(review_id)``: staff's confirmation, by default ``continue``), then confirm the
    new lease (``POST /v1/me/lease/{new}/confirm``). Returns {"renewal", "lease"} (the new lease)."""
    status, mine = call("GET", "/v1/me/lease", tenant, None)
    assert status == 200, mine
    lease = next(item for item in mine["items"] if item["lease_id"] == lease_id)
    status, renewal = call("POST", f"/v1/me/lease/{lease_id}/renewal", {**tenant, "Idempotency-Key": key},
                           {"version": lease["version"]})
    assert status == 201, renewal
    if renewal["status"] == "awaiting_review":
        (decide_review or (lambda review_id: decide(review_id, "continue")))(renewal["review_id"])
        status, renewal = call("GET", f"/v1/me/lease/{lease_id}/renewal", tenant, None)
        assert status == 200, renewal
    assert renewal["status"] == "approved", renewal
    status, mine = call("GET", "/v1/me/lease", tenant, None)
    new = next(item for item in mine["items"] if item["lease_id"] == renewal["new_lease_id"])
    status, confirmed = call("POST", f"/v1/me/lease/{new['lease_id']}/confirm", tenant, {"version": new["version"]})
    assert status == 200, confirmed
    status, renewal = call("GET", f"/v1/me/lease/{lease_id}/renewal", tenant, None)
    assert status == 200 and renewal["status"] == "renewed", renewal
    return {"renewal": renewal, "lease": confirmed}

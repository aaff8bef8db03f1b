"""The annual review (年审), issue 12: a review per lease and campaign, opened once whatever retries."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import reviews
from chalicelib.domain.bills import ActiveLease
from chalicelib.domain.common import new_id


def active(owner: str | None = "sub-1") -> ActiveLease:
    return ActiveLease(lease_id=new_id("lse"), owner=owner, confirmed=True, monthly_rent=30000, base_rent=30000,
                       reduction=None, start_date="2026-01-01", end_date="2028-12-31", estate_id="est-r",
                       unit_id=new_id("unit"), unit_label="福泽园1栋101")


def test_a_page_opens_one_review_per_lease_and_campaign_whatever_retries(stack: Any) -> None:
    campaign = new_id("rcmp")
    page = [active() for _ in range(120)] + [active(owner=None)]  # two transactions' worth; one unclaimed
    assert reviews.open_page(campaign, "2027-03-31", page[:7]) == reviews.Opened(created=7, existing=0)
    assert reviews.open_page(campaign, "2027-03-31", page) == reviews.Opened(created=114, existing=7)
    assert reviews.open_page(campaign, "2027-03-31", page) == reviews.Opened(created=0, existing=121)
    first = reviews.get(reviews.review_key(campaign, page[0].lease_id))
    assert (first.status, first.deadline, first.owner, first.kind) == (
        reviews.OPEN, "2027-03-31", "sub-1", reviews.ReviewKind.CAMPAIGN)
    assert reviews.get(reviews.review_key(campaign, page[-1].lease_id)).owner is None
    other = new_id("rcmp")  # another campaign reviews the same lease again
    assert reviews.open_page(other, "2028-03-31", page[:1]) == reviews.Opened(created=1, existing=0)
    assert [r.campaign_id for r in deps().reviews.of_lease(page[0].lease_id)] == [other, campaign]
    with pytest.raises(errors.ReviewNotFound):
        reviews.get(reviews.review_key(campaign, "lse_none"))

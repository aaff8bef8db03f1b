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


# --- answer -> verification -> recommendation -> confirm, on the real workflow ------------------------------
import functools  # noqa: E402
import time  # noqa: E402
from typing import Iterator  # noqa: E402

import requests  # noqa: E402

from tests import reviewing  # noqa: E402
from tests.applying import call  # noqa: E402


@pytest.fixture(scope="module")
def workflow(stack: Any) -> Iterator[Any]:
    stack.enable_verification()
    stack.departments.reset_modes()
    yield stack
    stack.departments.reset_modes()
    stack.disable_verification()


def _upload(form: dict[str, Any]) -> None:
    from tests.applying import JPEG

    r = requests.post(form["url"], data=form["fields"], files={"file": ("f", JPEG, "image/jpeg")}, timeout=10)
    assert r.status_code == 204, r.text


def _accepted(stack: Any, review_id: str) -> None:
    """The document worker has checked every upload (the local stack's S3 -> SQS -> worker)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        stack.drain()
        docs = deps().reviews.get(review_id).documents.values()
        if docs and all(d["status"] == "accepted" for d in docs):
            return
        time.sleep(0.05)
    raise AssertionError("documents not checked")


def test_three_households_continue_pay_more_and_leave(client: Any, workflow: Any, tokens: Any) -> None:
    from chalicelib.domain.bills import rent_bill, rent_rules
    from chalicelib.repositories.leases import to_active
    from chalicelib.repositories.tables import LeaseRecord

    do = functools.partial(call, client)
    staff = tokens.headers("staff")
    campaign = new_id("rcmp")
    same = reviewing.housed(client, workflow, "年审甲")
    richer = reviewing.housed(client, workflow, "年审乙", income=200000)
    owner = reviewing.housed(client, workflow, "年审丙", real_estate=reviewing.OWNS_HOME)
    ids = {t.lease_id: reviewing.open_review(t.lease_id, campaign) for t in (same, richer, owner)}

    view = reviewing.current(do, same.headers)
    assert (view["status"], view["as"], [w["change"] for w in view["ways"]]) == ("open", "tenant", ["none", "changed"])
    assert view["household"]["members"][0]["name"] == "年审甲" and view["consents"][0]["given"] is False
    reviewing.no_change(do, same.headers, ids[same.lease_id])
    reviewing.no_change(do, owner.headers, ids[owner.lease_id])
    workflow.departments.update(richer.person.id_number, provident_fund={"monthly_deposit_base": 380000})
    member = richer.person.member(monthly_income=380000)
    status, refused = do("POST", f"/v1/reviews/{ids[richer.lease_id]}/answer", richer.headers, {
        "version": reviewing.current(do, richer.headers)["version"], "change": "changed", "members": [member],
        "consent": {"text_version": view["consent_text_version"], "agree": True}})
    assert (status, refused["error"]["code"]) == (409, "DOCUMENTS_INCOMPLETE"), refused  # the city's proof first
    status, form = do("POST", f"/v1/reviews/{ids[richer.lease_id]}/documents", richer.headers,
                      {"type": "other", "content_type": "image/jpeg"})
    assert status == 201, form
    _upload(form["upload"])
    _accepted(workflow, ids[richer.lease_id])
    status, answered = do("POST", f"/v1/reviews/{ids[richer.lease_id]}/answer", richer.headers, {
        "version": reviewing.current(do, richer.headers)["version"], "change": "changed", "members": [member],
        "consent": {"text_version": view["consent_text_version"], "agree": True}})
    assert status == 200 and answered["answer"]["change"] == "changed", answered

    continuing = reviewing.wait_for(do, staff, ids[same.lease_id], "recommended")
    rec = continuing["recommendation"]
    assert (rec["outcome"], rec["clean"]) == ("continue", True), rec
    assert {r["rule_id"]: r["result"] for r in rec["rules"]}["review_housing"] == "passed"
    housing = next(r for r in rec["rules"] if r["rule_id"] == "review_housing")
    assert housing["sources"]["homes_owned_in_city"]["source_name"] == "不动产登记"
    paying = reviewing.wait_for(do, staff, ids[richer.lease_id], "recommended")["recommendation"]
    assert paying["outcome"] == "higher_rent" and paying["rent"]["monthly_rent"] == 60000, paying  # 1.5 x 400 yuan
    leaving = reviewing.wait_for(do, staff, ids[owner.lease_id], "recommended")
    assert leaving["recommendation"]["outcome"] == "must_leave", leaving["recommendation"]
    assert "应腾退" in leaving["recommendation"]["reasons"][0]

    # one click: the clean continue only; the others are each confirmed alone
    result = reviewing.confirm_continues(do, staff, campaign_id=campaign)
    assert (result["confirmed"], result["review_ids"]) == (1, [ids[same.lease_id]]), result
    again = reviewing.confirm_continues(do, staff, review_ids=[ids[same.lease_id], ids[owner.lease_id]])
    assert again["confirmed"] == 0 and {x["code"] for x in again["left"]} == {"REVIEW_NOT_CONFIRMABLE"}, again
    raised = reviewing.confirm(do, staff, reviewing.wait_for(do, staff, ids[richer.lease_id], "recommended"))
    rent = raised["recommendation"]["rent"]
    assert raised["outcome"] == "higher_rent" and rent["from_month"] > time.strftime("%Y-%m"), rent
    left = reviewing.confirm(do, staff, leaving)
    assert left["outcome"] == "must_leave" and left["recommendation"]["grace_days"] == 180, left
    assert left["recommendation"]["leave_by"] > time.strftime("%Y-%m-%d")

    # the higher rent from its month: the next bill; an earlier month's bill issued later keeps the old rent
    active = to_active(LeaseRecord.get(richer.lease_id).serialize() | {"lease_id": {"S": richer.lease_id}})
    later = rent_bill(active, rent["from_month"], "run_x", rent_rules(), "2026-01-01T00:00:00+08:00")
    earlier = rent_bill(active, "2026-06", "run_x", rent_rules(), "2026-01-01T00:00:00+08:00")
    assert (later.amount, earlier.amount) == (60000, 40000), (later, earlier)
    assert reviewing.current(do, same.headers)["outcome"] == "continue"
    workflow.drain()
    from chalicelib.notify import RECORDED

    told = {n["recipient"]: n["text"] for n in RECORDED if "年审" in n.get("text", "")}
    assert "自" + rent["from_month"] in told[richer.subject] and "60" in told[richer.subject], told
    assert left["recommendation"]["leave_by"] in told[owner.subject] and "不动产登记" in told[owner.subject], told


def test_a_save_from_an_older_read_keeps_the_notices_marked_since(stack: Any) -> None:
    """The campaigns mark a reminder on the review without moving its version; a household's answer
    saved from a read taken before that mark must not wipe it (nor may a stale version be saved)."""
    from dataclasses import replace

    from chalicelib.repositories.reviews import mark_notice

    campaign, lease = new_id("rcmp"), active()
    reviews.open_page(campaign, "2027-03-31", [lease])
    read = reviews.get(reviews.review_key(campaign, lease.lease_id))
    assert mark_notice(read.review_id, "7", "2027-03-24T09:30:00+08:00") is True
    deps().reviews.save(replace(read, status=reviews.VERIFYING, version=read.version + 1), read.version)
    saved = reviews.get(read.review_id)
    assert (saved.status, saved.version, saved.notices.get("7")) == (reviews.VERIFYING, read.version + 1,
                                                                     "2027-03-24T09:30:00+08:00")
    with pytest.raises(errors.StaleVersion):
        deps().reviews.save(replace(read, status=reviews.DECIDED, version=read.version + 1), read.version)
    assert reviews.get(read.review_id).status == reviews.VERIFYING


def test_a_higher_rent_starts_on_the_first_bill_not_issued_yet(client: Any, stack: Any) -> None:
    """A month billed ahead of the decision keeps its bill: the change starts the month after it."""
    from datetime import date

    from chalicelib.domain.bills import ActiveLease, rent_bill, rent_rules
    from chalicelib.domain.review_outcomes import higher_rent

    tenant = reviewing.housed(client, stack, "年审预出账")
    lease = deps().leases.get(tenant.lease_id)
    assert higher_rent(lease, 10, date(2026, 12, 5))["from_month"] == "2027-01"  # the city's next month
    active = ActiveLease(lease.lease_id, lease.owner, True, lease.monthly_rent, lease.base_rent, lease.reduction,
                         lease.start_date, lease.end_date, lease.estate_id, lease.unit_id, "福泽园1栋101")
    assert deps().bills.create(rent_bill(active, "2027-01", "run_ahead", rent_rules(), "2026-12-01T02:00:00+08:00"))
    rent = higher_rent(lease, 10, date(2026, 12, 5))
    assert (rent["from_month"], rent["monthly_rent"]) == ("2027-02", 60000) and "自 2027-02 起" in rent["basis"], rent
    assert higher_rent(lease, 10, date(2027, 3, 5))["from_month"] == "2027-04"  # an older bill changes nothing

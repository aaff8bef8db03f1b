"""Renewal (续签, issue 12 §2; docs/decisions/0033) on the local stack with real tokens: the latest review
decides (continue: the same rent; higher rent: the review's rent; must leave: refused with the reasons),
a missing, manual or old review opens a fresh one whose decision carries the renewal on; the new lease
is linked to the old one, confirmed by the tenant without moving the unit or billing a second deposit,
and billed from its start; and every refusal answers a 4xx with its code, nothing changed."""
from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from typing import Any

import pytest

from chalicelib.domain.bills import BillKind, Skipped, bill_key
from tests.applying import Citizen, call, register
from tests.renewing import decide, decided_review, ending_in, renew
from tests.test_arrears import _lease, _sent, _subject

HIGHER = {"rent": {"monthly_rent": 42000, "from_month": "2027-01", "basis": "家庭人均收入超过继续承租标准，按市场租金计收"}}
MUST_LEAVE = {"reasons": ["家庭成员在本市拥有住房（不动产登记）"], "leave_by": "2027-06-30"}


@pytest.fixture(scope="module")
def world(stack: Any, catalogue: dict[str, Any]) -> dict[str, Any]:
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        people = {k: Citizen(stack, n) for k, n in (("tenant", "赵建华"), ("stranger", "钱美玲"), ("child", "赵小军"),
                                                    ("viewer", "孙丽丽"))}
        for person in people.values():
            register(client, person)
        for who, scopes in (("child", ["act"]), ("viewer", ["view"])):
            status, grant = call(client, "POST", "/v1/me/grants", people["tenant"].headers(), {
                "delegate_mobile": people[who].mobile, "scopes": scopes,
                "expires_at": (date.today() + timedelta(days=60)).isoformat() + "T00:00:00+08:00"})
            assert status == 201, grant
    return {**people, "units": catalogue["units"], "owner": _subject(people["tenant"].token)}


def fresh(world: dict[str, Any], days_left: int = 60, who: str = "tenant") -> Any:
    """A confirmed lease of ``who`` ending ``days_left`` from today."""
    lease_id = _lease(world[who], "fuzeyuan", world["units"][2], "赵建华")
    return ending_in(lease_id, days_left)


def lease_of(lease_id: str) -> Any:
    from chalicelib.deps import deps

    return deps().leases.get(lease_id)


def apply(client: Any, person: Citizen, lease: Any, **headers: str) -> tuple[int, Any]:
    return call(client, "POST", f"/v1/me/lease/{lease.lease_id}/renewal", person.headers(**headers),
                {"version": lease.version})


def new_lease_in_my_list(client: Any, person: Citizen, lease_id: str) -> dict[str, Any]:
    status, mine = call(client, "GET", "/v1/me/lease", person.headers())
    assert status == 200, mine
    return next(item for item in mine["items"] if item["lease_id"] == lease_id)


# --- the latest review decides -------------------------------------------------------------------------
def test_continue_renews_at_the_same_rent_and_the_tenant_confirms_the_linked_new_lease(
        client: Any, stack: Any, world: dict[str, Any]) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain.leases import config

    tenant, old = world["tenant"], fresh(world)
    review = decided_review(old.lease_id, "continue", days_ago=100)
    unit_before = deps().units.get(old.unit_id)
    status, renewal = apply(client, tenant, old)
    assert status == 201, renewal
    assert (renewal["status"], renewal["status_name"], renewal["outcome"], renewal["review_id"]) == (
        "approved", "待确认新合同", "continue", review.review_id)
    assert (renewal["monthly_rent"], renewal["via"], renewal["reasons"]) == (old.monthly_rent, "tenant", [])
    new = new_lease_in_my_list(client, tenant, renewal["new_lease_id"])
    start = date.fromisoformat(old.end_date) + timedelta(days=1)
    assert (new["status"], new["renews"], new["renewed_by"]) == ("draft", old.lease_id, None)
    assert (new["start_date"], new["term_months"]) == (start.isoformat(), config().term_months)
    assert (new["monthly_rent"], new["base_rent"], new["deposit"]) == (old.monthly_rent, old.base_rent, old.deposit)
    assert new["unit"]["unit_id"] == old.unit_id and any("结转" in c for c in new["clauses"])

    status, confirmed = call(client, "POST", f"/v1/me/lease/{new['lease_id']}/confirm", tenant.headers(),
                             {"version": new["version"]})
    assert status == 200 and confirmed["status"] == "confirmed" and confirmed["has_contract"], confirmed
    assert lease_of(old.lease_id).renewed_by == new["lease_id"]
    status, seen = call(client, "GET", f"/v1/me/lease/{old.lease_id}/renewal", tenant.headers())
    assert status == 200 and seen["status"] == "renewed" and seen["renewed_at"], seen
    # the unit was not moved (it stays leased to the same household) and the deposit carried over
    assert deps().units.get(old.unit_id) == unit_before
    with pytest.raises(Exception) as missing:
        deps().bills.get(bill_key(new["lease_id"], BillKind.DEPOSIT))
    assert type(missing.value).__name__ == "BillNotFound"
    status, link = call(client, "GET", f"/v1/leases/{new['lease_id']}/contract", tenant.headers())
    assert status == 200 and link["download"]["url"], link
    # a repeated confirm answers the same lease; a second renewal of the old lease is refused
    status, again = call(client, "POST", f"/v1/me/lease/{new['lease_id']}/confirm", tenant.headers(),
                         {"version": new["version"]})
    assert status == 200 and again["version"] == confirmed["version"], again
    status, body = apply(client, tenant, lease_of(old.lease_id))
    assert (status, body["error"]["code"]) == (409, "RENEWAL_EXISTS"), body
    told = [n["template"] for n in _sent(stack, world["owner"]) if old.lease_id in n["text"] or new["lease_id"] in n["text"]]
    assert told == ["renewal_approved", "lease_renewed"]


def test_billing_bills_the_old_lease_to_its_end_and_the_new_one_from_its_start(
        client: Any, world: dict[str, Any]) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain import bills
    from chalicelib.domain.bills import shard_of

    old = fresh(world, days_left=45)
    decided_review(old.lease_id, "higher_rent", recommendation=HIGHER)
    done = renew(partial(call, client), world["tenant"].headers(), old.lease_id, key="renewal-billing-0001")
    new = done["lease"]
    assert (new["monthly_rent"], new["reduction"], done["renewal"]["outcome"]) == (42000, None, "higher_rent")
    active = {}
    for lease_id in (old.lease_id, new["lease_id"]):
        cursor = None
        while lease_id not in active:  # the shard's pages of billing's active-leases index
            page, cursor = deps().leases.active_page(shard_of(lease_id), cursor, 100)
            active.update({a.lease_id: a for a in page if a.lease_id == lease_id})
            assert lease_id in active or cursor is not None, lease_id
    rules, at = bills.rent_rules(), "2027-01-01T00:00:00.000+08:00"
    last, first = old.end_date[:7], new["start_date"][:7]
    old_bill = bills.rent_bill(active[old.lease_id], last, "brun_t", rules, at)
    new_bill = bills.rent_bill(active[new["lease_id"]], first, "brun_t", rules, at)
    assert not isinstance(old_bill, Skipped) and not isinstance(new_bill, Skipped)
    assert (old_bill.period_end, new_bill.period_start) == (old.end_date, new["start_date"])
    assert (old_bill.base_amount, new_bill.base_amount) == (old.monthly_rent, 42000)
    if last == first:  # the month the term changes in is shared by days, each at its own rent
        days = [b.proration["days"] if b.proration else 0 for b in (old_bill, new_bill)]
        in_month = bills.month_bounds(first)[1].day
        assert sum(days) == in_month and new_bill.amount == bills.prorate(42000, days[1], in_month)
    after = (bills.month_bounds(first)[1] + timedelta(days=1)).isoformat()[:7]
    before = (bills.month_bounds(last)[0] - timedelta(days=1)).isoformat()[:7]
    assert bills.rent_bill(active[old.lease_id], after, "brun_t", rules, at) is Skipped.NOT_ACTIVE
    assert bills.rent_bill(active[new["lease_id"]], before, "brun_t", rules, at) is Skipped.NOT_ACTIVE


def test_a_must_leave_review_refuses_with_its_reasons_and_writes_nothing(client: Any, world: dict[str, Any]) -> None:
    from chalicelib.deps import deps

    old = fresh(world)
    decided_review(old.lease_id, "must_leave", recommendation=MUST_LEAVE)
    status, body = apply(client, world["tenant"], old)
    assert (status, body["error"]["code"], body["error"]["field"]) == (409, "RENEWAL_REFUSED", "lease_id"), body
    assert "家庭成员在本市拥有住房" in body["error"]["message"]
    assert deps().renewals.find(f"rnw-{old.lease_id}") is None and lease_of(old.lease_id) == old
    status, body = call(client, "GET", f"/v1/me/lease/{old.lease_id}/renewal", world["tenant"].headers())
    assert (status, body["error"]["code"]) == (404, "RENEWAL_NOT_FOUND"), body


# --- no recent review: a fresh verification, and its decision carries the renewal on -------------------------
@pytest.mark.parametrize("before", ["none", "manual", "too_old"])
def test_without_a_recent_review_a_renewal_review_opens_and_its_decision_goes_on(
        client: Any, stack: Any, world: dict[str, Any], before: str) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain.reviews import OPEN, ReviewKind

    old = fresh(world)
    if before == "manual":
        decided_review(old.lease_id, "manual")
    if before == "too_old":
        decided_review(old.lease_id, "continue", days_ago=400)  # beyond the city's 12 months
    status, renewal = apply(client, world["tenant"], old)
    assert status == 201 and renewal["status"] == "awaiting_review" and renewal["new_lease_id"] is None, renewal
    review = deps().reviews.get(renewal["review_id"])
    assert (review.kind, review.status, review.lease_id, review.campaign_id) == (
        ReviewKind.RENEWAL, OPEN, old.lease_id, f"renewal-{old.lease_id}-{old.end_date}")
    # applying again while it waits is refused; the review's confirm route is not this one's
    status, body = apply(client, world["tenant"], old)
    assert (status, body["error"]["code"]) == (409, "RENEWAL_EXISTS"), body
    assert decide(renewal["review_id"], "manual") is None  # still manual: the renewal keeps waiting
    decided = decide(renewal["review_id"], "continue")
    assert decided is not None and decided.status.value == "approved" and decided.new_lease_id
    assert decide(renewal["review_id"], "continue") is None  # a repeated call changes nothing
    status, seen = call(client, "GET", f"/v1/me/lease/{old.lease_id}/renewal", world["child"].headers())
    assert status == 200 and seen["status"] == "approved" and seen["new_lease_id"] == decided.new_lease_id, seen


def test_a_renewal_reviews_must_leave_refuses_and_the_tenant_sees_the_reasons(
        client: Any, stack: Any, world: dict[str, Any]) -> None:
    old = fresh(world)
    status, renewal = apply(client, world["tenant"], old)
    assert status == 201 and renewal["status"] == "awaiting_review", renewal
    decide(renewal["review_id"], "must_leave", MUST_LEAVE)
    status, seen = call(client, "GET", f"/v1/me/lease/{old.lease_id}/renewal", world["tenant"].headers())
    assert status == 200, seen
    assert (seen["status"], seen["status_name"], seen["reasons"], seen["leave_by"]) == (
        "refused", "不予续签", MUST_LEAVE["reasons"], "2027-06-30")
    told = [n for n in _sent(stack, world["owner"]) if old.lease_id in n["text"]]
    assert [n["template"] for n in told] == ["renewal_awaiting_review", "renewal_refused"]
    assert "拥有住房" in told[-1]["text"] and "2027-06-30" in told[-1]["text"]
    for _ in range(2):
        status, body = apply(client, world["tenant"], old)
        assert (status, body["error"]["code"]) == (409, "RENEWAL_REFUSED"), body


# --- who may apply --------------------------------------------------------------------------------------
def test_a_delegate_with_an_act_grant_applies_and_staff_apply_at_the_counter_audited(
        client: Any, tokens: Any, world: dict[str, Any]) -> None:
    old = fresh(world)
    decided_review(old.lease_id, "continue")
    status, body = apply(client, world["viewer"], old)
    assert status == 403, body  # a view grant does not act
    status, renewal = apply(client, world["child"], old)
    assert status == 201 and (renewal["via"], renewal["via_name"]) == ("delegate", "受托人代办"), renewal
    # the delegate cannot sign for the tenant: only the tenant confirms the new lease
    new = new_lease_in_my_list(client, world["tenant"], renewal["new_lease_id"])
    status, body = call(client, "POST", f"/v1/me/lease/{new['lease_id']}/confirm", world["child"].headers(),
                        {"version": new["version"]})
    assert status == 403, body

    other = fresh(world)
    decided_review(other.lease_id, "continue")
    path = f"/v1/staff/leases/{other.lease_id}/renewal"
    status, body = call(client, "POST", path, tokens.headers("staff"), {"version": other.version})
    assert (status, body["error"]["field"]) == (400, "reason"), body
    status, renewal = call(client, "POST", path, tokens.headers("staff"),
                           {"version": other.version, "reason": "承租人行动不便，上门代办续签"})
    assert status == 201 and renewal["via"] == "staff" and renewal["status"] == "approved", renewal
    status, seen = call(client, "GET", f"{path}?reason=核对续签", tokens.headers("staff"))
    assert status == 200 and seen["renewal_id"] == renewal["renewal_id"], seen
    status, trail = call(client, "GET", f"/v1/audit/lease/{other.lease_id}", tokens.headers("auditor"))
    assert status == 200, trail
    assert sorted((e["action"], e["reason"]) for e in trail["items"]) == [
        ("read_renewal", "核对续签"), ("renewal", "承租人行动不便，上门代办续签")]
    status, body = call(client, "GET", path, tokens.headers("staff"))
    assert (status, body["error"]["field"]) == (400, "reason"), body


def test_a_double_tap_with_one_idempotency_key_applies_once(client: Any, world: dict[str, Any]) -> None:
    old = fresh(world)
    decided_review(old.lease_id, "continue")
    answers = [apply(client, world["tenant"], old, **{"Idempotency-Key": f"renew-{old.lease_id}"}) for _ in range(2)]
    assert answers[0][0] == answers[1][0] == 201 and answers[0][1] == answers[1][1], answers


# --- withdrawing -----------------------------------------------------------------------------------------
def test_cancelling_an_approved_renewal_deletes_its_draft_and_it_may_be_applied_for_again(
        client: Any, world: dict[str, Any]) -> None:
    old = fresh(world)
    decided_review(old.lease_id, "continue")
    tenant = world["tenant"]
    status, renewal = apply(client, tenant, old)
    assert status == 201, renewal
    cancel = f"/v1/me/lease/{old.lease_id}/renewal/cancel"
    status, body = call(client, "POST", cancel, tenant.headers(), {"version": renewal["version"] - 1})
    assert (status, body["error"]["code"]) == (409, "STALE_VERSION"), body
    status, cancelled = call(client, "POST", cancel, tenant.headers(), {"version": renewal["version"]})
    assert status == 200 and cancelled["status"] == "cancelled" and cancelled["cancelled_at"], cancelled
    status, body = call(client, "POST", f"/v1/me/lease/{renewal['new_lease_id']}/confirm", tenant.headers(),
                        {"version": 1})
    assert (status, body["error"]["code"]) == (404, "LEASE_NOT_FOUND"), body  # the draft went with it
    status, body = call(client, "POST", cancel, tenant.headers(), {"version": cancelled["version"]})
    assert (status, body["error"]["code"]) == (409, "RENEWAL_CLOSED"), body
    status, again = apply(client, tenant, old)
    assert status == 201 and again["status"] == "approved" and again["new_lease_id"] != renewal["new_lease_id"]
    assert again["version"] > cancelled["version"], again


# --- bad input and abuse: a clear 4xx, nothing changed ------------------------------------------------------------
def test_refusals_change_nothing(client: Any, tokens: Any, world: dict[str, Any]) -> None:
    from chalicelib.deps import deps

    tenant = world["tenant"]
    early = fresh(world, days_left=200)  # the window opens three months before the end
    status, body = apply(client, tenant, early)
    assert (status, body["error"]["code"], body["error"]["field"]) == (409, "RENEWAL_OUTSIDE_WINDOW", "lease_id"), body
    assert "3个月" in body["error"]["message"]
    ended = fresh(world, days_left=-1)
    status, body = apply(client, tenant, ended)
    assert (status, body["error"]["code"]) == (409, "RENEWAL_OUTSIDE_WINDOW"), body
    draft = fresh(world)
    from dataclasses import replace

    from chalicelib.domain.leases import DRAFT
    from chalicelib.repositories.leases import lease_record

    lease_record(replace(draft, status=DRAFT)).save()
    status, body = apply(client, tenant, draft)
    assert (status, body["error"]["code"]) == (409, "LEASE_NOT_RENEWABLE"), body
    theirs = fresh(world, who="stranger")
    status, body = apply(client, tenant, theirs)
    assert (status, body["error"]["code"]) == (404, "LEASE_NOT_FOUND"), body
    status, body = call(client, "GET", f"/v1/me/lease/{theirs.lease_id}/renewal", tenant.headers())
    assert (status, body["error"]["code"]) == (404, "LEASE_NOT_FOUND"), body
    ok = fresh(world)
    status, body = call(client, "POST", f"/v1/me/lease/{ok.lease_id}/renewal", tenant.headers(),
                        {"version": ok.version + 1})
    assert (status, body["error"]["code"]) == (409, "STALE_VERSION"), body
    for bad, field in (({}, "version"), ({"version": "1"}, "version"), ({"version": -1}, "version"),
                       ({"version": 1, "extra": 1}, "extra")):
        status, body = call(client, "POST", f"/v1/me/lease/{ok.lease_id}/renewal", tenant.headers(), bad)
        assert status == 400 and body["error"]["field"] == field, (bad, body)
    status, body = call(client, "POST", "/v1/me/lease/lse%20x/renewal", tenant.headers(), {"version": 1})
    assert (status, body["error"]["field"]) == (400, "lease_id"), body
    status, body = call(client, "POST", "/v1/me/lease/lse_nothing/renewal", tenant.headers(), {"version": 1})
    assert (status, body["error"]["code"]) == (404, "LEASE_NOT_FOUND"), body
    status, body = call(client, "POST", f"/v1/me/lease/{ok.lease_id}/renewal", tenant.headers(), "not json")
    assert (status, body["error"]["code"]) == (400, "INVALID_JSON"), body
    assert call(client, "POST", f"/v1/me/lease/{ok.lease_id}/renewal", {"Content-Type": "application/json"},
                {"version": 1})[0] == 401
    for role in ("staff", "admin", "auditor"):
        status, body = call(client, "POST", f"/v1/me/lease/{ok.lease_id}/renewal", tokens.headers(role),
                            {"version": ok.version})
        assert (status, body["error"]["code"]) == (403, "FORBIDDEN"), (role, body)
    status, body = call(client, "POST", f"/v1/staff/leases/{ok.lease_id}/renewal", tenant.headers(),
                        {"version": ok.version, "reason": "自己给自己代办"})
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN"), body
    status, body = call(client, "POST", f"/v1/me/lease/{ok.lease_id}/renewal/cancel", tenant.headers(), {"version": 1})
    assert (status, body["error"]["code"]) == (404, "RENEWAL_NOT_FOUND"), body
    for lease in (early, ended, draft, theirs, ok):
        assert deps().renewals.find(f"rnw-{lease.lease_id}") is None, lease.lease_id
        assert deps().reviews.of_lease(lease.lease_id) == []
    assert lease_of(ok.lease_id) == ok


def test_ten_parallel_applications_renew_once(client: Any, world: dict[str, Any], local_server: str) -> None:
    """Released together over HTTP (the threaded local server): one renewal, one drafted lease; every
    other answer a 409 (the record taken, or a decision that lost to the winner's)."""
    from tests.test_races import one_winner, race

    old = fresh(world)
    decided_review(old.lease_id, "continue")
    results = race(local_server, 10, "POST", f"/v1/me/lease/{old.lease_id}/renewal", world["tenant"].headers(),
                   {"version": old.version})
    won = one_winner(results, 201, {"RENEWAL_EXISTS", "STALE_VERSION"})
    status, mine = call(client, "GET", "/v1/me/lease", world["tenant"].headers())
    drafts = [item["lease_id"] for item in mine["items"] if item["renews"] == old.lease_id]
    assert status == 200 and drafts == [won["new_lease_id"]], drafts

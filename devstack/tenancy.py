"""Drivers of a tenancy's journeys through the API (issue 12): the annual review (年审, docs/decisions/0031),
renewal (续签, 0033) and move-out (退租, 0030), one lease at a time, as the tenant's app and the staff
console do.

One copy for the tests and ``make demo``: each driver takes a ``send(method, path, headers, body) ->
(status, body)``, the Chalice test client (tests.applying.call) in the tests, HTTP against the running
`make run` in the demo (devstack/demo_tenancy.py). Each step's answer is checked (an AssertionError
names what came back). The table-writing fixtures (a lease brought into its renewal window, a decided
review) stay with the tests; the demo's one direct write is :func:`shift_lease`.
"""
from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any, Callable

#: ``send(method, path, headers, body=None) -> (status, body)``.
Send = Callable[..., tuple[int, Any]]
#: A home in the city, as the real estate registry answers it (the demo's must-leave household).
OWNS_HOME = {"properties": [{"city": "jiangmen", "floor_area": 89.5, "address": "蓬江区示范路1号"}]}


def today() -> date:
    from chalicelib.domain.common import now

    return now().date()


# --- the annual review ---------------------------------------------------------------------------------------
def current(send: Send, headers: dict[str, str]) -> dict[str, Any]:
    """The tenant's review as the app shows it (``GET /v1/me/reviews/current``)."""
    status, review = send("GET", "/v1/me/reviews/current", headers, None)
    assert status == 200, review
    return review  # type: ignore[no-any-return]


def no_change(send: Send, headers: dict[str, str], review_id: str) -> dict[str, Any]:
    """One tap: nothing changed, with the tenant's renewed consent."""
    review = current(send, headers)
    status, answered = send("POST", f"/v1/reviews/{review_id}/answer", headers, {
        "version": review["version"], "change": "none",
        "consent": {"text_version": review["consent_text_version"], "agree": True}})
    assert status == 200, answered
    return answered  # type: ignore[no-any-return]


def report_income(send: Send, headers: dict[str, str], review_id: str, member: dict[str, Any],
                  upload: Callable[[dict[str, Any]], None],
                  checked: Callable[[], None] | None = None) -> dict[str, Any]:
    """A changed household: the member's new income, with the city's documents (``upload`` posts
    the presigned form it is given, as the phone does; ``checked()`` waits for the document check)."""
    review = current(send, headers)
    for way in review["ways"]:
        for doc in way["documents"]:
            status, form = send("POST", f"/v1/reviews/{review_id}/documents", headers,
                                {"type": doc["type"], "content_type": "image/jpeg"})
            assert status == 201, form
            upload(form["upload"])
    if checked is not None:
        checked()
    review = current(send, headers)
    status, answered = send("POST", f"/v1/reviews/{review_id}/answer", headers, {
        "version": review["version"], "change": "changed", "members": [member],
        "consent": {"text_version": review["consent_text_version"], "agree": True}})
    assert status == 200, answered
    return answered  # type: ignore[no-any-return]


def wait_for(send: Send, staff: dict[str, str], review_id: str, status: str, timeout_s: float = 30) -> dict[str, Any]:
    """The staff view once the review reaches ``status`` (the departments answer within seconds)."""
    deadline = time.monotonic() + timeout_s
    while True:
        code, review = send("GET", f"/v1/staff/reviews/{review_id}?reason=%E5%B9%B4%E5%AE%A1", staff, None)
        assert code == 200, review
        if review["status"] == status or time.monotonic() > deadline:
            return review  # type: ignore[no-any-return]
        time.sleep(0.05)


def confirm(send: Send, staff: dict[str, str], review: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Staff confirm one review's outcome (on the version they read; ``outcome`` and ``reason`` to decide otherwise)."""
    status, decided = send("POST", f"/v1/staff/reviews/{review['review_id']}/confirm", staff,
                           {"version": review["version"], **extra})
    assert status == 200, decided
    return decided  # type: ignore[no-any-return]


def confirm_continues(send: Send, staff: dict[str, str], **which: Any) -> dict[str, Any]:
    """One click: the clean continues of a campaign (``campaign_id``) or of the given ``review_ids``."""
    status, result = send("POST", "/v1/staff/reviews/confirm-continues", staff, which)
    assert status == 200, result
    return result  # type: ignore[no-any-return]


# --- renewal ---------------------------------------------------------------------------------------------
def term_ending_in(term_months: int, days: int) -> tuple[date, date]:
    """(start, end) of a ``term_months`` lease that ends ``days`` from today (China time): with a
    small ``days``, a lease inside its renewal window."""
    from chalicelib.domain.renewals import months_before

    end = today() + timedelta(days=days)
    return months_before(end + timedelta(days=1), term_months), end


def shift_lease(endpoint: str, table: str, lease_id: str, days: int) -> tuple[str, str]:
    """Move a stored lease's term so that it ends ``days`` from today, keeping its length: the demo's
    one direct table write (no route moves a lease's dates; a real lease reaches its renewal window
    by the calendar). ``table`` is the city's leases table on the local AWS at ``endpoint``.
    Returns the new (start_date, end_date)."""
    from devstack.aws import client

    ddb = client("dynamodb", endpoint)
    item = ddb.get_item(TableName=table, Key={"lease_id": {"S": lease_id}}, ConsistentRead=True)["Item"]
    start, end = term_ending_in(int(item["term_months"]["N"]), days)
    ddb.update_item(TableName=table, Key={"lease_id": {"S": lease_id}},
                    UpdateExpression="SET start_date = :s, end_date = :e",
                    ExpressionAttributeValues={":s": {"S": start.isoformat()}, ":e": {"S": end.isoformat()}})
    return start.isoformat(), end.isoformat()


def renew(send: Send, tenant: dict[str, str], lease_id: str, *, key: str = "renewal-demo",
          decide_review: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Take one lease through renewal to a confirmed new lease, as the tenant's app does: read the
    lease, apply (``POST /v1/me/lease/{id}/renewal``); a renewal waiting for a fresh review has it
    decided by ``decide_review(review_id)`` (staff's confirmation); then confirm the new lease
    (``POST /v1/me/lease/{new}/confirm``). Returns {"renewal", "lease"} (the new lease, confirmed)."""
    status, mine = send("GET", "/v1/me/lease", tenant, None)
    assert status == 200, mine
    lease = next(item for item in mine["items"] if item["lease_id"] == lease_id)
    status, renewal = send("POST", f"/v1/me/lease/{lease_id}/renewal", {**tenant, "Idempotency-Key": key},
                           {"version": lease["version"]})
    assert status == 201, renewal
    if renewal["status"] == "awaiting_review":
        assert decide_review is not None, f"the renewal waits for review {renewal['review_id']}: decide it"
        decide_review(renewal["review_id"])
        status, renewal = send("GET", f"/v1/me/lease/{lease_id}/renewal", tenant, None)
        assert status == 200, renewal
    assert renewal["status"] == "approved", renewal
    status, mine = send("GET", "/v1/me/lease", tenant, None)
    new = next(item for item in mine["items"] if item["lease_id"] == renewal["new_lease_id"])
    status, confirmed = send("POST", f"/v1/me/lease/{new['lease_id']}/confirm", tenant, {"version": new["version"]})
    assert status == 200, confirmed
    status, renewal = send("GET", f"/v1/me/lease/{lease_id}/renewal", tenant, None)
    assert status == 200 and renewal["status"] == "renewed", renewal
    return {"renewal": renewal, "lease": confirmed}


# --- move-out --------------------------------------------------------------------------------------------
def move_out_date(notice_days: int = 30) -> date:
    """The first 15th of a month at least ``notice_days`` from today (inside the city's window)."""
    day = today() + timedelta(days=notice_days)
    while day.day != 15:
        day += timedelta(days=1)
    return day


def drive(send: Send, tenant: dict[str, str], staff: dict[str, str], lease_id: str, *, when: date | None = None,
          damages: list[dict[str, Any]] | None = None, unit_status: str = "vacant", receipt_no: str = "TK-0001",
          started_by_staff: dict[str, Any] | None = None) -> dict[str, Any]:
    """One move-out end to end through the API: the tenant's notice (or staff's start with
    ``started_by_staff`` = {"reason", "review_id"?}, e.g. after a must-leave outcome), the
    appointment, the inspection, the settlement, a counter refund if the provider's is not done,
    completion. Returns the completed move-out as the tenant sees it."""
    when = when or move_out_date()
    if started_by_staff is None:
        status, mo = send("POST", f"/v1/me/lease/{lease_id}/move-out", tenant,
                          {"move_out_date": when.isoformat(), "reason": "工作调动，搬离本市"})
    else:
        status, mo = send("POST", f"/v1/staff/leases/{lease_id}/move-out", staff,
                          {"move_out_date": when.isoformat(), **started_by_staff})
    assert status == 201, mo
    path = f"/v1/staff/move-outs/{mo['move_out_id']}"
    status, mo = send("POST", f"{path}/appointment", staff,
                      {"version": mo["version"], "date": today().isoformat(), "slot": "09:00-12:00"})
    assert status == 200, mo
    status, mo = send("POST", f"{path}/inspection", staff, {
        "version": mo["version"], "condition": "damaged" if damages else "good",
        "meters": {"water": 1234.5, "electricity": 5678.0, "gas": 321.0}, "damages": damages or [],
        "unit_status": unit_status})
    assert status == 200, mo
    status, mo = send("POST", f"{path}/settle", staff, {"version": mo["version"]})
    assert status == 200, mo
    refund = mo["settlement"]["refund"]
    if refund and refund["status"] != "refunded":
        status, mo = send("POST", f"{path}/refund", staff, {"receipt_no": receipt_no, "reason": "押金在窗口以现金退还"})
        assert status == 200, mo
    status, mo = send("POST", f"{path}/complete", staff, {"version": mo["version"]})
    assert status == 200, mo
    status, mine = send("GET", f"/v1/me/lease/{lease_id}/move-out", tenant, None)
    assert status == 200 and mine["status"] == "completed", mine
    return dict(mine)

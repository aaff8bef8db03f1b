"""Review campaigns (年审批次), issue 12 §1, on the local stack: an admin opens the year's campaign
through the route and the queue (a review per lease in it, the first notice queued with each), opens
it again (nothing twice, shown in the counts), a month's campaign over the leases whose review month
it is, a delivery that died before telling its tenants, the reminders before the deadline (each once
per review), the overdue reviews flagged to staff, a shard that gives up, and bad input
(docs/decisions/0032). Every test starts from empty tables."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any, Iterator

import pytest

from chalicelib.domain import bills, review_campaigns
from chalicelib.domain.common import CHINA_TZ, now
from chalicelib.domain.leases import LeaseStatus
from tests.applying import call
from tests.test_billing_runs import admin, put_leases


@pytest.fixture(autouse=True)
def empty(stack: Any) -> Iterator[None]:
    stack.reset()
    yield


def today() -> date:
    return now().date()


def run_all(stack: Any) -> None:
    """What the event source mapping does: every shard message (and continuation) to the worker."""
    for _ in range(50):
        counts = stack.drain(rounds=20, only=("reviews",))
        if not counts["reviews"] and not counts["failed"]:
            return
    raise AssertionError("the reviews queue did not drain")


def queued_notices(stack: Any) -> list[dict[str, Any]]:
    """The notices waiting on the notifications queue (taken off it)."""
    from devstack import aws

    sqs, found = aws.client("sqs", stack.endpoint), []
    while True:
        got = sqs.receive_message(QueueUrl=stack.queues["notifications"], MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return found
        for m in got:
            found.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=stack.queues["notifications"], ReceiptHandle=m["ReceiptHandle"])


def review_of(campaign_id: str, lease_id: str) -> Any:
    from chalicelib.deps import deps
    from chalicelib.domain.reviews import review_key

    return deps().reviews.get(review_key(campaign_id, lease_id))


def at_day(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    moment = datetime(day.year, day.month, day.day, 9, 30, tzinfo=CHINA_TZ)
    monkeypatch.setattr(review_campaigns, "now", lambda: moment)


def test_an_admin_opens_the_years_campaign_once_per_lease_and_opening_it_again_creates_nothing(
        client: Any, stack: Any, tokens: Any) -> None:
    year = today().year
    active = put_leases(34, owner="sub_tenant_a")
    later = put_leases(3, start=(today() + timedelta(days=90)).isoformat())  # starts after the deadline
    ended = put_leases(2, start="2019-01-01", end="2020-12-31")
    drafts = put_leases(2, status=LeaseStatus.DRAFT)
    status, opened = call(client, "POST", "/v1/admin/review-campaigns", admin(tokens, "campaign-open-0001"),
                          {"scope": "all", "year": year})
    assert status == 202, opened
    deadline = (today() + timedelta(days=60)).isoformat()  # reviews.json window_days
    assert (opened["campaign_id"], opened["scope"], opened["period"], opened["deadline"], opened["status"]) == (
        f"rc-{year}", "all", str(year), deadline, "running"), opened
    assert opened["notices_days_before"] == [60, 30, 7] and opened["overdue"] is False
    (first,) = opened["passes"]
    assert (first["purpose"], first["status"], first["shards"]) == ("open", "running", bills.BILLING_SHARDS)
    again = call(client, "POST", "/v1/admin/review-campaigns", admin(tokens, "campaign-open-0001"),
                 {"scope": "all", "year": year})
    assert again == (202, opened)  # the same Idempotency-Key: the same answer, nothing started twice
    run_all(stack)
    status, done = call(client, "GET", f"/v1/admin/review-campaigns/rc-{year}", admin(tokens))
    assert status == 200 and done["status"] == "finished" and done["reviews_opened"] == 34, done
    (p,) = done["passes"]
    assert (p["leases_seen"], p["reviews_created"], p["already_existing"], p["out_of_scope"], p["notices_queued"],
            p["not_notified"], p["failed"], p["failures"]) == (39, 34, 0, 5, 34, 0, 0, []), p
    for lease_id in active:
        review = review_of(f"rc-{year}", lease_id)
        assert review.status == "open" and review.deadline == deadline and "opened" in review.notices
    from chalicelib.deps import deps

    assert all(deps().reviews.of_lease(x) == [] for x in later + ended + drafts)
    notices = queued_notices(stack)
    assert len(notices) == 34 and {n["template"] for n in notices} == {"review_opened"}
    assert {n["recipient"] for n in notices} == {"sub_tenant_a"} and all(n["params"]["deadline"] == deadline
                                                                          for n in notices)
    # opened again (another admin's retry, another key): a new pass that creates 0 and tells nobody twice
    status, reopened = call(client, "POST", "/v1/admin/review-campaigns", admin(tokens, "campaign-open-0002"),
                            {"scope": "all", "year": year, "deadline": deadline})
    assert status == 202 and len(reopened["passes"]) == 2 and reopened["status"] == "running", reopened
    run_all(stack)
    status, done = call(client, "GET", f"/v1/admin/review-campaigns/rc-{year}", admin(tokens))
    second = done["passes"][1]
    assert (second["reviews_created"], second["already_existing"], second["notices_queued"]) == (0, 34, 0), second
    assert done["reviews_opened"] == 34 and done["status"] == "finished" and queued_notices(stack) == []
    status, page = call(client, "GET", "/v1/admin/review-campaigns", admin(tokens))
    assert status == 200 and [c["campaign_id"] for c in page["items"]] == [f"rc-{year}"]
    # the campaign's reviews, for staff: by status, in pages with signed cursors
    status, listed = call(client, "GET", f"/v1/admin/review-campaigns/rc-{year}/reviews?status=open&limit=20",
                          tokens.headers("staff"))
    assert status == 200 and len(listed["items"]) == 20 and listed["next_cursor"], listed
    status, rest = call(client, "GET", f"/v1/admin/review-campaigns/rc-{year}/reviews?status=open&limit=20"
                        f"&cursor={listed['next_cursor']}", tokens.headers("staff"))
    assert len(rest["items"]) == 14 and rest["next_cursor"] is None
    assert {r["lease_id"] for r in listed["items"] + rest["items"]} == set(active)
    assert all(r["overdue"] is False and "opened" in r["notices"] for r in listed["items"])


def test_a_months_campaign_reviews_the_leases_whose_review_month_it_is(client: Any, stack: Any, tokens: Any) -> None:
    year = today().year
    month = f"{year}-{today().month:02d}"
    due = put_leases(6, start=f"{year - 1}-{today().month:02d}-15")  # started this month a year ago
    other_month = put_leases(4, start=f"{year - 1}-{today().month % 12 + 1:02d}-01")
    this_year = put_leases(2, start=f"{year}-{today().month:02d}-01")  # started this month: reviewed next year
    status, opened = call(client, "POST", "/v1/admin/review-campaigns", admin(tokens),
                          {"scope": "review_month", "month": month, "notices_days_before": [14, 3],
                           "deadline": (today() + timedelta(days=30)).isoformat()})
    assert status == 202 and opened["campaign_id"] == f"rc-{month}" and opened["notices_days_before"] == [14, 3]
    run_all(stack)
    status, done = call(client, "GET", f"/v1/admin/review-campaigns/rc-{month}", admin(tokens))
    (p,) = done["passes"]
    assert (p["reviews_created"], p["out_of_scope"], done["reviews_opened"]) == (6, 6, 6), done
    assert {review_of(f"rc-{month}", x).lease_id for x in due} == set(due)
    from chalicelib.deps import deps

    assert all(deps().reviews.of_lease(x) == [] for x in other_month + this_year)
    # the same campaign with other terms is refused: its reviews carry the deadline it was opened with
    status, answer = call(client, "POST", "/v1/admin/review-campaigns", admin(tokens),
                          {"scope": "review_month", "month": month, "deadline": (today() + timedelta(days=31)).isoformat()})
    assert (status, answer["error"]["code"], answer["error"]["field"]) == (409, "REVIEW_CAMPAIGN_TERMS_DIFFER", "deadline")
    status, answer = call(client, "POST", "/v1/admin/review-campaigns", admin(tokens),
                          {"scope": "review_month", "month": month, "notices_days_before": [7]})
    assert (status, answer["error"]["field"]) == (409, "notices_days_before")
    assert "不能更改" in answer["error"]["message"]


def test_a_delivery_that_died_before_telling_its_tenants_is_completed_by_the_next_and_counted_once(
        stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.bodies import ReviewCampaignIn
    from chalicelib.deps import deps
    from chalicelib.identity import Actor, Role

    leases = put_leases(12)
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(type(deps().review_campaigns), "send", lambda self, msgs: sent.extend(msgs))
    root = Actor(subject="sub_admin", roles=frozenset({Role.ADMIN}), city="jiangmen", claims={})
    campaign, run = review_campaigns.open_campaign(root, ReviewCampaignIn(scope="all", year=today().year))
    shard = next(m for m in sent if any(bills.shard_of(x) == m["shard"] for x in leases))
    in_shard = sum(bills.shard_of(x) == shard["shard"] for x in leases)

    def die(msg: Any, told: Any, key: str) -> Any:
        raise RuntimeError("the Lambda died after writing the reviews")

    monkeypatch.setattr(review_campaigns, "_queue", die)
    with pytest.raises(RuntimeError):
        review_campaigns.process(shard, lambda: 60_000)
    monkeypatch.undo()
    monkeypatch.setattr(type(deps().review_campaigns), "send", lambda self, msgs: sent.extend(msgs))
    written = [review_of(campaign.campaign_id, x) for x in leases if bills.shard_of(x) == shard["shard"]]
    assert len(written) == in_shard and all(r.notices["opened_by"] == run.run_id for r in written)
    assert queued_notices(stack) == []  # nobody told yet
    assert review_campaigns.process(shard, lambda: 60_000) == "finished"  # the redelivery
    assert review_campaigns.process(shard, lambda: 60_000) == "done"  # a late duplicate
    progress = deps().review_campaigns.get_shard(run.run_id, shard["shard"])
    assert progress is not None and (progress.counts.created, progress.counts.existing, progress.counts.notified) == (
        in_shard, 0, in_shard)
    assert len([n for n in queued_notices(stack) if n["template"] == "review_opened"]) == in_shard


def test_reminders_go_out_on_the_citys_days_once_per_open_review_and_overdue_reviews_are_flagged(
        client: Any, stack: Any, tokens: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.repositories.tables import ReviewRecord

    year = today().year
    leases = put_leases(10)
    deadline = today() + timedelta(days=30)
    status, opened = call(client, "POST", "/v1/admin/review-campaigns", admin(tokens),
                          {"scope": "all", "year": year, "deadline": deadline.isoformat(), "notices_days_before": [30, 7]})
    assert status == 202, opened
    run_all(stack)
    assert len(queued_notices(stack)) == 10
    # the first reminder's day is today: the reviews were opened (and told) today, so nobody twice
    started = review_campaigns.send_notices()
    assert started.started == [f"rc-{year}.remind-30"] and started.overdue == []
    run_all(stack)
    assert queued_notices(stack) == []
    # one household answers; 7 days before the deadline the others are reminded, once
    answered = review_of(f"rc-{year}", leases[0]).review_id
    ReviewRecord(answered).update(actions=[ReviewRecord.status.set("verifying"),
                                           ReviewRecord.campaign_sort.set(f"verifying#{leases[0]}")])
    at_day(monkeypatch, deadline - timedelta(days=7))
    assert review_campaigns.send_notices().started == [f"rc-{year}.remind-7"]
    run_all(stack)
    assert review_campaigns.send_notices().started == [f"rc-{year}.remind-7"]  # the job run twice: one pass
    run_all(stack)
    reminders = queued_notices(stack)
    assert len(reminders) == 9 and {n["template"] for n in reminders} == {"review_reminder"}
    assert {n["params"]["days"] for n in reminders} == {"7"}
    status, done = call(client, "GET", f"/v1/admin/review-campaigns/rc-{year}", admin(tokens))
    remind = done["passes"][-1]
    assert (remind["purpose"], remind["offset"], remind["notices_queued"], remind["not_notified"]) == ("remind", 7, 9, 1)
    assert "7" in review_of(f"rc-{year}", leases[1]).notices and "7" not in review_of(f"rc-{year}", leases[0]).notices
    # before the deadline nothing is overdue; the day after, the open ones are flagged to staff
    path = f"/v1/admin/review-campaigns/rc-{year}/reviews?overdue=true"
    status, page = call(client, "GET", path, tokens.headers("staff"))
    assert (status, page["items"]) == (200, [])
    at_day(monkeypatch, deadline + timedelta(days=1))
    status, page = call(client, "GET", path, tokens.headers("staff"))
    assert status == 200 and len(page["items"]) == 9 and all(r["overdue"] and r["status"] == "open" for r in page["items"])
    assert review_campaigns.send_notices().overdue == [f"rc-{year}"]
    status, campaign = call(client, "GET", f"/v1/admin/review-campaigns/rc-{year}", admin(tokens))
    assert campaign["overdue"] is True
    status, answer = call(client, "GET", f"{path}&status=decided", tokens.headers("staff"))
    assert (status, answer["error"]["field"]) == (400, "overdue")


def test_a_shard_that_gives_up_fails_the_pass_and_opening_again_completes_it(
        client: Any, stack: Any, tokens: Any, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.deps import deps
    from devstack.stack import FakeLambdaContext

    leases = put_leases(8)

    def unavailable(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(type(deps().leases), "active_page", unavailable)
    status, opened = call(client, "POST", "/v1/admin/review-campaigns", admin(tokens), {"scope": "all", "year": today().year})
    run_id = opened["passes"][0]["pass_id"]
    message = {"run_id": run_id, "shard": "00", "seq": 0, "cursor": None, "campaign_id": opened["campaign_id"],
               "purpose": "open", "offset": None, "scope": "all", "period": opened["period"],
               "deadline": opened["deadline"], "label": "x"}
    for n in range(1, 6):
        event = {"Records": [{"messageId": f"m{n}", "receiptHandle": "r", "body": json.dumps(message),
                              "attributes": {"ApproximateReceiveCount": str(n)}, "messageAttributes": {},
                              "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:cn-northwest-1:1:q",
                              "awsRegion": "cn-northwest-1"}]}
        assert app.handler_map["open_reviews"](event, FakeLambdaContext("open_reviews")) == {
            "batchItemFailures": [{"itemIdentifier": f"m{n}"}]}
    monkeypatch.undo()
    run_all(stack)
    status, failed = call(client, "GET", f"/v1/admin/review-campaigns/{opened['campaign_id']}", admin(tokens))
    (p,) = failed["passes"]
    assert (failed["status"], failed["status_name"], p["shards_failed"]) == ("failed", "失败", 1), failed
    assert p["failures"][0] == {"shard": "00", "lease_id": None, "reason": "RuntimeError: DynamoDB is down"}
    status, again = call(client, "POST", "/v1/admin/review-campaigns", admin(tokens), {"scope": "all", "year": today().year})
    run_all(stack)
    status, done = call(client, "GET", f"/v1/admin/review-campaigns/{opened['campaign_id']}", admin(tokens))
    assert done["status"] == "finished" and done["reviews_opened"] == len(leases), done


def test_bad_input_and_who_may_open(client: Any, tokens: Any) -> None:
    year = today().year
    past, far = (today() - timedelta(days=1)).isoformat(), (today() + timedelta(days=400)).isoformat()
    for body, field in (({"scope": "everyone", "year": year}, "scope"), ({"year": year}, "scope"),
                        ({"scope": "all"}, "year"), ({"scope": "all", "year": str(year)}, "year"),
                        ({"scope": "all", "year": year, "month": f"{year}-03"}, "year"),
                        ({"scope": "review_month", "year": year}, "month"),
                        ({"scope": "review_month", "month": f"{year}-13"}, "month"),
                        ({"scope": "all", "year": year + 5}, "year"),
                        ({"scope": "all", "year": year, "deadline": past}, "deadline"),
                        ({"scope": "all", "year": year, "deadline": today().isoformat()}, "deadline"),
                        ({"scope": "all", "year": year, "deadline": far}, "deadline"),
                        ({"scope": "all", "year": year, "deadline": f"{year}-02-30"}, "deadline"),
                        ({"scope": "all", "year": year, "notices_days_before": [7, 30]}, "notices_days_before"),
                        ({"scope": "all", "year": year, "notices_days_before": [200]}, "notices_days_before.0"),
                        ({"scope": "all", "year": year, "notices_days_before": list(range(10, 0, -1))}, "notices_days_before"),
                        ({"scope": "all", "year": year, "extra": 1}, "extra")):
        status, answer = call(client, "POST", "/v1/admin/review-campaigns", admin(tokens), body)
        assert status == 400 and answer["error"]["field"] == field, (body, answer)
        assert not answer["error"]["message"].isascii(), answer
    status, answer = call(client, "POST", "/v1/admin/review-campaigns", admin(tokens),
                          {"scope": "all", "year": year, "deadline": past})
    assert answer["error"]["message"] == "截止日期应晚于今天"
    status, answer = call(client, "POST", "/v1/admin/review-campaigns", admin(tokens),
                          {"scope": "all", "year": year, "notices_days_before": [1] * 400_000})
    assert (status, answer["error"]["code"]) == (413, "BODY_TOO_LARGE"), answer
    status, answer = call(client, "POST", "/v1/admin/review-campaigns", admin(tokens), "{not json")
    assert (status, answer["error"]["code"]) == (400, "INVALID_JSON"), answer
    for role, code in (("applicant", 403), ("staff", 403), ("auditor", 403), (None, 401)):
        headers = tokens.headers(role) if role else {"Content-Type": "application/json"}
        assert call(client, "POST", "/v1/admin/review-campaigns", headers, {"scope": "all", "year": year})[0] == code
        assert call(client, "GET", "/v1/admin/review-campaigns", headers)[0] == code
    for role, code in (("applicant", 403), ("auditor", 403), (None, 401)):
        headers = tokens.headers(role) if role else {"Content-Type": "application/json"}
        assert call(client, "GET", f"/v1/admin/review-campaigns/rc-{year}/reviews", headers)[0] == code
    status, answer = call(client, "GET", "/v1/admin/review-campaigns/rc-1999", admin(tokens))
    assert (status, answer["error"]["code"]) == (404, "REVIEW_CAMPAIGN_NOT_FOUND")
    status, answer = call(client, "GET", "/v1/admin/review-campaigns/rc-1999/reviews", tokens.headers("staff"))
    assert (status, answer["error"]["code"]) == (404, "REVIEW_CAMPAIGN_NOT_FOUND")
    status, answer = call(client, "GET", "/v1/admin/review-campaigns?cursor=forged.x", admin(tokens))
    assert (status, answer["error"]["code"]) == (400, "INVALID_CURSOR")
    status, answer = call(client, "GET", f"/v1/admin/review-campaigns/rc-{year}/reviews?status=lost",
                          tokens.headers("staff"))
    assert (status, answer["error"]["field"]) == (400, "status")


def test_a_queue_that_is_down_is_a_503_and_the_pass_shows_it_failed(client: Any, tokens: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import errors

    def down(self: Any, messages: Any) -> None:
        raise errors.ServiceUnavailable("reviews queue: EndpointConnectionError")

    monkeypatch.setattr(type(review_campaigns.deps().review_campaigns), "send", down)
    status, answer = call(client, "POST", "/v1/admin/review-campaigns", admin(tokens), {"scope": "all", "year": today().year})
    assert (status, answer["error"]["code"]) == (503, "SERVICE_UNAVAILABLE"), answer
    status, campaign = call(client, "GET", f"/v1/admin/review-campaigns/rc-{today().year}", admin(tokens))
    (p,) = campaign["passes"]
    assert (campaign["status"], p["reason"], p["shards_done"]) == ("failed", "队列暂时不可用，年审未开启", 0), campaign


def test_an_exempt_household_is_handed_to_the_departments_by_the_campaign_once_the_opening_finished(
        client: Any, stack: Any, tokens: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """reviews.json's exemption (every member 70+): the daily job starts one exemption pass per
    campaign after its opening; an elderly household's review goes to the departments without an
    answer, a younger one's stays open for the household, and a second day starts nothing again."""
    from tests import reviewing

    year = today().year
    elder = reviewing.housed(client, stack, "批次豁免", born="19400101")
    young = reviewing.housed(client, stack, "批次不豁免")
    started: list[str] = []
    monkeypatch.setattr("chalicelib.domain.review_verification.begin", lambda review, **kw: started.append(review.review_id))
    assert review_campaigns.send_notices().exemptions == []  # nothing opened yet
    status, opened = call(client, "POST", "/v1/admin/review-campaigns", admin(tokens), {"scope": "all", "year": year})
    assert status == 202, opened
    run_all(stack)
    first = review_campaigns.send_notices()
    assert first.exemptions == [f"rc-{year}.exempt"]
    run_all(stack)
    elder_review, young_review = review_of(f"rc-{year}", elder.lease_id), review_of(f"rc-{year}", young.lease_id)
    assert started == [elder_review.review_id]
    assert (elder_review.answer["role"], young_review.status, young_review.answer) == ("exempt", "open", None)
    status, campaign = call(client, "GET", f"/v1/admin/review-campaigns/rc-{year}", admin(tokens))
    exempt = campaign["passes"][-1]
    assert (exempt["purpose"], exempt["status"], exempt["exemptions_started"]) == ("exempt", "finished", 1), exempt
    assert review_campaigns.send_notices().exemptions == [f"rc-{year}.exempt"]  # found, not started again
    run_all(stack)
    assert started == [elder_review.review_id]

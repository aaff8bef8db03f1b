"""Answering an annual review (年审申报) and confirming its outcome, with bad input: someone else's
review, after the deadline, twice, on a stale version, without consent, a delegate without ``act``,
staff without a reason; confirming before the recommendation, twice, on a stale version, a manual
review without an outcome. Each a clear 4xx with its code, nothing changed. The workflow's steps run
in-process here (tests/reviewing.run_steps); the real workflow is tests/test_reviews.py's."""
from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.deps import deps
from chalicelib.domain.common import new_id, now
from tests import reviewing
from tests.applying import Citizen, call, register


@pytest.fixture
def do(client: Any) -> Any:
    return functools.partial(call, client)


def _code(status: int, body: Any) -> tuple[int, str]:
    return status, body["error"]["code"]


def test_a_tenant_answers_once_on_the_latest_version_before_the_deadline(client: Any, stack: Any, do: Any) -> None:
    tenant = reviewing.housed(client, stack, "答复甲")
    stranger = reviewing.housed(client, stack, "答复乙")
    campaign = new_id("rcmp")
    review_id = reviewing.open_review(tenant.lease_id, campaign)
    late_id = reviewing.open_review(stranger.lease_id, campaign, deadline=(now() - timedelta(days=1)).date().isoformat())
    view = reviewing.current(do, tenant.headers)
    consent = {"text_version": view["consent_text_version"], "agree": True}
    ok = {"version": view["version"], "change": "none", "consent": consent}
    assert _code(*do("POST", f"/v1/reviews/{review_id}/answer", stranger.headers, ok)) == (404, "REVIEW_NOT_FOUND")
    assert _code(*do("POST", f"/v1/reviews/{review_id}/answer", tenant.headers, {**ok, "version": 0})) == (
        409, "STALE_VERSION")
    assert _code(*do("POST", f"/v1/reviews/{review_id}/answer", tenant.headers, {**ok, "change": "maybe"}))[0] == 400
    assert _code(*do("POST", f"/v1/reviews/{review_id}/answer", tenant.headers, {**ok, "consent": None})) == (
        400, "INVALID_PARAMETER")
    assert _code(*do("POST", f"/v1/reviews/{review_id}/answer", tenant.headers,
                     {**ok, "consent": {**consent, "text_version": "1999-01"}})) == (400, "INVALID_PARAMETER")
    assert _code(*do("POST", f"/v1/reviews/{review_id}/answer", tenant.headers,
                     {**ok, "members": [tenant.person.member()]})) == (400, "INVALID_PARAMETER")
    assert _code(*do("POST", f"/v1/reviews/{review_id}/answer", tenant.headers, {**ok, "change": "changed"})) == (
        400, "INVALID_PARAMETER")
    assert deps().reviews.get(review_id).answer is None  # nothing changed by any of them
    status, answered = do("POST", f"/v1/reviews/{review_id}/answer", tenant.headers, ok)
    assert status == 200 and answered["status"] == "verifying" and answered["consents"][0]["given"], answered
    assert _code(*do("POST", f"/v1/reviews/{review_id}/answer", tenant.headers, {**ok, "version": answered["version"]})) \
        == (409, "REVIEW_ALREADY_ANSWERED")
    late = reviewing.current(do, stranger.headers)
    assert late["deadline_passed"] is True
    assert _code(*do("POST", f"/v1/reviews/{late_id}/answer", stranger.headers,
                     {"version": late["version"], "change": "none", "consent": consent})) == (409, "REVIEW_DEADLINE_PASSED")
    assert deps().reviews.get(late_id).answer is None


def test_a_delegate_with_act_answers_and_the_tenant_consents_then_staff_answer_at_home(
        client: Any, stack: Any, do: Any, tokens: Any) -> None:
    from chalicelib.domain.common import now as now_

    tenant = reviewing.housed(client, stack, "委托年审", born="19500101")
    helper, viewer = Citizen(stack, "委托儿子"), Citizen(stack, "委托女儿")
    register(client, helper)
    register(client, viewer)
    grants = {}
    for person, scopes in ((helper, ["act"]), (viewer, ["view"])):
        status, grant = do("POST", "/v1/me/grants", tenant.headers, {
            "delegate_mobile": person.mobile, "scopes": scopes, "expires_at": (now_() + timedelta(days=30)).isoformat()})
        assert status == 201, grant
        grants[person.mobile] = grant["grant_id"]
    review_id = reviewing.open_review(tenant.lease_id, new_id("rcmp"))
    status, seen = do("GET", f"/v1/delegations/{grants[viewer.mobile]}/reviews/current", viewer.headers())
    assert status == 200 and seen["as"] == "delegate" and "*" in seen["household"]["members"][0]["id_number"], seen
    answer = {"version": seen["version"], "change": "none"}
    assert _code(*do("POST", f"/v1/reviews/{review_id}/answer", viewer.headers(), answer)) == (403, "OUTSIDE_GRANT")
    status, answered = do("POST", f"/v1/reviews/{review_id}/answer", helper.headers(), answer)
    assert status == 200 and answered["status"] == "open" and answered["answer"]["role"] == "delegate", answered
    assert [c["given"] for c in answered["consents"]] == [False]  # the tenant's own consent is still needed
    status, consented = do("POST", f"/v1/reviews/{review_id}/consent", tenant.headers,
                           {"text_version": seen["consent_text_version"], "agree": True})
    assert status == 200 and (consented["status"], consented["missing"]) == ("verifying", 0), consented
    assert _code(*do("POST", f"/v1/reviews/{review_id}/consent", helper.headers(),
                     {"text_version": seen["consent_text_version"], "agree": True})) == (404, "REVIEW_CONSENT_NOT_NEEDED")

    home = reviewing.housed(client, stack, "上门年审", born="19480101")
    home_id = reviewing.open_review(home.lease_id, new_id("rcmp"))
    staff = tokens.headers("staff")
    version = deps().reviews.get(home_id).version
    assert _code(*do("POST", f"/v1/reviews/{home_id}/answer", staff, {"version": version, "change": "none"})) == (
        400, "INVALID_PARAMETER")  # no reason, no read
    status, done = do("POST", f"/v1/reviews/{home_id}/answer", staff, {
        "version": version, "change": "none",
        "assisted": {"where": "home", "reason": "承租人行动不便，上门代办", "consents_signed": True}})
    assert status == 200 and done["status"] == "verifying" and done["assisted"]["where"] == "home", done
    assert done["consents"][0]["method"] == "paper"
    status, trail = do("GET", f"/v1/audit/review/{home_id}", tokens.headers("auditor"))
    assert status == 200 and "上门代办" in [e["reason"] for e in trail["items"]][-1], trail


def test_staff_confirm_once_on_the_latest_version_and_choose_for_a_manual_review(
        client: Any, stack: Any, do: Any, tokens: Any) -> None:
    staff = tokens.headers("staff")
    tenant = reviewing.housed(client, stack, "确认甲")
    review_id = reviewing.open_review(tenant.lease_id, new_id("rcmp"))
    assert _code(*do("POST", f"/v1/staff/reviews/{review_id}/confirm", staff, {"version": 1})) == (
        409, "REVIEW_NOT_RECOMMENDED")
    reviewing.no_change(do, tenant.headers, review_id)
    review = reviewing.run_steps(review_id, down=("provident_fund",))  # a department down: a person's call
    assert review.recommendation["outcome"] == "manual", review.recommendation
    assert "住房公积金暂时无法核查" in review.recommendation["reasons"]
    assert _code(*do("POST", f"/v1/staff/reviews/{review_id}/confirm", staff, {"version": review.version})) == (
        400, "OUTCOME_NEEDED")
    assert _code(*do("POST", f"/v1/staff/reviews/{review_id}/confirm", staff,
                     {"version": review.version - 1, "outcome": "continue", "reason": "公积金恢复后人工核实无误"})) == (
        409, "STALE_VERSION")
    assert deps().reviews.get(review_id).status == "recommended"
    status, decided = do("POST", f"/v1/staff/reviews/{review_id}/confirm", staff,
                         {"version": review.version, "outcome": "continue", "reason": "公积金恢复后人工核实无误"})
    assert status == 200 and decided["outcome"] == "continue", decided
    assert decided["recommendation"]["decided_otherwise"]["recommended"] == "manual"
    assert _code(*do("POST", f"/v1/staff/reviews/{review_id}/confirm", staff, {"version": decided["version"]})) == (
        409, "REVIEW_ALREADY_DECIDED")
    status, bulk = do("POST", "/v1/staff/reviews/confirm-continues", staff, {})
    assert (status, bulk["error"]["field"]) == (400, "campaign_id"), bulk

    # the tenant objects (复核): the objections' queue; upheld, the review is verified again
    status, objection = do("POST", f"/v1/reviews/{review_id}/objections", tenant.headers,
                           {"reason": "家庭收入已下降，请重新核查公积金数据"})
    assert status == 201 and objection["entry_id"] == review_id, objection
    assert _code(*do("POST", f"/v1/reviews/{review_id}/objections", tenant.headers,
                     {"reason": "家庭收入已下降，请重新核查公积金数据"})) == (409, "REVIEW_NOT_OBJECTIONABLE")
    status, resolved = do("POST", f"/v1/staff/objections/{objection['objection_id']}/resolve", staff,
                          {"version": objection["version"], "decision": "upheld", "reason": "公积金数据有误，重新核查"})
    assert status == 200 and resolved["status"] == "upheld", resolved
    assert deps().reviews.get(review_id).status == "verifying"


def test_an_exempt_household_is_reviewed_by_the_departments_alone(client: Any, stack: Any, do: Any) -> None:
    from chalicelib.domain import review_verification

    elder = reviewing.housed(client, stack, "豁免老人", born="19400101")
    review_id = reviewing.open_review(elder.lease_id, new_id("rcmp"))
    assert review_verification.begin_exempt(review_id) is True
    review = reviewing.run_steps(review_id, civil_affairs={"subsistence_allowance": True})
    assert (review.status, review.recommendation["outcome"], review.answer["role"]) == (
        "recommended", "continue", "exempt"), review.recommendation
    not_poor = reviewing.housed(client, stack, "豁免不符", born="19400101")
    other_id = reviewing.open_review(not_poor.lease_id, new_id("rcmp"))
    assert review_verification.begin_exempt(other_id) is True
    back = reviewing.run_steps(other_id)  # civil affairs: no 低保: the household answers after all
    assert (back.status, back.answer, back.verification["exemption"]) == ("open", None, "not_confirmed")
    young = reviewing.housed(client, stack, "豁免年轻")
    assert review_verification.begin_exempt(reviewing.open_review(young.lease_id, new_id("rcmp"))) is False

"""The authorization matrix (issue 9 §2, docs/decisions/0017): every declared route (OPERATIONS) x
every kind of caller x the objects it can be asked about, with the one expected outcome of each in
the table below. A route without a row fails the suite, and so does a row without a route.

Outcomes:
  A    allowed: the request got past authorization. It may still be refused by the domain after that
       (a stale version is 409, a draft cannot be approved, an unknown round is 404 ROUND_NOT_FOUND):
       writes are sent with bodies the domain refuses *after* authorizing, so the sweep changes
       little. "Got past" is proved by the answer: not 401, not 403, not a 404 that hides an object
       from a stranger (HIDING codes), and not a 400 or 5xx. Rows whose routes only check a role
       (admin/staff catalogue writes) may answer 400 to an allowed caller: the role check runs
       before the body is read, so a 400 proves it passed (``role_only``).
  401  no or bad token.
  403  authenticated, but the role, the city, the grant's scope or the kind of access refuses.
  404  the object is hidden: a stranger is told it does not exist.

Callers (columns, in this order): anonymous, owner (citizen with a household, an application and a
document), another citizen, view delegate, act delegate, documents delegate (grants from the
owner), employer (with a group), another employer, staff, staff of another city, admin, auditor,
auditor of another city, ministry (a reader above the city).

Objects: "own" is the owner's (or, on employer routes, the employer's; on delegation routes, the
grant the calling delegate holds), "other" a stranger's; on application routes also "group", an
employee's application in the employer's group, and "assisted", one staff made at the counter (代办)
for a citizen not yet registered, with its signed consent form as the document. Routes about no object have one column set ("-").
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

import chalicelib.handlers  # noqa: F401  (declaring the routes fills OPERATIONS)
from chalicelib.web import OPERATIONS
from tests.applying import Citizen, call, credit_code, register, upload

CALLERS = ("anon", "owner", "citizen", "view", "act", "docs", "employer", "employer2", "staff", "staff_x",
           "admin", "auditor", "auditor_x", "ministry")
OTHER_CITY = "xining"
#: 404 codes that mean "not for you" (an object hidden from a stranger), never "got past authorization".
HIDING = {"APPLICATION_NOT_FOUND", "GRANT_NOT_FOUND", "GROUP_NOT_FOUND", "CONSENT_NOT_FOUND"}
STALE = 999_999  # a version no object has: the domain refuses it (409) after authorizing


@dataclass(frozen=True)
class Row:
    """Expected outcome per caller (CALLERS order, space separated) for each object of the route."""

    expect: dict[str, str]
    body: Any = None  # a JSON body, or a function of the world giving one
    query: str = ""
    role_only: bool = False
    hides: tuple[str, ...] = ()  # further 404 codes by which this route hides an object from a stranger


# --- the table ------------------------------------------------------------------------------------------
#                anon own cit view act docs emp emp2 staff stx admin aud aux min
PUBLIC = "A A A A A A A A A A A A A A"
ADMIN = "401 403 403 403 403 403 403 403 403 403 A 403 403 403"
CASE_STAFF = "401 403 403 403 403 403 403 403 A 403 A 403 403 403"
OVERSIGHT = "401 403 403 403 403 403 403 403 A 403 A A 403 403"
CITIZEN = "401 A A A A A 403 403 403 403 403 403 403 403"
EMPLOYER = "401 403 403 403 403 403 A A 403 403 403 403 403 403"

# application routes: own = the owner's application, other = a stranger's, group = an employee's in
# the employer's group.
APP_READ = {"own": "401 A 404 A A A 404 404 A 403 A 403 403 403",
            "other": "401 404 404 404 404 404 404 404 A 403 A 403 403 403",
            "group": "401 404 404 404 404 404 A 404 A 403 A 403 403 403",
            "assisted": "401 404 404 404 404 404 404 404 A 403 A 403 403 403"}
APP_ACT = {"own": "401 A 404 403 A 403 404 404 403 403 403 403 403 403",
           "other": "401 404 404 404 404 404 404 404 403 403 403 403 403 403",
           "group": "401 404 404 404 404 404 A 404 403 403 403 403 403 403",
           "assisted": "401 404 404 404 404 404 404 404 A 403 A 403 403 403"}  # staff act only for 代办
APP_FILE = {"own": "401 A 404 403 403 A 404 404 A 403 A 403 403 403",
            "other": "401 404 404 404 404 404 404 404 A 403 A 403 403 403",
            "group": "401 404 404 404 404 404 403 404 A 403 A 403 403 403",
            "assisted": "401 404 404 404 404 404 404 404 A 403 A 403 403 403"}  # the signed consent form
STAFF_ON_APP = {"own": CASE_STAFF, "other": CASE_STAFF}
GRANTS_OF_MINE = {"own": "401 A 404 404 404 404 403 403 403 403 403 403 403 403",
                  "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"}
HELD_VIEW = {"own": "401 404 404 A A A 403 403 403 403 403 403 403 403",
             "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"}
HELD_ACT = {"own": "401 404 404 403 A 403 403 403 403 403 403 403 403 403",
            "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"}
GROUPS = {"own": "401 403 403 403 403 403 A 404 403 403 403 403 403 403",
          "other": "401 403 403 403 403 403 404 A 403 403 403 403 403 403"}

ROWS: dict[str, Row] = {}  # filled below, one entry per "METHOD path"


def row(key: str, expect: str | dict[str, str], **kw: Any) -> None:
    assert key not in ROWS, f"two rows for {key}"
    ROWS[key] = Row(expect if isinstance(expect, dict) else {"-": expect}, **kw)


# applications
row("GET /v1/me/applications", CITIZEN)
row("POST /v1/applications", CITIZEN, body={"kind": "individual"}, role_only=True)
row("GET /v1/applications/{application_id}", APP_READ)
row("PATCH /v1/applications/{application_id}", APP_ACT, body={"version": STALE})
row("POST /v1/applications/{application_id}/submit", APP_ACT, body={"version": STALE})
row("POST /v1/applications/{application_id}/withdraw", APP_ACT, body={"version": STALE})
row("GET /v1/applications/{application_id}/timeline", APP_READ)
row("POST /v1/applications/{application_id}/documents", APP_ACT,
    body={"type": "id_card", "content_type": "image/jpeg"})
row("GET /v1/applications/{application_id}/documents/{document_id}", APP_FILE)
# consent is given by a member under their own login: anyone else is told there is nothing to consent to
row("POST /v1/applications/{application_id}/consent",
    {"own": "401 A 404 404 404 404 403 403 403 403 403 403 403 403",
     "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403",
     "assisted": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"},
    body=lambda w: {"text_version": w["consent_version"], "agree": True})
row("POST /v1/applications/{application_id}/confirm",
    {"own": "401 A 404 403 403 403 404 404 A 403 A 403 403 403",
     "other": "401 404 404 404 404 404 404 404 A 403 A 403 403 403",
     "group": "401 404 404 404 404 404 403 404 A 403 A 403 403 403",
     "assisted": "401 404 404 404 404 404 404 404 A 403 A 403 403 403"}, body={})
row("GET /v1/consent-text", PUBLIC)
row("GET /v1/document-requirements", PUBLIC)
# catalogue
row("GET /v1/areas", PUBLIC)
row("POST /v1/admin/areas", ADMIN, body={}, role_only=True)
row("POST /v1/admin/areas/{area_id}/streets", ADMIN, body={}, role_only=True)
row("GET /v1/estates", PUBLIC)
row("GET /v1/estates/{estate_id}", PUBLIC)
row("POST /v1/admin/estates", ADMIN, body={}, role_only=True)
row("PATCH /v1/admin/estates/{estate_id}", ADMIN, body={}, role_only=True)
row("PUT /v1/admin/estates/{estate_id}/buildings/{building_id}", ADMIN, body={}, role_only=True)
row("GET /v1/map/estates", PUBLIC, query="?bbox=112.9,22.4,113.3,22.8")
row("GET /v1/map/facilities", PUBLIC, query="?lat=22.60&lng=113.08&radius=1500")
row("POST /v1/admin/facilities", ADMIN, body={}, role_only=True)
row("PATCH /v1/admin/facilities/{facility_id}", ADMIN, body={}, role_only=True)
row("GET /v1/units", PUBLIC)
row("GET /v1/units/{unit_id}", PUBLIC)
row("GET /v1/units/{unit_id}/history", OVERSIGHT)
row("POST /v1/admin/units", CASE_STAFF, body={}, role_only=True)
row("PATCH /v1/admin/units/{unit_id}", CASE_STAFF, body={}, role_only=True)
row("POST /v1/admin/units/{unit_id}/status", CASE_STAFF, body={}, role_only=True)
row("GET /v1/policies", PUBLIC)
row("GET /v1/policies/{policy_id}", PUBLIC)
row("GET /v1/admin/policies", ADMIN)
row("GET /v1/admin/policies/{policy_id}", ADMIN)
row("POST /v1/admin/policies", ADMIN, body={}, role_only=True)
row("PATCH /v1/admin/policies/{policy_id}", ADMIN, body={}, role_only=True)
row("POST /v1/admin/policies/{policy_id}/status", ADMIN, body={}, role_only=True)
row("GET /v1/self-assessment/questions", PUBLIC)
row("POST /v1/self-assessment", PUBLIC, body={}, role_only=True)
row("GET /v1/eligibility-rules/current", PUBLIC)
row("GET /v1/admin/eligibility-rules", ADMIN)
row("POST /v1/admin/eligibility-rules", ADMIN, body={}, role_only=True)
row("GET /v1/health", PUBLIC)
row("GET /v1/openapi.json", PUBLIC)
# employer (团租): a group is its employer's only; another employer is told it does not exist
row("POST /v1/employer/groups", EMPLOYER, body={"name": "矩阵测试"}, role_only=True)
row("GET /v1/employer/groups", EMPLOYER)
row("GET /v1/employer/groups/{group_id}", GROUPS)
row("POST /v1/employer/groups/{group_id}/employees", GROUPS, body=lambda w: w["employee"])
row("POST /v1/employer/groups/{group_id}/employees/import", GROUPS,
    body={"csv": "姓名,身份证号,手机号,户籍,月收入（分）\n陈工,440703199001011230,13612345678,本地,100000\n"})
row("GET /v1/employer/groups/{group_id}/employees", GROUPS)
# me: the caller's own records; grants by their grantor; delegations by the delegate who holds them
row("GET /v1/me", "401 A A A A A A A 403 403 403 403 403 403")
row("POST /v1/me", CITIZEN, body={}, role_only=True)
row("POST /v1/me/employer", EMPLOYER, body={}, role_only=True)
row("POST /v1/me/real-name-check", CITIZEN, body={}, role_only=True)
# identity conflicts (docs/decisions/0016): staff of this city decide, with a reason
row("GET /v1/staff/identity-conflicts", CASE_STAFF, query="?reason=%E6%A0%B8%E6%9F%A5")
row("POST /v1/staff/identity-conflicts/{conflict_id}/resolve", CASE_STAFF, body={}, role_only=True)
row("GET /v1/me/household", CITIZEN)
row("PUT /v1/me/household", CITIZEN, body={"members": []}, role_only=True)
row("GET /v1/me/consents", CITIZEN)
row("POST /v1/me/grants", CITIZEN, body={}, role_only=True)
row("GET /v1/me/grants", CITIZEN)
row("POST /v1/me/grants/{grant_id}/revoke", GRANTS_OF_MINE)
row("GET /v1/me/grants/{grant_id}/activity", GRANTS_OF_MINE)
row("GET /v1/me/delegations", CITIZEN)
row("GET /v1/delegations/{grant_id}/applications", HELD_VIEW)
row("GET /v1/delegations/{grant_id}/household", HELD_VIEW)
row("PUT /v1/delegations/{grant_id}/household", HELD_ACT,
    body=lambda w: {"members": [w["member"]], "version": STALE})
# publicity, review, staff
row("GET /v1/publicity", PUBLIC)
row("GET /v1/publicity/{batch_id}", PUBLIC)
row("POST /v1/publicity/{batch_id}/objections",
    "401 A A A A A A A A 403 A A 403 403", body={"entry_id": "x", "reason": "对公示对象有异议，请核查"}, role_only=True)
row("POST /v1/staff/publicity", CASE_STAFF, body={}, role_only=True)
row("GET /v1/staff/publicity/{batch_id}", CASE_STAFF)
row("POST /v1/staff/publicity/{batch_id}/close", CASE_STAFF, body={}, role_only=True)
row("GET /v1/staff/objections", CASE_STAFF)
row("POST /v1/staff/objections/{objection_id}/resolve", CASE_STAFF, body={}, role_only=True)
row("GET /v1/me/waiting-list", CITIZEN)
row("GET /v1/staff/review", CASE_STAFF)
row("GET /v1/staff/applications/{application_id}/review", STAFF_ON_APP)
row("POST /v1/staff/applications/{application_id}/approve", STAFF_ON_APP, body={"version": STALE})
row("POST /v1/staff/review/approve", CASE_STAFF, body={}, role_only=True)
row("POST /v1/staff/applications/{application_id}/reject", STAFF_ON_APP, body={}, role_only=True)
row("POST /v1/staff/applications/{application_id}/override", STAFF_ON_APP, body={}, role_only=True)
row("POST /v1/staff/applications/{application_id}/verification", STAFF_ON_APP, body={}, role_only=True)
row("GET /v1/staff/applications", CASE_STAFF, query="?status=draft")
row("POST /v1/staff/applications", CASE_STAFF, body={}, role_only=True)
row("POST /v1/staff/applications/{application_id}/supplement", STAFF_ON_APP, body={}, role_only=True)
row("POST /v1/staff/applications/{application_id}/consents", STAFF_ON_APP, body={}, role_only=True)
# the audit trail: this city's staff and auditors, never another city's, never the ministry
row("GET /v1/audit/{target_kind}/{target_id}", {"own": OVERSIGHT, "other": OVERSIGHT})
# lottery and selection
row("GET /v1/rounds", PUBLIC)
row("GET /v1/rounds/{round_id}", PUBLIC)
row("GET /v1/rounds/{round_id}/commitment.json", PUBLIC)
row("GET /v1/rounds/{round_id}/result.json", PUBLIC)
row("GET /v1/rounds/{round_id}/ranks", PUBLIC)
row("POST /v1/rounds/{round_id}/registrations", CITIZEN, body={}, role_only=True)
row("GET /v1/me/rounds/{round_id}", CITIZEN)
row("POST /v1/admin/rounds", ADMIN, body={}, role_only=True)
row("GET /v1/admin/rounds/{round_id}", ADMIN)
for _step in ("close", "cancel", "commit", "draw", "publish"):
    row(f"POST /v1/admin/rounds/{{round_id}}/{_step}", ADMIN, body={}, role_only=True)
row("POST /v1/admin/rounds/{round_id}/selection/start", ADMIN, body={}, role_only=True)
row("POST /v1/admin/rounds/{round_id}/selection/advance", ADMIN, body={}, role_only=True)
row("GET /v1/rounds/{round_id}/availability", PUBLIC)
row("GET /v1/me/rounds/{round_id}/selection", CITIZEN)
row("POST /v1/rounds/{round_id}/choices", CITIZEN, body={"unit_id": "unt_x"}, role_only=True)
row("GET /v1/me/lease", CITIZEN)
# a lease is the tenant's: a delegate may not sign it (403), a stranger is told it does not exist
row("POST /v1/me/lease/{lease_id}/confirm",
    {"own": "401 A 404 403 403 403 403 403 403 403 403 403 403 403",
     "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"}, body={"version": STALE},
    hides=("LEASE_NOT_FOUND",))
# the contract is a raw file with the tenant's ID number: tenant, staff (audited), documents delegate
row("GET /v1/leases/{lease_id}/contract",
    {"own": "401 A 404 403 403 A 403 403 A 403 A 403 403 403",
     "other": "401 404 404 404 404 404 403 403 A 403 A 403 403 403"}, hides=("LEASE_NOT_FOUND",))
# renewal (docs/decisions/0033): the tenant or an act delegate applies and withdraws, any delegate follows it,
# staff apply (with a reason) and read (audited) on their own routes; a stranger is told the lease does not exist
LEASE_ACT = {"own": "401 A 404 403 A 403 403 403 403 403 403 403 403 403",
             "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"}
row("POST /v1/me/lease/{lease_id}/renewal", LEASE_ACT, body={"version": STALE}, hides=("LEASE_NOT_FOUND",))
row("POST /v1/me/lease/{lease_id}/renewal/cancel", LEASE_ACT, body={"version": STALE}, hides=("LEASE_NOT_FOUND",))
row("GET /v1/me/lease/{lease_id}/renewal",
    {"own": "401 A 404 A A A 403 403 403 403 403 403 403 403",
     "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"}, hides=("LEASE_NOT_FOUND",))
row("POST /v1/staff/leases/{lease_id}/renewal", STAFF_ON_APP, body={"version": STALE, "reason": "承租人到窗口办理续签"})
row("GET /v1/staff/leases/{lease_id}/renewal", STAFF_ON_APP)
# rent: a bill is its tenant's and their delegates' (any live grant sees it); a stranger is told it
# does not exist; the billing runs are the admin's
row("GET /v1/me/bills", CITIZEN)
row("GET /v1/me/bills/{bill_id}",
    {"own": "401 A 404 A A A 403 403 403 403 403 403 403 403",
     "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"}, hides=("BILL_NOT_FOUND",))
row("GET /v1/delegations/{grant_id}/bills", HELD_VIEW)
row("POST /v1/admin/billing-runs", ADMIN, body={}, role_only=True)
row("GET /v1/admin/billing-runs", ADMIN)
row("GET /v1/admin/billing-runs/{run_id}", ADMIN)  # an unknown run: 404 after the role check
# review campaigns (docs/decisions/0032): the admin opens and follows them; staff follow up their reviews
row("POST /v1/admin/review-campaigns", ADMIN, body={}, role_only=True)
row("GET /v1/admin/review-campaigns", ADMIN)
row("GET /v1/admin/review-campaigns/{campaign_id}", ADMIN)  # an unknown campaign: 404 after the role check
row("GET /v1/admin/review-campaigns/{campaign_id}/reviews", CASE_STAFF)
# payments (docs/decisions/0028): the tenant and the grantor's delegates see a payment (a voucher carries no
# raw personal data: a view grant suffices), an act delegate may close it; staff read vouchers with a reason
row("POST /v1/me/payments", CITIZEN, body={}, role_only=True)
row("GET /v1/me/payments", CITIZEN)
row("GET /v1/me/payments/{payment_id}",
    {"own": "401 A 404 A A A 403 403 403 403 403 403 403 403",
     "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"}, hides=("PAYMENT_NOT_FOUND",))
row("POST /v1/me/payments/{payment_id}/close",  # the world's payments are paid: an allowed close is a 409
    {"own": "401 A 404 403 A 403 403 403 403 403 403 403 403 403",
     "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"}, hides=("PAYMENT_NOT_FOUND",))
row("GET /v1/payments/{payment_id}/receipt",
    {"own": "401 A 404 A A A 403 403 A 403 A 403 403 403",
     "other": "401 404 404 404 404 404 403 403 A 403 A 403 403 403"}, hides=("PAYMENT_NOT_FOUND",))
row("POST /v1/staff/payments", CASE_STAFF, body={}, role_only=True)
# the providers' notifications: anyone may call, only the provider's signature decides (a refusal is the
# provider's failure answer, a 400 for WeChat Pay)
row("POST /v1/payments/wechat/notify", PUBLIC, role_only=True)
row("POST /v1/payments/alipay/notify", PUBLIC, role_only=True)
# arrears and reconciliation (docs/decisions/0029): staff see arrears and resolve mismatches; admins run days
row("GET /v1/staff/arrears", CASE_STAFF, query="?estate_id=fuzeyuan")
row("GET /v1/staff/arrears/summary", CASE_STAFF)
row("POST /v1/admin/reconciliations", ADMIN, body={}, role_only=True)
row("GET /v1/admin/reconciliations/{reconciliation_id}", ADMIN)
row("GET /v1/staff/reconciliation-mismatches", CASE_STAFF)
row("POST /v1/staff/reconciliation-mismatches/{mismatch_id}/resolve", CASE_STAFF, body={}, role_only=True)
# statistics (docs/decisions/0037): the city's admins and auditors and the ministry read aggregates; admins recount
STATS_READERS = "401 403 403 403 403 403 403 403 403 403 A A 403 A"
row("GET /v1/stats", STATS_READERS)
row("GET /v1/stats/export", STATS_READERS)
row("POST /v1/admin/stats/recounts", ADMIN, body={})
row("GET /v1/admin/stats/recounts/{recount_id}", ADMIN)
# move-out (docs/decisions/0030): the tenant or an act delegate gives notice and withdraws it, any delegate
# follows it, a stranger is told the lease does not exist; staff run every step. The world's leases each have
# an open move-out, so an allowed notice is 409 MOVE_OUT_EXISTS, an allowed step with a stale version 409.
_NOTICE = {"own": "401 A 404 403 A 403 403 403 403 403 403 403 403 403",
           "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"}
row("POST /v1/me/lease/{lease_id}/move-out", _NOTICE, body=lambda w: {"move_out_date": w["move_out_date"]},
    hides=("LEASE_NOT_FOUND",))
row("GET /v1/me/lease/{lease_id}/move-out",
    {"own": "401 A 404 A A A 403 403 403 403 403 403 403 403",
     "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"}, hides=("LEASE_NOT_FOUND",))
row("POST /v1/me/lease/{lease_id}/move-out/cancel", _NOTICE, body={"version": STALE}, hides=("LEASE_NOT_FOUND",))
row("POST /v1/staff/leases/{lease_id}/move-out", {"own": CASE_STAFF, "other": CASE_STAFF},
    body=lambda w: {"move_out_date": w["move_out_date"], "reason": "年审须腾退"})
row("GET /v1/staff/move-outs", CASE_STAFF)
row("GET /v1/staff/move-outs/{move_out_id}", CASE_STAFF)
for _step in ("appointment", "inspection", "settle", "complete", "cancel"):
    row(f"POST /v1/staff/move-outs/{{move_out_id}}/{_step}", CASE_STAFF, body={}, role_only=True)
row("POST /v1/staff/move-outs/{move_out_id}/photos", CASE_STAFF, body={"content_type": "image/png"})
row("POST /v1/staff/move-outs/{move_out_id}/refund", CASE_STAFF, body={"reason": "矩阵"})

# the annual review (年审, docs/decisions/0031): the tenant and their delegates (act to answer), staff with a
# reason (代办, audited); a stranger is told the review does not exist
REVIEW_ACT = {"own": "401 A 404 403 A 403 403 403 A 403 A 403 403 403",
              "other": "401 404 404 404 404 404 403 403 A 403 A 403 403 403"}
ASSISTED = {"where": "counter", "reason": "窗口代办年审", "consents_signed": True}
row("GET /v1/me/reviews/current", CITIZEN)
row("GET /v1/delegations/{grant_id}/reviews/current", HELD_VIEW)
row("POST /v1/reviews/{review_id}/answer", REVIEW_ACT, hides=("REVIEW_NOT_FOUND",),
    body={"version": STALE, "change": "none", "assisted": ASSISTED})
row("POST /v1/reviews/{review_id}/documents", REVIEW_ACT, hides=("REVIEW_NOT_FOUND",),
    body={"type": "other", "content_type": "image/jpeg", "reason": "窗口代办年审"})
row("POST /v1/reviews/{review_id}/consent",  # an adult member of the household, under their own login
    {"own": "401 A 404 404 404 404 403 403 403 403 403 403 403 403",
     "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"},
    hides=("REVIEW_CONSENT_NOT_NEEDED", "REVIEW_NOT_FOUND"), body=lambda w: {"text_version": w["consent_version"], "agree": True})
row("POST /v1/reviews/{review_id}/objections",  # the world's reviews are open: an allowed objection is a 409
    {"own": "401 A 404 403 A 403 403 403 403 403 403 403 403 403",
     "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"}, hides=("REVIEW_NOT_FOUND",),
    body={"reason": "对年审结果有异议，请重新核查"})
row("GET /v1/staff/reviews/{review_id}", {"own": CASE_STAFF, "other": CASE_STAFF})
row("POST /v1/staff/reviews/{review_id}/confirm", {"own": CASE_STAFF, "other": CASE_STAFF}, body={"version": STALE})
row("POST /v1/staff/reviews/confirm-continues", CASE_STAFF, body={}, role_only=True)
row("POST /v1/staff/reviews/{review_id}/verification", {"own": CASE_STAFF, "other": CASE_STAFF},
    body={"version": STALE, "reason": "部门恢复，重新核查"})
# holiday calendars (docs/decisions/0035): the admin enters them; staff and admins count working days
row("GET /v1/admin/holiday-calendars", ADMIN)
row("GET /v1/admin/holiday-calendars/{year}", ADMIN)
row("PUT /v1/admin/holiday-calendars/{year}", ADMIN, body={}, role_only=True)
row("GET /v1/working-days", CASE_STAFF, query="?from=2026-09-30&add=3")
# personal data over time (docs/decisions/0040): the audit trail's verifier is an auditor's or an admin's
# of this city; what is held about me, a consent withdrawn (by the member only) and closing are the
# citizen's own (a stale version: an allowed caller gets the 409, nothing withdrawn or closed)
row("GET /v1/audit/verification", "401 403 403 403 403 403 403 403 403 403 A A 403 403")
row("GET /v1/me/data", CITIZEN)
row("GET /v1/me/data/file", CITIZEN)
row("POST /v1/me/consents/{application_id}/withdraw",
    {"own": "401 A 404 404 404 404 403 403 403 403 403 403 403 403",
     "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403",
     "assisted": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"}, body={"version": STALE})
row("POST /v1/me/close", CITIZEN, body={"version": STALE})
# imports (数据导入, docs/decisions/0036): the admin's; an unknown import is a 404 after the role check
row("POST /v1/admin/imports", ADMIN, body={}, role_only=True)
row("GET /v1/admin/imports", ADMIN)
row("GET /v1/admin/imports/{import_id}", ADMIN)
row("POST /v1/admin/imports/{import_id}/dry-run", ADMIN)
row("POST /v1/admin/imports/{import_id}/apply", ADMIN)
row("GET /v1/admin/imports/{import_id}/report", ADMIN)
# exports (数据导出, docs/decisions/0036 "Export"): the admin's, with a reason (audited)
row("POST /v1/admin/exports", ADMIN, body={}, role_only=True)
row("GET /v1/admin/exports/{export_id}", ADMIN)

# the service desk (docs/decisions/0034): a ticket is its citizen's and their delegates' (act to add, reopen, rate;
# any live grant to read); a stranger is told it does not exist; staff work the queue; admins read the ratings.
# The world's tickets are open: an allowed rating is 409 TICKET_NOT_RATEABLE, an allowed reopen a 409 too.
TICKET_READ = {"own": "401 A 404 A A A 403 403 403 403 403 403 403 403",
               "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"}
TICKET_ACT = {"own": "401 A 404 403 A 403 403 403 403 403 403 403 403 403",
              "other": "401 404 404 404 404 404 403 403 403 403 403 403 403 403"}
row("GET /v1/ticket-categories", PUBLIC)
row("POST /v1/tickets", CITIZEN, body={}, role_only=True)
row("GET /v1/me/tickets", CITIZEN)
row("GET /v1/tickets/{ticket_id}", TICKET_READ, hides=("TICKET_NOT_FOUND",))
row("POST /v1/tickets/{ticket_id}/photos", TICKET_ACT, body={"content_type": "image/png"}, hides=("TICKET_NOT_FOUND",))
row("POST /v1/tickets/{ticket_id}/replies", TICKET_ACT, body={"text": "补充说明：矩阵"}, hides=("TICKET_NOT_FOUND",))
row("POST /v1/tickets/{ticket_id}/reopen", TICKET_ACT, body={"reason": "问题未解决"}, hides=("TICKET_NOT_FOUND",))
row("POST /v1/tickets/{ticket_id}/rating", TICKET_ACT, body={"score": 5}, hides=("TICKET_NOT_FOUND",))
row("GET /v1/staff/tickets", CASE_STAFF)
row("GET /v1/staff/tickets/{ticket_id}", {"own": CASE_STAFF, "other": CASE_STAFF})
row("GET /v1/staff/tickets/{ticket_id}/contact", {"own": CASE_STAFF, "other": CASE_STAFF})
row("POST /v1/staff/tickets/{ticket_id}/replies", {"own": CASE_STAFF, "other": CASE_STAFF},
    body={"text": "矩阵内部备注", "internal": True})
row("POST /v1/staff/tickets/{ticket_id}/status", {"own": CASE_STAFF, "other": CASE_STAFF},
    body={"version": STALE, "status": "accepted"})
row("POST /v1/staff/tickets/{ticket_id}/assign", {"own": CASE_STAFF, "other": CASE_STAFF},
    body={"version": STALE, "team": "bureau", "reason": "矩阵改派"})
row("POST /v1/staff/ticket-assignments", CASE_STAFF, body={}, role_only=True)
row("GET /v1/staff/ticket-replies", CASE_STAFF)
row("GET /v1/admin/ticket-ratings", ADMIN)


# --- the world: built once for the module --------------------------------------------------------------
def _subject(token: str) -> str:
    import jwt

    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


def _citizen(stack: Any, client: Any, name: str, household: bool = False) -> Citizen:
    person = Citizen(stack, name)
    register(client, person)
    if household:
        status, body = call(client, "PUT", "/v1/me/household", person.headers(), {"members": [person.member()]})
        assert status == 200, body
    return person


def _application_with_document(client: Any, person: Citizen) -> tuple[str, str]:
    status, app = call(client, "POST", "/v1/applications", person.headers(), {"kind": "individual"})
    assert status == 201, app
    doc = upload(client, person.headers(), app["application_id"], "id_card")
    return app["application_id"], doc["document_id"]


def _grant(client: Any, grantor: Citizen, delegate: Citizen, scopes: list[str]) -> str:
    from chalicelib.domain.common import now

    status, grant = call(client, "POST", "/v1/me/grants", grantor.headers(), {
        "delegate_mobile": delegate.mobile, "scopes": scopes, "expires_at": (now() + timedelta(days=30)).isoformat()})
    assert status == 201, grant
    return str(grant["grant_id"])


def _employer(stack: Any, client: Any, name: str) -> Citizen:
    employer = Citizen(stack, name, role="employer")
    status, body = call(client, "POST", "/v1/me/employer", employer.headers(), {"name": name, "credit_code": credit_code()})
    assert status == 201, body
    return employer


def _group(client: Any, employer: Citizen) -> str:
    status, group = call(client, "POST", "/v1/employer/groups", employer.headers(), {"name": "2026 年第一批"})
    assert status == 201, group
    return str(group["group_id"])


def _lease(owner: Citizen, application_id: str, unit: Any) -> str:
    from chalicelib.domain.leases import Lease
    from chalicelib.domain.common import new_id, now_iso
    from chalicelib.repositories.leases import lease_record

    lease_id = new_id("lse")
    lease_record(Lease(lease_id=lease_id, round_id="rnd_matrix", application_id=application_id,
                       owner=_subject(owner.token), owner_key="x", tenant_name="张*", tenant_id_masked="4407**",
                       household_size=1, unit_id=unit.unit_id, estate_id=unit.estate_id, estate_name="福泽园",
                       address="福泽园路1号", building_id="b1", building_name="1栋", number="101", layout="1b1l",
                       floor_area=40.0, base_rent=30000, monthly_rent=30000, reduction=None, deposit=60000,
                       term_months=12, start_date="2027-01-01", end_date="2027-12-31", manager=None, landlord="江门市",
                       status="confirmed", contract_key=f"leases/{lease_id}/contract.pdf", created_at=now_iso(),
                       updated_at=now_iso())).save()
    return lease_id


def _bill(owner: Citizen, lease_id: str) -> str:
    from chalicelib.deps import deps
    from chalicelib.domain.bills import Bill, BillKind, bill_key
    from chalicelib.domain.common import now_iso

    bill = Bill(bill_id=bill_key(lease_id, BillKind.RENT, "2027-01"), lease_id=lease_id, owner=_subject(owner.token),
                kind=BillKind.RENT, month="2027-01", period_start="2027-01-01", period_end="2027-01-31",
                base_amount=30000, amount=30000, due_date="2027-01-10", estate_id="fuzeyuan", unit_id="unt_x",
                unit_label="福泽园1栋101", created_at=now_iso(), updated_at=now_iso())
    deps().bills.create(bill)
    return bill.bill_id


def _payment(owner: Citizen) -> str:
    """A paid payment of one of ``owner``'s bills, with its voucher (as a settled notification leaves it)."""
    from chalicelib.deps import deps
    from chalicelib.domain import receipts
    from chalicelib.domain.common import new_id, now_iso
    from chalicelib.domain.payments import PAID, Payment, PaymentMethod, lines_of
    from tests.paying import bill

    lines = lines_of([bill(_subject(owner.token))])
    payment = receipts.issue(Payment(
        payment_id=new_id("pay"), owner=_subject(owner.token), payer=_subject(owner.token), payer_role="tenant",
        payer_masked="周*华", provider="wechat", method=PaymentMethod.WECHAT, bills=lines, amount=lines[0].amount,
        description="公租房租金", status=PAID, transaction_id="4200000000000000000001", paid_at=now_iso(),
        created_at=now_iso(), updated_at=now_iso()))
    assert deps().payments.create_paid(payment)
    return payment.payment_id


def _move_out_date() -> str:
    from tests.moving import move_out_date

    return move_out_date().isoformat()


def _move_out(lease_id: str) -> str:
    """An open move-out of the lease (staff started it: the domain's entry point the reviews call)."""
    from chalicelib.domain import move_outs
    from chalicelib.identity import Actor, Role

    staff = Actor(subject="matrix-staff", roles=frozenset({Role.STAFF}), city="jiangmen", claims={})
    return move_outs.start_for_staff(lease_id, staff, _move_out_date(), "矩阵测试").move_out_id


def _ticket(client: Any, owner: Citizen, estate_id: str) -> str:
    status, ticket = call(client, "POST", "/v1/tickets", owner.headers(), {
        "category": "repair_water_electric", "title": "矩阵报修", "text": "厨房水龙头漏水。", "estate_id": estate_id,
        "contact_allowed": True})
    assert status == 201, ticket
    return str(ticket["ticket_id"])


def _assisted(client: Any, staff_token: str) -> tuple[str, str]:
    """代办: staff make an application for a citizen who is not registered, and upload the signed
    consent form (a raw file of the 代办 kind)."""
    from tests.applying import id_number

    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {staff_token}"}
    member = {"relation": "self", "name": "冯桂兰", "id_number": id_number("19500101", male=False),
              "hukou": "local", "monthly_income": 100000}
    status, app = call(client, "POST", "/v1/staff/applications", headers,
                       {"kind": "individual", "members": [member], "note": "上门代办"})
    assert status == 201, app
    return app["application_id"], upload(client, headers, app["application_id"], "consent_form")["document_id"]


@pytest.fixture(scope="module")
def world(stack: Any, catalogue: dict[str, Any]) -> dict[str, Any]:
    from chalice.test import Client

    from app import app as chalice_app
    from tests.test_groups import employee_body

    with Client(chalice_app) as client:
        owner = _citizen(stack, client, "周明华", household=True)
        stranger = _citizen(stack, client, "吴国强", household=True)
        stranger_friend = _citizen(stack, client, "郑小燕")
        citizen = _citizen(stack, client, "孙丽娟")
        view, act, docs = (_citizen(stack, client, n) for n in ("钱卫东", "李建国", "王秀英"))
        own_app, own_doc = _application_with_document(client, owner)
        other_app, other_doc = _application_with_document(client, stranger)
        grants = {"view": _grant(client, owner, view, ["view"]), "act": _grant(client, owner, act, ["act"]),
                  "docs": _grant(client, owner, docs, ["documents"])}
        spare = _grant(client, owner, stranger_friend, ["view"])  # revoked by the sweep
        other_grant = _grant(client, stranger, stranger_friend, ["view"])
        employer, employer2 = _employer(stack, client, "江门示范制造有限公司"), _employer(stack, client, "江门另一家公司")
        group, group2 = _group(client, employer), _group(client, employer2)
        status, added = call(client, "POST", f"/v1/employer/groups/{group}/employees", employer.headers(),
                             employee_body())
        assert status == 201, added
        group_app = added["application"]["application_id"] if "application" in added else added["application_id"]
        group_doc = upload(client, employer.headers(), group_app, "id_card")["document_id"]
        assisted_app, assisted_doc = _assisted(client, stack.token("staff"))
        stack.drain()
        unit = catalogue["units"][1]
        leases = {"own": _lease(owner, own_app, unit), "other": _lease(stranger, other_app, unit)}
        bills = {"own": _bill(owner, leases["own"]), "other": _bill(stranger, leases["other"])}
        payments = {"own": _payment(owner), "other": _payment(stranger)}
        move_outs = {k: _move_out(leases[k]) for k in ("own", "other")}

        from tests.reviewing import open_review

        reviews_ = {k: open_review(lease, "rcmp_matrix") for k, lease in leases.items()}
        tickets_ = {"own": _ticket(client, owner, unit.estate_id), "other": _ticket(client, stranger, unit.estate_id)}

    def other_city(role: str) -> str:
        phone = {"staff": "13766600001", "auditor": "13766600002"}[role]
        return stack.token_for(stack.add_user(phone, role, OTHER_CITY))

    people = {"owner": owner, "citizen": citizen, "view": view, "act": act, "docs": docs, "employer": employer,
              "employer2": employer2}
    tokens_: dict[str, str | None] = {"anon": None, **{k: p.token for k, p in people.items()}}
    for role in ("staff", "admin", "auditor", "ministry"):
        tokens_[role] = stack.token(role)
    tokens_["staff_x"], tokens_["auditor_x"] = other_city("staff"), other_city("auditor")
    unit_id, estate_id = unit.unit_id, unit.estate_id
    policy_id = catalogue["policies"][0].policy_id
    common = {"area_id": "pengjiang", "estate_id": estate_id, "building_id": "b1", "facility_id": "bus-fuze",
              "unit_id": unit_id, "policy_id": policy_id, "round_id": "rnd_matrix", "batch_id": "pub_matrix",
              "objection_id": "obj_matrix", "target_kind": "application", "conflict_id": "idc_matrix",
              "run_id": "brun_matrix", "reconciliation_id": "rec_wechat_20270105", "mismatch_id": "mm_matrix",
              "move_out_id": move_outs["own"], "campaign_id": "rc-1999"}
    common["year"] = "2031"  # holiday calendars: a year nobody enters (GET answers "none")
    common["recount_id"] = "src-matrix"  # no such recount: an allowed caller gets 404 STATS_RECOUNT_NOT_FOUND
    common["import_id"] = "imp_matrix"  # no such import: the admin's answer is a 404 after the role check
    common["export_id"] = "exp_matrix"  # no such export: the admin's answer is a 404 after the role check
    objects = {
        "own": {**common, "application_id": own_app, "document_id": own_doc, "group_id": group,
                "grant_id": spare, "lease_id": leases["own"], "bill_id": bills["own"], "target_id": own_app,
                "payment_id": payments["own"], "review_id": reviews_["own"], "ticket_id": tickets_["own"]},
        "other": {**common, "application_id": other_app, "document_id": other_doc, "group_id": group2,
                  "grant_id": other_grant, "lease_id": leases["other"], "bill_id": bills["other"],
                  "target_id": other_app, "payment_id": payments["other"], "review_id": reviews_["other"],
                  "ticket_id": tickets_["other"]},
        "group": {**common, "application_id": group_app, "document_id": group_doc},
        "assisted": {**common, "application_id": assisted_app, "document_id": assisted_doc},
        "-": common,
    }
    from chalicelib.domain import households as hh

    return {"tokens": tokens_, "objects": objects, "grants": grants, "own_grant": grants["view"],
            "move_out_date": _move_out_date(),
            "consent_version": hh.config().consent_version, "employee": employee_body(),
            "member": owner.member()}


def _path(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], template)


def _values(world: dict[str, Any], template: str, obj: str, caller: str) -> dict[str, str]:
    values = dict(world["objects"][obj])
    if obj == "own" and template.startswith("/v1/delegations/"):
        values["grant_id"] = world["grants"].get(caller, world["own_grant"])  # the grant this delegate holds
    if obj == "own" and template == "/v1/me/grants/{grant_id}/activity":
        values["grant_id"] = world["own_grant"]
    return values


REFUSALS = frozenset({401, 403})  # reported as themselves: the row's expectation names which one


def _outcome(status: int, code: str | None, spec: Row) -> str:
    if status in REFUSALS:
        return str(status)
    if status == 404 and (code in HIDING or code in spec.hides):
        return "404"
    if status >= 500 or (status == 400 and not spec.role_only):
        return f"?{status} {code}"  # neither allowed nor refused: the row's request must be fixed
    return "A"


def _sweep(client: Any, world: dict[str, Any], key: str, spec: Row) -> list[str]:
    method, template = key.split(" ", 1)
    op = next(o for o in OPERATIONS if o.method == method and o.path == template)
    wants_reason = any(p.name == "reason" for p in op.params)
    failures = []
    for obj, expected in spec.expect.items():
        want = expected.split()
        assert len(want) == len(CALLERS), (key, obj, "one outcome per caller")
        for caller, expect in zip(CALLERS, want):
            path = _path(template, _values(world, template, obj, caller)) + spec.query
            if wants_reason:
                path += ("&" if "?" in path else "?") + "reason=matrix"
            headers = {"Content-Type": "application/json"}
            if world["tokens"][caller]:
                headers["Authorization"] = f"Bearer {world['tokens'][caller]}"
            data = spec.body(world) if callable(spec.body) else spec.body
            status, body = call(client, method, path, headers, data if method != "GET" else None)
            code = (body or {}).get("error", {}).get("code") if isinstance(body, dict) else None
            got = _outcome(status, code, spec)
            if got != expect:
                failures.append(f"{key} [{obj}] {caller}: expected {expect}, got {status} {code}")
    return failures


def test_every_route_has_a_row_and_every_row_a_route() -> None:
    declared = {f"{op.method} {op.path}" for op in OPERATIONS}
    assert len(declared) == len(OPERATIONS)
    assert sorted(declared - ROWS.keys()) == [], "routes without a row in the authorization matrix"
    assert sorted(ROWS.keys() - declared) == [], "rows without a route"


def test_every_row_names_the_objects_its_route_is_about() -> None:
    for key, spec in ROWS.items():
        about_objects = any(p in key for p in ("{application_id}", "{grant_id}", "{group_id}", "{lease_id}",
                                               "{bill_id}", "{target_id}", "{payment_id}", "{review_id}",
                                               "{ticket_id}"))
        assert ("own" in spec.expect and "other" in spec.expect) == about_objects, key


def test_authorization_matrix(client: Any, world: dict[str, Any]) -> None:
    failures: list[str] = []
    for key, spec in ROWS.items():
        failures += _sweep(client, world, key, spec)
    assert not failures, "\n".join(failures)


#: Every function that hands out a link to a private file, and the file rule it applies (docs/decisions/0017).
FILE_LINKS = {
    "chalicelib/domain/documents.py:document_link": "authorize(app, actor, files=True)",
    "chalicelib/domain/leases.py:contract_link": "check_files(grant)",
    # the payment voucher: amounts, the unit and the payer's masked name, no raw personal data (0028)
    "chalicelib/domain/receipts.py:link": 'authorize(payment, actor, "view")',
    # a move-out's inspection photos: the unit's condition, no personal data (0030)
    "chalicelib/domain/move_outs.py:photo_links": "_may_view(mo, actor)",
    # a ticket's photos (a leaking pipe, a broken lock): no personal data, a view grant suffices (0034)
    "chalicelib/domain/tickets.py:photo_links": 'reach(t, actor, "view")',
    # the statistics' export: aggregates only, no personal data; the route's roles decide (0037)
    "chalicelib/repositories/stats.py:put_export": "aggregates only, no personal data",
    # an import's report: row numbers, columns, codes and messages, no personal data; the admin's route (0036)
    "chalicelib/domain/imports.py:report_link": "no personal data",
    # an export: what the national system holds, started by an admin with a reason (audit.record); the admin's route (0036)
    "chalicelib/domain/exports.py:link": "audited at start",
}


def test_every_link_to_a_private_file_applies_the_file_rule() -> None:
    """A new place that presigns a private object (a raw file) must apply the file rule (owner, staff
    with a reason, a delegate with the documents scope) and be listed here, so the matrix has its row."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    found = {}
    for path in sorted((root / "chalicelib").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            calls = [n for n in ast.walk(fn) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                     and n.func.attr == "presigned_get"]
            if calls and not path.name == "storage.py":
                found[f"{path.relative_to(root)}:{fn.name}"] = ast.get_source_segment(path.read_text(encoding="utf-8"), fn)
    assert sorted(found) == sorted(FILE_LINKS), "a new link to a private file: apply the file rule and list it"
    for where, rule in FILE_LINKS.items():
        assert rule in (found[where] or ""), (where, rule)

"""Leases (租赁合同), through the routes with real tokens: the steps after a household chose a unit in
a round's selection (tests/test_selection.py builds the round and plays its steps first; each test
here plays the steps before it that have not been played, so it passes alone)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import requests

from tests import test_selection as selection
from tests.applying import Citizen, call, register
from tests.test_selection import _mine, _through, step

# the round, its clock and the fixtures the steps take: the selection module's, one round per module
world, clock, fixtures = selection.world, selection.clock, selection.fixtures


@step
def _confirm_the_lease_stores_the_contract_privately(client: Any, stack: Any, tokens: Any, world: dict[str, Any],
        clock: dict[str, timedelta], no_scans: list[str]) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain import units
    from chalicelib.notify import RECORDED

    round_id, first, lease = world["round_id"], world["order"][0], world["lease"]
    url = f"/v1/me/lease/{lease['lease_id']}/confirm"
    other = world["order"][1]
    assert call(client, "POST", url, other.headers(), {"version": lease["version"]})[0] == 404
    status, body = call(client, "GET", f"/v1/leases/{lease['lease_id']}/contract", first.headers())
    assert status == 409 and body["error"]["code"] == "CONTRACT_NOT_READY"
    status, body = call(client, "POST", url, first.headers(), {"version": lease["version"] + 3})
    assert status == 409 and body["error"]["code"] == "STALE_VERSION"
    status, done = call(client, "POST", url, first.headers(**{"X-Device-Id": "iPhone-15-abc123"}),
                        {"version": lease["version"]})
    assert status == 200 and done["status"] == "confirmed" and done["confirmed_device"] == "iPhone-15-abc123", done
    assert done["has_contract"] and done["confirmed_at"]
    again = call(client, "POST", url, first.headers(), {"version": lease["version"]})  # a double tap
    assert again[0] == 200 and again[1]["version"] == done["version"]
    status, body = call(client, "POST", url, first.headers(), {"version": done["version"]})
    assert status == 409 and body["error"]["code"] == "LEASE_ALREADY_CONFIRMED"
    # the deposit is a bill from the confirmation on, once whatever the taps (issue 11, docs/decisions/0027)
    status, my_bills = call(client, "GET", "/v1/me/bills", first.headers())
    [deposit] = my_bills["items"]
    assert (deposit["kind"], deposit["amount"], deposit["status"], deposit["lease_id"]) == (
        "deposit", done["deposit"], "unpaid", lease["lease_id"]), deposit
    assert deposit["due_date"] == done["start_date"] and deposit["month"] is None

    assert units.get(lease["unit"]["unit_id"]).status.value == "leased"
    assert _mine(client, first, round_id)["status"] == "confirmed"
    application_id = world["apps"][first.username]
    status, app = call(client, "GET", f"/v1/applications/{application_id}", first.headers())
    assert app["status"] == "housed" and app["status_name"] == "已配租", app
    status, waiting = call(client, "GET", "/v1/me/waiting-list", first.headers())
    assert status == 200 and waiting["items"] == []
    status, mine = call(client, "GET", "/v1/me/lease", first.headers())
    [shown] = mine["items"]
    assert shown["manager"] == {"company": "江门市安居物业管理有限公司", "contact": "李经理", "phone": "0750-3123456",
                                "hours": None, "office": None}  # as an estate created through the API stores it
    assert shown["estate"]["name"] and shown["unit"]["layout_name"] == "一房一厅"

    # the contract: a short-lived link for the tenant; another citizen is refused; staff audited
    status, link = call(client, "GET", f"/v1/leases/{lease['lease_id']}/contract", first.headers())
    assert status == 200, link
    assert "X-Amz-Signature" in link["download"]["url"] and "X-Amz-Expires=300" in link["download"]["url"]
    pdf = requests.get(link["download"]["url"], timeout=10)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    key = deps().leases.get(lease["lease_id"]).contract_key
    s3 = deps().storage.s3
    bucket = deps().settings.document_bucket
    assert [g["Permission"] for g in s3.get_object_acl(Bucket=bucket, Key=key)["Grants"]] == ["FULL_CONTROL"]
    assert s3.head_object(Bucket=bucket, Key=key)["ServerSideEncryption"] == "aws:kms"
    status, body = call(client, "GET", f"/v1/leases/{lease['lease_id']}/contract", other.headers())
    assert (status, body["error"]["code"]) == (404, "LEASE_NOT_FOUND"), body  # not confirmed to strangers
    assert call(client, "GET", f"/v1/leases/{lease['lease_id']}/contract", tokens.headers("staff"))[0] == 400
    status, link = call(client, "GET", f"/v1/leases/{lease['lease_id']}/contract?reason=签约核查",
                        tokens.headers("staff"))
    assert status == 200
    status, trail = call(client, "GET", f"/v1/audit/lease/{lease['lease_id']}", tokens.headers("auditor"))
    assert [e["action"] for e in trail["items"]] == ["read_contract"]
    stack.drain()
    assert any(n["template"] == "lease_confirmed" and n["application_id"] == application_id for n in RECORDED)


@step
def _a_delegate_reads_the_contract_only_with_a_documents_grant(client: Any, stack: Any, tokens: Any,
        world: dict[str, Any], clock: dict[str, timedelta], no_scans: list[str]) -> None:
    from chalicelib.domain.common import now

    first, lease = world["order"][0], world["lease"]
    child = Citizen(stack, "王小明")
    register(client, child)
    status, me = call(client, "GET", "/v1/me", child.headers())
    status, grant = call(client, "POST", "/v1/me/grants", first.headers(), {
        "delegate_mobile": child.mobile, "scopes": ["view"], "expires_at": (now() + timedelta(days=30)).isoformat()})
    assert status == 201, grant
    # a view grant shows the lease, never the contract file (docs/decisions/0017)
    status, body = call(client, "GET", f"/v1/leases/{lease['lease_id']}/contract", child.headers())
    assert (status, body["error"]["code"]) == (403, "DOCUMENTS_OUTSIDE_GRANT"), body
    assert call(client, "POST", f"/v1/me/grants/{grant['grant_id']}/revoke", first.headers())[0] == 200
    status, grant = call(client, "POST", "/v1/me/grants", first.headers(), {
        "delegate_mobile": child.mobile, "scopes": ["documents"], "expires_at": (now() + timedelta(days=30)).isoformat()})
    assert status == 201 and grant["scopes"] == ["documents", "view"], grant
    status, link = call(client, "GET", f"/v1/leases/{lease['lease_id']}/contract", child.headers())
    assert status == 200 and link["download"]["url"], link
    # a delegate does not sign for the tenant
    status, body = call(client, "POST", f"/v1/me/lease/{lease['lease_id']}/confirm", child.headers(), {"version": 1})
    assert status == 403, body



def test_confirm_the_lease_stores_the_contract_privately(fixtures: dict[str, Any]) -> None:
    _through(_confirm_the_lease_stores_the_contract_privately, **fixtures)


def test_a_delegate_reads_the_contract_only_with_a_documents_grant(fixtures: dict[str, Any]) -> None:
    _through(_a_delegate_reads_the_contract_only_with_a_documents_grant, **fixtures)

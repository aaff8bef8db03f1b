"""Grants (授权委托) through the routes: view, act, revoke, expiry, bad input. Assisted intake (代办)
and supplements (补正) are in tests/test_intake.py, registration and household input in
tests/test_households.py."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.applying import Citizen, call, register

CN = timezone(timedelta(hours=8))


def registered(stack: Any, client: Any, name: str = "陈大文", born: str = "19850101") -> Citizen:
    person = Citizen(stack, name, born=born)
    register(client, person)
    return person


def with_household(client: Any, person: Citizen) -> None:
    status, body = call(client, "PUT", "/v1/me/household", person.headers(), {"members": [person.member()]})
    assert status == 200, body


def in_days(days: float) -> str:
    return (datetime.now(CN) + timedelta(days=days)).isoformat(timespec="seconds")


@pytest.fixture()
def grantor_and_delegate(stack: Any, client: Any) -> tuple[Citizen, Citizen, dict[str, Any]]:
    elder, child = registered(stack, client, "黄老伯", "19500101"), registered(stack, client, "黄小华")
    with_household(client, elder)
    status, app = call(client, "POST", "/v1/applications", elder.headers(), {"kind": "individual"})
    assert status == 201
    return elder, child, app


def test_grant_view_then_act_then_revoke(client: Any, grantor_and_delegate: Any) -> None:
    elder, child, app = grantor_and_delegate
    path = f"/v1/applications/{app['application_id']}"
    status, body = call(client, "GET", path, child.headers())
    assert status == 404  # no grant: the application does not exist for them

    status, grant = call(client, "POST", "/v1/me/grants", elder.headers(),
                         {"delegate_mobile": child.mobile, "scopes": ["view"], "expires_at": in_days(30)})
    assert status == 201 and grant["status"] == "active", grant
    status, seen = call(client, "GET", path, child.headers())
    assert status == 200 and seen["as"] == "delegate"
    assert elder.id_number not in str(seen) and "*" in seen["members"][0]["id_number"]  # masked for delegates
    status, body = call(client, "PATCH", path, child.headers(), {"version": seen["version"], "declared": {}})
    assert status == 403 and body["error"]["code"] == "OUTSIDE_GRANT"

    status, held = call(client, "GET", "/v1/me/delegations", child.headers())
    assert status == 200 and held["items"][0]["grant_id"] == grant["grant_id"]
    status, listed = call(client, "GET", f"/v1/delegations/{grant['grant_id']}/applications", child.headers())
    assert status == 200 and listed["items"][0]["application_id"] == app["application_id"]

    # one live grant per grantor and delegate: widening it means revoking the old one first
    status, body = call(client, "POST", "/v1/me/grants", elder.headers(),
                        {"delegate_mobile": child.mobile, "scopes": ["act"], "expires_at": in_days(60)})
    assert status == 409 and body["error"]["code"] == "GRANT_EXISTS", body
    status, revoked = call(client, "POST", f"/v1/me/grants/{grant['grant_id']}/revoke", elder.headers())
    assert status == 200 and revoked["status"] == "revoked"
    status, acting = call(client, "POST", "/v1/me/grants", elder.headers(),
                          {"delegate_mobile": child.mobile, "scopes": ["act"], "expires_at": in_days(60)})
    assert status == 201 and acting["scopes"] == ["act", "view"]
    status, changed = call(client, "PATCH", path, child.headers(),
                           {"version": seen["version"], "declared": {"household_size": 1}})
    assert status == 200, changed
    status, activity = call(client, "GET", f"/v1/me/grants/{acting['grant_id']}/activity", elder.headers())
    assert status == 200 and activity["items"][0]["type"] == "updated"
    assert activity["items"][0]["application_id"] == app["application_id"]
    status, timeline = call(client, "GET", f"{path}/timeline", elder.headers())
    assert timeline["items"][-1]["by_delegate"] is True and timeline["items"][-1]["actor_role"] == "delegate"

    status, revoked = call(client, "POST", f"/v1/me/grants/{acting['grant_id']}/revoke", elder.headers())
    assert status == 200 and revoked["status"] == "revoked"
    status, body = call(client, "GET", path, child.headers())
    assert status == 403 and body["error"]["code"] == "GRANT_REVOKED"
    status, body = call(client, "POST", f"/v1/me/grants/{grant['grant_id']}/revoke", elder.headers())
    assert status == 409


def test_grant_bad_input(client: Any, stack: Any, grantor_and_delegate: Any) -> None:
    elder, child, _ = grantor_and_delegate
    cases = [
        ({"delegate_mobile": "13999999999", "scopes": ["view"], "expires_at": in_days(3)}, 404,
         "DELEGATE_NOT_REGISTERED"),
        ({"delegate_mobile": "123", "scopes": ["view"], "expires_at": in_days(3)}, 400, "INVALID_MOBILE"),
        ({"delegate_mobile": child.mobile, "scopes": ["view"], "expires_at": in_days(-1)}, 400, "INVALID_PARAMETER"),
        ({"delegate_mobile": child.mobile, "scopes": ["view"], "expires_at": in_days(400)}, 400, "INVALID_PARAMETER"),
        ({"delegate_mobile": child.mobile, "scopes": ["own"], "expires_at": in_days(3)}, 400, "INVALID_PARAMETER"),
        ({"delegate_mobile": elder.mobile, "scopes": ["view"], "expires_at": in_days(3)}, 400, "INVALID_PARAMETER"),
        ({"delegate_mobile": child.mobile, "scopes": ["view"], "expires_at": "tomorrow"}, 400, "INVALID_PARAMETER"),
    ]
    for data, status_code, code in cases:
        status, body = call(client, "POST", "/v1/me/grants", elder.headers(), data)
        assert (status, body["error"]["code"]) == (status_code, code), data
    status, grants = call(client, "GET", "/v1/me/grants", elder.headers())
    assert grants["items"] == []  # nothing half-written


def test_expired_grant_is_refused(client: Any, grantor_and_delegate: Any) -> None:
    elder, child, app = grantor_and_delegate
    from chalicelib.deps import deps

    status, grant = call(client, "POST", "/v1/me/grants", elder.headers(),
                         {"delegate_mobile": child.mobile, "scopes": ["view"], "expires_at": in_days(1)})
    record = deps().grants.get(elder.username and grant and _subject(elder), grant["grant_id"])
    assert record is not None
    from chalicelib.repositories.tables import GrantRecord

    GrantRecord(record["grantor"], grant["grant_id"]).update(
        actions=[GrantRecord.expires_at.set(in_days(-0.01))])
    status, body = call(client, "GET", f"/v1/applications/{app['application_id']}", child.headers())
    assert status == 403 and body["error"]["code"] == "GRANT_EXPIRED"


def _subject(person: Citizen) -> str:
    import jwt

    return jwt.decode(person.token, options={"verify_signature": False})["sub"]

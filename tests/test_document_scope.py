"""The `documents` grant scope (docs/decisions/0017): a delegate sees the document list and statuses,
never a file, unless the grantor gave `documents`; old scope lists stay valid."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.applying import Citizen, call, register, upload


def _person(stack: Any, client: Any, name: str, household: bool = False) -> Citizen:
    person = Citizen(stack, name)
    register(client, person)
    if household:
        status, body = call(client, "PUT", "/v1/me/household", person.headers(), {"members": [person.member()]})
        assert status == 200, body
    return person


def _grant(client: Any, grantor: Citizen, delegate: Citizen, scopes: list[str]) -> tuple[int, Any]:
    from chalicelib.domain.common import now

    return call(client, "POST", "/v1/me/grants", grantor.headers(), {
        "delegate_mobile": delegate.mobile, "scopes": scopes, "expires_at": (now() + timedelta(days=30)).isoformat()})


@pytest.mark.parametrize("scopes, stored", [
    (["view"], ["view"]),
    (["act"], ["act", "view"]),
    (["view", "act"], ["act", "view"]),
    (["documents"], ["documents", "view"]),
    (["view", "act", "documents"], ["act", "documents", "view"]),
])
def test_scopes_are_stored_with_view_implied(client: Any, stack: Any, scopes: list[str], stored: list[str]) -> None:
    grantor, delegate = _person(stack, client, "何建平"), _person(stack, client, "何小玲")
    status, grant = _grant(client, grantor, delegate, scopes)
    assert status == 201 and grant["scopes"] == stored, grant


def test_an_unknown_scope_is_refused(client: Any, stack: Any) -> None:
    grantor, delegate = _person(stack, client, "何建平"), _person(stack, client, "何小玲")
    status, body = _grant(client, grantor, delegate, ["files"])
    assert status == 400 and body["error"].get("field", "").startswith("scopes"), body


def test_a_delegate_sees_statuses_and_opens_files_only_with_the_documents_scope(client: Any, stack: Any) -> None:
    owner = _person(stack, client, "罗志成", household=True)
    viewer, holder = _person(stack, client, "罗小红"), _person(stack, client, "罗小军")
    status, app = call(client, "POST", "/v1/applications", owner.headers(), {"kind": "individual"})
    assert status == 201, app
    doc = upload(client, owner.headers(), app["application_id"], "id_card")
    stack.drain()
    assert _grant(client, owner, viewer, ["view", "act"])[0] == 201
    assert _grant(client, owner, holder, ["documents"])[0] == 201
    document = f"/v1/applications/{app['application_id']}/documents/{doc['document_id']}"

    status, seen = call(client, "GET", f"/v1/applications/{app['application_id']}", viewer.headers())
    assert status == 200 and [(d["type"], d["status"]) for d in seen["documents"]] == [("id_card", "accepted")]
    assert "key" not in seen["documents"][0] and "http" not in str(seen)  # the list, never a link
    status, body = call(client, "GET", document, viewer.headers())
    assert (status, body["error"]["code"]) == (403, "DOCUMENTS_OUTSIDE_GRANT"), body
    assert "http" not in str(body) and body["error"]["message"] and not body["error"]["message"].isascii()

    status, got = call(client, "GET", document, holder.headers())
    assert status == 200 and got["download"]["url"].startswith("http"), got
    status, got = call(client, "GET", document, owner.headers())
    assert status == 200 and got["download"]["url"].startswith("http"), got

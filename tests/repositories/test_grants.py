"""The grants repository's contract, on the twin and on DynamoDB."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib import errors
from chalicelib.domain.common import new_id


def grant(grantor: str, delegate: str, *, created: str = "2029-01-01T00:00:00+08:00",
          expires: str = "2039-01-01T00:00:00+08:00", scopes: tuple[str, ...] = ("view",)) -> dict[str, Any]:
    return {"grant_id": new_id("grant"), "grantor": grantor, "delegate": delegate, "delegate_name": "刘*",
            "grantor_name": "王*", "scopes": list(scopes), "expires_at": expires, "revoked_at": None,
            "created_at": created}


def test_one_live_grant_per_grantor_and_delegate(container: Any) -> None:
    repo = container.grants
    grantor, delegate = new_id("sub"), new_id("sub")
    first = grant(grantor, delegate)
    repo.create(first, now="2029-01-01T00:00:00+08:00")
    assert repo.get(grantor, first["grant_id"]) == first
    assert repo.get(grantor, new_id("grant")) is None
    second = grant(grantor, delegate, scopes=("view", "act"))
    with pytest.raises(errors.GrantExists):
        repo.create(second, now="2029-01-02T00:00:00+08:00")
    assert repo.get(grantor, second["grant_id"]) is None  # nothing half-written
    repo.create(grant(grantor, new_id("sub")), now="2029-01-02T00:00:00+08:00")  # another delegate: fine
    revoked = repo.revoke(grantor, first["grant_id"], "2029-01-03T00:00:00+08:00")
    assert revoked == {**first, "revoked_at": "2029-01-03T00:00:00+08:00"}
    with pytest.raises(errors.IllegalTransition):
        repo.revoke(grantor, first["grant_id"], "2029-01-04T00:00:00+08:00")
    with pytest.raises(errors.IllegalTransition):
        repo.revoke(grantor, new_id("grant"), "2029-01-04T00:00:00+08:00")
    repo.create(second, now="2029-01-05T00:00:00+08:00")  # the live-lock went with the revoke
    assert repo.between(grantor, delegate) == second


def test_an_expired_grant_does_not_block_a_new_one(container: Any) -> None:
    repo = container.grants
    grantor, delegate = new_id("sub"), new_id("sub")
    old = grant(grantor, delegate, expires="2029-02-01T00:00:00+08:00")
    repo.create(old, now="2029-01-01T00:00:00+08:00")
    new = grant(grantor, delegate, created="2029-03-01T00:00:00+08:00")
    repo.create(new, now="2029-03-01T00:00:00+08:00")
    assert repo.between(grantor, delegate) == new  # the live one that expires last
    assert {g["grant_id"] for g in repo.by_grantor(grantor)} == {old["grant_id"], new["grant_id"]}
    assert {g["grant_id"] for g in repo.by_delegate(delegate)} == {old["grant_id"], new["grant_id"]}
    assert repo.between(grantor, new_id("sub")) is None

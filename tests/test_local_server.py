"""The running local server (as `make run` serves it) enforces tokens over real HTTP."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("catalogue")


@pytest.fixture(scope="module")
def server(local_server: str, catalogue: Any) -> str:
    return local_server


def _get(url: str, token: str | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_public_reads_and_enforced_tokens_over_http(server: str, tokens: Any) -> None:
    assert _get(f"{server}/v1/health")[0] == 200
    status, page = _get(f"{server}/v1/units?area=pengjiang&status=vacant")
    assert status == 200 and page["items"]
    assert _get(f"{server}/v1/admin/policies")[0] == 401
    forged = tokens("applicant").rsplit(".", 1)[0] + ".c2lnbmF0dXJl"
    status, err = _get(f"{server}/v1/admin/policies", forged)
    assert status == 401 and err["error"]["code"] == "INVALID_TOKEN"
    assert _get(f"{server}/v1/admin/policies", tokens("applicant"))[0] == 403
    assert _get(f"{server}/v1/admin/policies", tokens("admin"))[0] == 200

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


def test_the_access_log_has_no_query_string_and_no_personal_number(server: str, capsys: Any) -> None:
    """`make run`'s access log: method, path and status; never the query string (``?reason=``,
    a citizen's number) that http.server's default line would carry."""
    from tests.applying import id_number

    person = id_number()
    capsys.readouterr()
    assert _get(f"{server}/v1/units?area=pengjiang")[0] == 200
    assert _get(f"{server}/v1/units?area=pengjiang&reason=%E5%B8%82%E6%B0%91{person}")[0] == 400  # unknown
    assert _get(f"{server}/v1/estates/{person}")[0] == 404
    err = capsys.readouterr().err
    assert '"GET /v1/units" 200' in err and '"GET /v1/units" 400' in err, err
    assert f'"GET /v1/estates/{person[:4]}{"*" * 10}{person[-4:]}" 404' in err, err
    assert person not in err and "area=" not in err and "reason" not in err

"""The running local server (as `make run` serves it) enforces tokens over real HTTP."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any, Iterator

import pytest

pytestmark = pytest.mark.usefixtures("catalogue")


@pytest.fixture(scope="module")
def server(stack: Any, catalogue: Any) -> Iterator[str]:
    from devstack.__main__ import _local_server

    srv = _local_server("127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    port = srv.server.server_port
    yield f"http://127.0.0.1:{port}"
    srv.shutdown()


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

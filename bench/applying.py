"""submit_application_ddb_requests and my_applications_ddb_requests: DynamoDB requests one route
call makes, counted at botocore, over many citizens (the maximum is reported)."""
from __future__ import annotations

import json
from typing import Any

from bench.common import DynamoRecorder, Result

CITIZENS = 20


def _ready_applications(stack: Any, client: Any, citizens: int = CITIZENS,
                        on_person: Any = None) -> list[tuple[dict[str, str], str, int]]:
    """Citizens with a household, an application, accepted documents and consent: ready to submit."""
    from tests.applying import Citizen, call, register, upload

    ready = []
    for i in range(citizens):
        person = Citizen(stack, "测试" + "".join("零一二三四五六七八九"[int(d)] for d in f"{i:03d}"))  # names have no digits
        if on_person is not None:
            on_person(person)
        h = person.headers()
        register(client, person)
        assert call(client, "PUT", "/v1/me/household", h, {"members": [person.member()]})[0] == 200
        status, app = call(client, "POST", "/v1/applications", h, {"kind": "individual"})
        assert status == 201, app
        for doc_type in ("id_card", "hukou", "commitment", "application_form"):
            upload(client, h, app["application_id"], doc_type)
        call(client, "POST", f"/v1/applications/{app['application_id']}/consent", h,
             {"text_version": "2026-01", "agree": True})
        ready.append((h, app["application_id"], 0))
    stack.drain()
    out = []
    for h, application_id, _ in ready:
        status, app = call(client, "GET", f"/v1/applications/{application_id}", h)
        out.append((h, application_id, app["version"]))
    return out


def applying_requests(stack: Any, recorder: DynamoRecorder) -> list[Result]:
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        ready = _ready_applications(stack, client)
        submit_counts, list_counts = [], []
        for headers, application_id, version in ready:
            with recorder.window() as calls:
                response = client.http.post(f"/v1/applications/{application_id}/submit", headers=headers,
                                            body=json.dumps({"version": version}))
                assert response.status_code == 200, response.body
                submit_counts.append(len(calls))
            with recorder.window() as calls:
                response = client.http.get("/v1/me/applications", headers=headers)
                assert response.status_code == 200 and json.loads(response.body)["items"]
                list_counts.append(len(calls))
    return [
        Result("submit_application_ddb_requests", max(submit_counts), "requests", "<= 3", max(submit_counts) <= 3,
               {"applications": len(submit_counts), "min": min(submit_counts),
                "note": "GetItem of the registration (the real-name gate, issue 9 §1) + GetItem of the application "
                        "+ one TransactWrite (status, timeline, person locks); the first submit in a process also "
                        "refreshes the rules cache (one Query)"}),
        Result("my_applications_ddb_requests", max(list_counts), "requests", "<= 2", max(list_counts) <= 2,
               {"citizens": len(list_counts), "note": "GetItem of the registration + one Query on by_owner"}),
    ]

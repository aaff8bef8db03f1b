"""review_queue_ddb_requests: DynamoDB requests for one page of the staff review queue, over every
page and every filter combination a street office uses (the maximum is reported)."""
from __future__ import annotations

import json
from typing import Any

from bench.common import DynamoRecorder, Result, queue_page_counts

FILTERS = ("", "&recommendation=pass", "&recommendation=manual_review", "&kind=individual",
           "&older_than_days=0", "&recommendation=fail&kind=graduate")


def _decided(stack: Any, client: Any, n: int = 30) -> None:
    """n applications under review with mixed recommendations (decided by the real decision step)."""
    from bench.applying import _ready_applications
    from chalicelib.deps import deps
    from chalicelib.domain import verification
    from tests.test_case_review import answers

    for i, (headers, application_id, version) in enumerate(_ready_applications(stack, client, n)):
        r = client.http.post(f"/v1/applications/{application_id}/submit", headers=headers,
                             body=json.dumps({"version": version}))
        app = json.loads(r.body)
        run_id = deps().applications.get(application_id).verification["run_id"]
        verification.start(application_id, run_id)
        facts = {} if i % 3 == 0 else {"real_estate": {"properties": [{"city": "jiangmen", "floor_area": 90}]}}
        down = ("vehicles",) if i % 3 == 2 else ()
        verification.decide(application_id, run_id, answers(app, down, **facts))


def review_queue_requests(stack: Any, recorder: DynamoRecorder) -> Result:
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        _decided(stack, client)
        token = stack.token("staff")
        headers = {"Authorization": f"Bearer {token}"}
        counts, pages = queue_page_counts(client, recorder, headers, "/v1/staff/review?limit=7", FILTERS)
    worst = max(counts)
    return Result("review_queue_ddb_requests", worst, "requests", "<= 2", worst <= 2,
                  {"pages": pages, "filters": list(FILTERS), "distribution": {str(k): counts.count(k) for k in set(counts)}})

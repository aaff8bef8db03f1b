"""The joint verification workflow on the local stack (moto runs the state machine, the department
simulator answers at once through the real adapter):

- verify_submit_to_recommendation_p50_s: one application at a time, from the submit request to the
  recommendation being on the application;
- verify_burst_100_all_decided_s: 100 applications submitted back to back, until every one has its
  recommendation; none may be lost (each decided exactly once, each pass).
"""
from __future__ import annotations

import json
import statistics
import time
from typing import Any

from bench.common import Result

SINGLE = 15
BURST = 100


def _decided(application_id: str) -> bool:
    from chalicelib.deps import deps

    return (deps().applications.get(application_id).verification or {}).get("status") == "decided"


def _ready(stack: Any, client: Any, n: int) -> list[tuple[dict[str, str], str, int]]:
    from bench.applying import _ready_applications

    return _ready_applications(stack, client, n, on_person=lambda p: stack.departments.add_default(p.id_number))


def _submit(client: Any, headers: dict[str, str], application_id: str, version: int) -> None:
    r = client.http.post(f"/v1/applications/{application_id}/submit", headers=headers,
                         body=json.dumps({"version": version}))
    assert r.status_code == 200, r.body


def verification_results(stack: Any) -> list[Result]:
    from chalice.test import Client

    from app import app
    from chalicelib.deps import deps

    stack.enable_verification()
    with Client(app) as client:
        times = []
        for headers, application_id, version in _ready(stack, client, SINGLE):
            started = time.perf_counter()
            _submit(client, headers, application_id, version)
            while not _decided(application_id):
                if time.perf_counter() - started > 60:
                    raise TimeoutError(f"{application_id} not decided in 60 s")
                time.sleep(0.01)
            times.append(time.perf_counter() - started)
        p50 = statistics.median(times)
        single = Result("verify_submit_to_recommendation_p50_s", round(p50, 3), "s", "<= 2", p50 <= 2,
                        {"applications": SINGLE, "max_s": round(max(times), 3), "min_s": round(min(times), 3)})

        ready = _ready(stack, client, BURST)
        started = time.perf_counter()
        for headers, application_id, version in ready:
            _submit(client, headers, application_id, version)
        submitted_s = time.perf_counter() - started
        pending = {application_id for _, application_id, _ in ready}
        while pending and time.perf_counter() - started < 300:
            pending = {a for a in pending if not _decided(a)}
            time.sleep(0.2)
        took = time.perf_counter() - started
        apps = [deps().applications.get(a) for _, a, _ in ready]
        recommendations = [(a.verification or {}).get("recommendation") for a in apps]
        decisions = sum(1 for a in apps for e in deps().applications.events(f"app#{a.application_id}")
                        if e.type == "recommendation")
        lost = len(pending)
        ok = took <= 60 and lost == 0 and decisions == BURST
        burst = Result("verify_burst_100_all_decided_s", round(took, 2), "s", "<= 60", ok,
                       {"applications": BURST, "submitting_s": round(submitted_s, 2), "undecided": lost,
                        "decisions_recorded": decisions, "passes": recommendations.count("pass")})
    stack.disable_verification()
    return [single, burst]

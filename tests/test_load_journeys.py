"""The load benchmark's journeys (bench/load_journeys.py, played by bench/locustfile.py) hit real
routes and get 2xx answers: each journey played once over HTTP against the test stack's local server.
A smoke test of what `make bench` loads, not a timing."""
from __future__ import annotations

from typing import Any

from bench import load_journeys
from bench.load_journeys import Journeys, Target, requests_send


def _journeys(stack: Any, local_server: str, seen: list[tuple[str, str, int]]) -> Journeys:
    send = requests_send(local_server)

    def recording(method: str, path: str, **kw: Any) -> tuple[int, Any]:
        status, got = send(method, path, **kw)
        seen.append((method, kw["name"], status))
        return status, got

    target = Target(stack.endpoint, stack.identity.pool_id, stack.identity.client_id, stack.city,
                    stack.realname.base_url, dict(stack.identity.users))
    return Journeys(target, recording, settle=stack.drain)


def test_every_journey_answers_2xx_on_real_routes(stack: Any, local_server: str, catalogue: Any, app: Any) -> None:
    seen: list[tuple[str, str, int]] = []
    journeys = _journeys(stack, local_server, seen)
    journeys.browse()
    application_id = journeys.apply()
    journeys.staff_round()

    assert application_id.startswith("app")
    refused = [s for s in seen if not 200 <= s[2] < 300]
    assert refused == []
    unknown = sorted({(m, name) for m, name, _ in seen if m not in app.routes.get(name, {})})
    assert unknown == []  # every request's name is the route's template, as the results name it
    names = {name for _, name, _ in seen}
    for route in ("/v1/units", "/v1/map/facilities", "/v1/applications/{application_id}/submit",
                  "/v1/staff/review", "/v1/staff/applications/{application_id}/review"):
        assert route in names, route


def test_the_mix_follows_the_seeds() -> None:
    seeds = load_journeys.SEEDS
    per_applicant = seeds["registered_users"] / seeds["applications_submitted"]
    assert round(per_applicant) == load_journeys.MIX["browse"] // load_journeys.MIX["apply"]
    assert load_journeys.MIX["staff"] == load_journeys.MIX["apply"]


def test_results_name_a_metric_per_route_and_count_failures() -> None:
    from bench.load import kind_of, results

    def row(kind: str, name: str, n: int, failed: int = 0) -> dict[str, str]:
        return {"Type": kind, "Name": name, "Request Count": str(n), "Failure Count": str(failed), "Requests/s": "2.5",
                "50%": "40", "99%": "900", "Max Response Time": "1000"}

    rows = [row("GET", "/v1/units", 200), row("POST", "/v1/applications/{application_id}/submit", 5, failed=1),
            row("AWS", "[cognito] InitiateAuth", 5), row("", "Aggregated", 210, failed=1)]
    counts = {"routes": {"GET /v1/units": {"requests": 200, "calls_per_request": {"1": 200},
                                           "operations": {"Query": 200}, "rru": 100.0, "wru": 0.0, "items": 0}},
              "background": {"calls": 0}}
    out = {r.name: r for r in results(rows, counts, 4, 10, 0.9, 0.1, {"browse": 39}, {}, {"cores": 2,
           "load_average_1m": [1.0, 1.0]}, {"ConnectionError: S3": 2})}

    assert out["load_ddb_requests[GET /v1/units]"].value == 1.0
    assert out["load_ddb_requests[GET /v1/units]"].detail["read_units_per_request"] == 0.5
    assert out["load_p99_ms[POST /v1/applications/{application_id}/submit]"].detail["caution"].startswith("5 samples")
    assert out["load_p99_ms[GET /v1/units]"].target is None and out["load_rps[GET /v1/units]"].value == 2.5
    assert (out["load_failed_requests"].value, out["load_failed_requests"].ok) == (3, False)
    assert out["load_rps_total"].detail["mix_requests_share"] == {"browse": 0.976, "apply": 0.024, "staff": 0.0}
    assert [kind_of(r) for r in ("GET /v1/staff/review", "POST /v1/self-assessment", "GET /v1/units")] == [
        "staff", "apply", "browse"]

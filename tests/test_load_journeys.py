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

"""The OpenAPI document tells the truth: schemathesis sends generated requests to EVERY operation of
the document, as every kind of caller (anonymous and each role with a real token), over real HTTP
(the app behind Chalice's local server, as `make run` serves it), and fails on any 5xx, any status
the operation does not document, an error code a status lists exhaustively but not this one, a
content type or a header it does not document, or an answer that does not match its schema.
A small, derandomized example budget keeps it quick and repeatable.

The run is split by caller over two test modules (tests/test_schemathesis_*.py) so that the
parallel workers share it; this module holds the run itself.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import chalicelib.handlers  # noqa: F401  (declaring the routes fills OPERATIONS)
from chalicelib.openapi import document

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

#: Generated requests per operation and caller (explicit examples of the document come on top).
EXAMPLES = 4
CALLERS = (None, "applicant", "employer", "staff", "admin", "auditor")  # None: anonymous


def error_code_conformance(ctx: Any, response: Any, case: Any) -> bool | None:
    """An error's code is one of the codes the document lists for that status of the operation."""
    documented = case.operation.definition.raw.get("responses", {}).get(str(response.status_code), {})
    codes = documented.get("x-error-codes")
    if codes is None or response.status_code < 400:
        return None
    code = response.json()["error"]["code"]
    assert code in codes, f"{case.method} {case.path}: {response.status_code} {code} is not documented ({codes})"
    return True


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, error_code_conformance]

SCHEMA = schemathesis.openapi.from_dict(document())
OPERATIONS = [(result.ok().path, result.ok().method.upper()) for result in SCHEMA.get_all_operations()]


def build_city(stack: Any, app: Any) -> dict[str, Any]:
    """A small city and signed-in callers with records of their own, so that generated requests meet
    real records as well as unknown ids: the callers' tokens, and real ids by path parameter name."""
    from chalice.test import Client

    from tests.applying import Citizen, call, credit_code, register
    from tests.conftest import build_catalogue

    stack.reset()
    made = build_catalogue()
    from chalicelib.bodies import EstateIn
    from chalicelib.domain import estates

    estates.create(EstateIn.model_validate({"estate_id": "xinyuan", "name": "新苑", "area_id": "jianghai",
                                            "street_id": "waihai", "address": "新苑路2号", "lat": 22.57,
                                            "lng": 113.12}))  # no manager yet, no description
    applicant, employer = Citizen(stack, "周明华"), Citizen(stack, "江门示范制造有限公司", role="employer")
    admin = {"Content-Type": "application/json", "Authorization": f"Bearer {stack.token('admin')}"}
    with Client(app) as client:
        register(client, applicant)
        status, household = call(client, "PUT", "/v1/me/household", applicant.headers(),
                                 {"members": [applicant.member()]})
        assert status == 200, household
        status, application = call(client, "POST", "/v1/applications", applicant.headers(), {"kind": "individual"})
        assert status == 201, application
        status, org = call(client, "POST", "/v1/me/employer", employer.headers(),
                            {"name": employer.name, "credit_code": credit_code()})
        assert status == 201, org
        status, group = call(client, "POST", "/v1/employer/groups", employer.headers(), {"name": "第一批"})
        assert status == 201, group
        status, lottery = call(client, "POST", "/v1/admin/rounds", admin, {
            "title": "2026 年第 1 批公租房摇号", "unit_ids": [made["units"][1].unit_id],
            "registration_opens_at": _at(timedelta(minutes=-1)), "registration_closes_at": _at(timedelta(days=1)),
            "randomness_source": "2026年12月31日中国福利彩票“双色球”开奖号码"})
        assert status == 201, lottery
    unit = made["units"][1]
    return {
        "tokens": {"applicant": applicant.token, "employer": employer.token},
        "ids": {"area_id": "jianghai", "estate_id": "xinyuan", "building_id": unit.building_id,
                "unit_id": unit.unit_id, "facility_id": "bus-fuze", "policy_id": made["policies"][0].policy_id,
                "application_id": application["application_id"], "group_id": group["group_id"],
                "target_kind": "application", "target_id": application["application_id"],
                "round_id": lottery["round_id"]},
    }


def _at(delta: timedelta) -> str:
    from chalicelib.domain import common

    return (common.now() + delta).isoformat(timespec="seconds")


def _strategy(operation: Any, ids: dict[str, str]) -> Any:
    """Generated requests; where every path id of the operation names a real record, half of them
    with those ids (the rest meet unknown ids)."""
    from hypothesis import strategies as st

    names = [p.name for p in operation.path_parameters]
    generated = operation.as_strategy()
    if names and all(n in ids for n in names):
        return st.one_of(operation.as_strategy(path_parameters={n: ids[n] for n in names}), generated)
    return generated


def run(local_server: str, tokens: Any, city: Any, path: str, method: str, caller: str | None) -> None:
    """Generated requests to one operation as one caller, each answer checked against the document."""
    import requests

    operation = SCHEMA[path][method]
    token = city["tokens"].get(caller) or (tokens(caller) if caller else None)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    session = requests.Session()

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=False,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=_strategy(operation, city["ids"]))
    def exchange(case: Any) -> None:
        if not token:
            (case.headers or {}).pop("Authorization", None)
        case.call_and_validate(base_url=local_server, session=session, headers=headers, checks=CHECKS)

    exchange()

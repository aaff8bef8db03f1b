"""Schemathesis over every operation of the OpenAPI document as anonymous callers and citizens (applicant, employer)
(the run and its checks: tests/schemathesis_run.py)."""
from __future__ import annotations

from typing import Any

import pytest

from tests.schemathesis_run import OPERATIONS, build_city, run

CALLERS = (None, "applicant", "employer")


@pytest.fixture(scope="module")
def city(stack: Any, app: Any) -> dict[str, Any]:
    return build_city(stack, app)


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c or "anonymous")
@pytest.mark.parametrize("path,method", OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_answer_is_documented(local_server: str, tokens: Any, city: Any, path: str, method: str,
                                    caller: str | None) -> None:
    run(local_server, tokens, city, path, method, caller)

"""The joint verification workflow's steps: Lambda functions the state machine calls
(infra/workflows/verification.asl.json). Each one is thin: the domain does the work
(chalicelib/domain/verification.py for an application, domain/review_verification.py for an
annual review: ``subject_id`` "rev-..."), the department adapter talks to the departments
(chalicelib/departments). An exception fails the step with its class name as the error, which the
state machine's Retry and Catch match on (``DepartmentUnavailable``, ``DepartmentTimeout``, ...).

- ``verify_start``: marks the subject (application or review) verifying and lists the consented members;
- ``dept_<department>`` (eight): one query for every member, the answer recorded on the timeline;
- ``verify_decide``: the rules engine on the departments' facts, the recommendation;
- ``verify_failed``: a run that ended without a decision is shown to staff for a re-run;
- ``sweep_verification`` (schedule): runs that never reported back (the whole run timed out, it was
  never started) are marked failed, so nothing waits silently.
"""
from __future__ import annotations

from typing import Any, Callable

from chalice import Blueprint, Rate

from chalicelib.lazy import module
from chalicelib.observability import logger

bp = Blueprint(__name__)

DEPARTMENTS = ("public_security", "real_estate", "civil_affairs", "vehicles", "social_insurance", "business",
               "veterans", "provident_fund")

#: The exceptions each step raises that a retry may cure, by class name: the names the state
#: machine's Retry must list for that step, and the only names it may list besides States.* and
#: Lambda.* (tests/test_workflow_errors.py holds every infra/workflows/*.asl.json to this).
RETRY_ON: dict[str, tuple[str, ...]] = {
    "verify_start": ("ServiceUnavailable",),  # chalicelib.errors: DynamoDB throttled or unreachable
    **{f"dept_{d}": ("DepartmentUnavailable", "DepartmentTimeout") for d in DEPARTMENTS},  # departments.contract
    "verify_decide": ("ServiceUnavailable", "StaleVersion"),  # a concurrent write to the application
    "verify_failed": (),
}


def steps(subject_id: str) -> Any:
    """The domain module a run's subject is verified by: an annual review's ("rev-...") or an application's."""
    return module("chalicelib.domain.review_verification" if subject_id.startswith("rev-")
                  else "chalicelib.domain.verification")


@bp.lambda_function(name="verify_start")
def verify_start(event: dict[str, Any], context: Any) -> dict[str, Any]:
    verification = steps(event["subject_id"])
    try:
        return {**verification.start(event["subject_id"], event["run_id"]), "skipped": False}
    except module("chalicelib.domain.applications").Skip:
        logger.info("verification run superseded", extra={"subject_id": event["subject_id"]})
        return {"subject_id": event["subject_id"], "run_id": event["run_id"], "persons": [], "skipped": True}


def _department_step(department: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def step(event: dict[str, Any], context: Any) -> dict[str, Any]:
        departments = module("chalicelib.departments")
        answer = departments.query(department, event.get("persons") or [],
                                   query_id=f"{event['subject_id']}-{event['run_id']}-{department}")
        steps(event["subject_id"]).record_department(event["subject_id"], event["run_id"], answer)
        return answer

    step.__name__ = step.__qualname__ = f"dept_{department}"
    return step


for _department in DEPARTMENTS:  # one function each: their own timeouts, retries and logs
    globals()[f"dept_{_department}"] = bp.lambda_function(name=f"dept_{_department}")(_department_step(_department))


@bp.lambda_function(name="verify_decide")
def verify_decide(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcome: dict[str, Any] = steps(event["subject_id"]).decide(
        event["subject_id"], event["run_id"], event.get("answers") or [])
    logger.info("verification decided", extra={k: outcome.get(k) for k in ("subject_id", "recommendation")})
    return outcome


@bp.lambda_function(name="verify_failed")
def verify_failed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    error = event.get("error") or {}
    logger.warning("verification run failed", extra={"subject_id": event["subject_id"],
                                                     "error": str(error.get("Error"))[:100]})
    steps(event["subject_id"]).record_failure(event["subject_id"], event["run_id"], error)
    return {"subject_id": event["subject_id"], "recorded": True}


@bp.schedule(Rate(10, unit=Rate.MINUTES), name="sweep_verification")
def sweep_verification(event: Any) -> dict[str, Any]:
    return module("chalicelib.domain.verification").sweep()  # type: ignore[no-any-return]

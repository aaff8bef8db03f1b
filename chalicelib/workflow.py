"""Starting the joint verification workflow (Step Functions) for a run about a subject: an
application, or an annual review (its id starts ``rev-``; domain/review_verification.py)."""
from __future__ import annotations

import json
from functools import cache
from typing import Any

from chalicelib import errors
from chalicelib.config import settings


@cache
def _client(region: str, endpoint: str | None) -> Any:
    import boto3

    return boto3.client("stepfunctions", region_name=region, endpoint_url=endpoint)


def start_verification(subject_id: str, run_id: str) -> str | None:
    """Start the run ``run_id`` about ``subject_id`` (an application or a review; execution name
    ``{subject_id}-{run_id}``, unique per run). None when this stack has no workflow;
    ServiceUnavailable when Step Functions refuses."""
    s = settings()
    if not s.verification_state_machine_arn:
        return None
    try:
        response = _client(s.region, s.endpoint_url).start_execution(
            stateMachineArn=s.verification_state_machine_arn, name=f"{subject_id}-{run_id}",
            input=json.dumps({"subject_id": subject_id, "run_id": run_id}))
    except Exception as exc:  # botocore's errors: the caller records "not started" for staff
        raise errors.ServiceUnavailable(f"start_execution: {type(exc).__name__}") from None
    return str(response["executionArn"])



class Workflow:
    """The domain's way to start a verification run (``deps().workflow``, docs/decisions/0023):
    :func:`start_verification` behind an object the composition root serves."""

    def start_verification(self, subject_id: str, run_id: str) -> str | None:
        return start_verification(subject_id, run_id)

"""The verification state machine on moto's Step Functions interpreter, its tasks run in-process.

moto executes the definition (Parallel, Retry, Catch, TimeoutSeconds...) when its config says so;
its Lambda cannot run code here, so a botocore ``before-call.lambda.Invoke`` handler on boto3's
default session (the one moto's interpreter builds its Lambda client from) runs the Chalice app's
own function instead and answers as Lambda does: the return value as ``Payload``, or
``FunctionError: Unhandled`` with the exception's class name as ``errorType``, so the definition's
Retry and Catch see what they would see on AWS. The definition is the file CDK deploys
(infra/workflows/verification.asl.json); only the function ARNs are local.
"""
from __future__ import annotations

import io
import json
import logging
import re
import urllib.parse
import urllib.request
from types import SimpleNamespace
from typing import Any

from devstack import aws

ACCOUNT = "123456789012"
_FUNCTION = re.compile(r"/functions/([^/]+)/invocations")
_log = logging.getLogger(__name__)


def function_arn(name: str) -> str:
    return f"arn:aws-cn:lambda:{aws.REGION}:{ACCOUNT}:function:{name}"


def enable_execution(endpoint: str) -> None:
    """Tell moto (in this process) to really execute state machines."""
    request = urllib.request.Request(f"{endpoint}/moto-api/config", method="POST",
                                     data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
        response.read()


def create_verification(endpoint: str, city: str) -> str:
    """The verification state machine, from the deployed definition; returns its ARN."""
    from infra.workflows import render

    sfn = aws.client("stepfunctions", endpoint)
    return str(sfn.create_state_machine(
        name=f"{city}-verification", definition=render(function_arn),
        roleArn=f"arn:aws-cn:iam::{ACCOUNT}:role/{city}-verification")["stateMachineArn"])


class InProcessLambda:
    """Runs ``app.handler_map[name]`` for Lambda Invoke calls made on boto3's default session.

    The functions run on a fixed pool of threads, as Lambda reuses warm execution environments:
    moto's interpreter starts a fresh thread per branch, and PynamoDB builds a botocore session
    per thread (~0.3 s each under load), which would be measured as if it were the app's cost.
    """

    EVENT = "before-call.lambda.Invoke"
    CONCURRENCY = 16

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.invocations = 0
        self._session: Any = None
        self._pool = ThreadPoolExecutor(max_workers=self.CONCURRENCY, thread_name_prefix="local-lambda")

    def install(self) -> None:
        import boto3

        _reuse_interpreter_clients()

        self._session = boto3._get_default_session()  # what moto's interpreter creates clients from
        self._session.events.register(self.EVENT, self, unique_id="devstack-in-process-lambda")

    def uninstall(self) -> None:
        if self._session is not None:
            self._session.events.unregister(self.EVENT, unique_id="devstack-in-process-lambda")
            self._session = None
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __call__(self, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        from app import app
        from devstack.stack import FakeLambdaContext

        match = _FUNCTION.search(params.get("url_path", ""))
        name = urllib.parse.unquote(match.group(1)).rsplit(":", 1)[-1] if match else ""
        body = params.get("body") or b"{}"
        event = json.loads(body.decode() if isinstance(body, bytes) else body)
        self.invocations += 1
        extra: dict[str, Any] = {}
        try:
            handler = app.handler_map[name]
            result = self._pool.submit(handler, event, FakeLambdaContext(name)).result()
            payload = json.dumps(result).encode()
        except Exception as exc:  # what Lambda reports for an unhandled exception
            _log.debug("local function %s raised %s", name, type(exc).__name__)
            payload = json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)[:500]}).encode()
            extra["FunctionError"] = "Unhandled"
        from botocore.response import StreamingBody

        return SimpleNamespace(status_code=200, headers={}), {
            "StatusCode": 200, "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(payload), len(payload)), **extra}


def _reuse_interpreter_clients() -> None:
    """moto's interpreter builds a new boto3 client for every task (~25 ms of CPU each, in the
    process that also serves every AWS call): reuse one per region and service, as a Lambda
    runtime reuses its SDK clients."""
    from functools import cache

    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.utils import boto_client

    if getattr(lambda_eval_utils.boto_client_for, "_reused", False):
        return
    original = boto_client.boto_client_for

    @cache
    def cached(region: str, service: str) -> Any:
        return original(region=region, service=service)

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        return cached(region, service)

    boto_client_for._reused = True  # type: ignore[attr-defined]
    lambda_eval_utils.boto_client_for = boto_client_for

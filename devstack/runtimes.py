"""Lambda runtimes in processes of their own, for the local queue pump (docs/decisions/0042).

On AWS each invocation of a queue's function runs in its own execution environment; the local pump
runs them as threads of the test's (or `make run`'s) process, which is right for tests (they patch
the app and read moto's state in process) but shares one interpreter, so one core, among all the
invocations at once. ``stack.drain(processes=True)`` hands each invocation to a runtime process
instead: the function's code started once (a cold start), then one event at a time over a pipe, as
Lambda's runtime API does. The pump (receive, keep hidden, delete) stays in the parent.

A runtime is ``python -m devstack.runtimes FUNCTION`` with the stack's environment: it reads one
event per line on stdin and answers one line on its own copy of stdout (the function's logs and
prints go to stderr).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import IO, Any, Callable

#: Set in the environment before a runtime starts: it reports the DynamoDB requests each invocation
#: made (operation, every table named, index), handed to each of ``SINKS`` (a benchmark's counters).
REPORT_CALLS = "LOCAL_RUNTIME_REPORTS_CALLS"
SINKS: list[Callable[[list[dict[str, Any]]], None]] = []


class RuntimeFailed(Exception):
    """The function raised (the whole invocation failed: every message is offered again)."""


class ProcessRuntime:
    """One warm execution environment of ``function``."""

    def __init__(self, function: str) -> None:
        self.function = function
        self._process = subprocess.Popen(
            [sys.executable, "-m", "devstack.runtimes", function], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=dict(os.environ), text=True, bufsize=1)

    def invoke(self, event: dict[str, Any]) -> Any:
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps(event, separators=(",", ":")) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeFailed(f"the {self.function} runtime exited ({self._process.poll()})")
        answer = json.loads(line)
        for sink in list(SINKS):
            sink(answer.get("calls") or [])
        if not answer["ok"]:
            raise RuntimeFailed(answer["error"])
        return answer["result"]

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def main(argv: list[str]) -> None:
    function = argv[0]
    answers: IO[str] = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the function's prints and logs: stderr
    sys.stdout = sys.stderr
    from app import app
    from devstack.stack import FakeLambdaContext

    handler = app.handler_map[function]
    calls = _reported_calls() if os.environ.get(REPORT_CALLS) else None
    for line in sys.stdin:
        try:
            answer: dict[str, Any] = {"ok": True, "result": handler(json.loads(line), FakeLambdaContext(function))}
        except Exception as exc:  # reported to the pump, which offers the messages again
            import traceback

            traceback.print_exc()
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        if calls is not None:
            answer["calls"], calls[:] = list(calls), []
        answers.write(json.dumps(answer, default=str) + "\n")


def _reported_calls() -> list[dict[str, Any]]:
    """Every DynamoDB request this runtime makes, as the report names it."""
    import botocore.client

    made: list[dict[str, Any]] = []
    original = botocore.client.BaseClient._make_api_call

    def counting(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            tables = [params.get("TableName")] + list(params.get("RequestItems", {})) + [
                v.get("TableName") for item in params.get("TransactItems", []) for v in item.values()]
            made.append({"operation": operation, "tables": [t for t in tables if t], "index": params.get("IndexName")})
        return original(client, operation, params)

    botocore.client.BaseClient._make_api_call = counting  # type: ignore[method-assign]
    return made


if __name__ == "__main__":
    main(sys.argv[1:])

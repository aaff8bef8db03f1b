"""Shared pieces: the result record, the Lambda-like environment, and a DynamoDB call recorder."""
from __future__ import annotations

import json
import os
import statistics
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")


@dataclass
class Result:
    name: str
    value: float | None
    unit: str
    target: str | None  # "<= 1.3", or "none (reported)"; None: reported, no target
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "unit": self.unit, "target": self.target,
                "ok": self.ok, "detail": self.detail}


def at_most(value: float | None, limit: float) -> bool:
    return value is not None and value <= limit


def median(values: list[float]) -> float:
    return statistics.median(values)


def chalice_environment(stage: str = "dev") -> dict[str, str]:
    """The variables .chalice/config.json gives the deployed function (global, then the stage)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config.get("stages", {}).get(stage, {}).get("environment_variables", {}))
    return {k: str(v) for k, v in env.items()}


def lambda_environment(stack_env: dict[str, str]) -> dict[str, str]:
    """What a child process (standing in for a fresh Lambda sandbox) runs with: a clean base, the
    stage's variables, the local stack's bindings, and the variables Lambda itself sets. The same
    mapping is used for the app and for the baseline."""
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT") if k in os.environ}
    env = {
        **base,
        **chalice_environment(),
        **stack_env,
        "AWS_LAMBDA_FUNCTION_NAME": "public-housing-dev",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        # EMF metric lines would be printed on every request; the brief allows silencing them.
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    return env


@dataclass
class Call:
    operation: str
    table: str | None
    index: str | None
    count: int | None = None
    scanned: int | None = None


class DynamoRecorder:
    """Counts every DynamoDB API call made in this process, whatever botocore session made it
    (PynamoDB builds its own), by wrapping ``BaseClient._make_api_call``."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._original: Any = None

    def install(self) -> "DynamoRecorder":
        import botocore.client

        if self._original is not None:
            return self
        original = botocore.client.BaseClient._make_api_call
        recorder = self

        def counting(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if client.meta.service_model.service_name != "dynamodb":
                return original(client, operation, params)
            call = Call(operation, params.get("TableName"), params.get("IndexName"))
            recorder.calls.append(call)
            response = original(client, operation, params)
            if isinstance(response, dict):
                call.count = response.get("Count")
                call.scanned = response.get("ScannedCount")
            return response

        self._original = original
        botocore.client.BaseClient._make_api_call = counting  # type: ignore[method-assign]
        from devstack import runtimes  # and the requests of the local stack's runtime processes

        runtimes.SINKS.append(self._reported)
        return self

    def _reported(self, calls: list[dict[str, Any]]) -> None:
        self.calls.extend(Call(c["operation"], (c["tables"] or [None])[0], c["index"]) for c in calls)

    def uninstall(self) -> None:
        import botocore.client

        if self._original is not None:
            from devstack import runtimes

            botocore.client.BaseClient._make_api_call = self._original  # type: ignore[method-assign]
            self._original = None
            runtimes.SINKS.remove(self._reported)

    @contextmanager
    def window(self) -> Iterator[list[Call]]:
        """The calls made inside the block."""
        self.calls = []
        try:
            yield self.calls
        finally:
            self.calls = []


def queue_page_counts(client: Any, recorder: DynamoRecorder, headers: dict[str, str], path: str,
                      filters: Any) -> tuple[list[int], int]:
    """Every page of a staff queue (``path`` with ``?limit=``) under each filter, followed by its
    cursor: the DynamoDB requests of each page, and how many pages were read."""
    counts, pages = [], 0
    for extra in filters:
        cursor = None
        while True:
            with recorder.window() as calls:
                response = client.http.get(path + extra + (f"&cursor={cursor}" if cursor else ""), headers=headers)
                counts.append(len(calls))
            assert response.status_code == 200, response.body
            pages += 1
            cursor = json.loads(response.body)["next_cursor"]
            if not cursor:
                break
    return counts, pages

"""The load benchmark's server: `make run`'s local stack (devstack/__main__.py, one process: moto on
loopback, Chalice's local server, the queue workers) with every DynamoDB request counted per route.

    LOAD_COUNTS_FILE=/tmp/counts.json .venv/bin/python -m bench.load_server --port 8123 --aws-port 5123

Counting is at botocore, like bench/common.py's ``DynamoRecorder``: PynamoDB's calls, boto3's and
Powertools' idempotency store's all pass ``BaseClient._make_api_call``. A call made on the thread
serving an API request is that request's, keyed by method and route template; any other (seeding,
queue workers, schedules, the verification workflow) is ``background``. SIGUSR1 zeroes the counts
(the benchmark sends it once the stack is seeded); on exit they are written to ``LOAD_COUNTS_FILE``.

Capacity units are estimated from the sizes DynamoDB would bill (item JSON as a proxy for its size):
reads 4 KB a unit, half for eventually consistent, double in a transaction; writes 1 KB a unit,
double in a transaction. Writes to global secondary indexes are not included (see docs/capacity.md).
"""
from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
from collections import Counter, defaultdict
from typing import Any

BACKGROUND = "background"


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()) if value else 0


def _units(operation: str, params: dict[str, Any], response: Any) -> tuple[float, float, int]:
    """(read units, write units, items) one call costs, estimated."""
    response = response if isinstance(response, dict) else {}
    eventually = 1.0 if params.get("ConsistentRead") else 0.5
    if operation == "GetItem":
        return math.ceil(max(_size(response.get("Item")), 1) / 4096) * eventually, 0.0, 1 if response.get("Item") else 0
    if operation in ("Query", "Scan"):
        items = response.get("Items") or []
        scanned, count = response.get("ScannedCount") or 0, response.get("Count") or 0
        size = _size(items) * (scanned / count if count else 1)
        return max(math.ceil(size / 4096), 1) * eventually, 0.0, len(items)
    if operation == "BatchGetItem":
        items = [i for table in (response.get("Responses") or {}).values() for i in table]
        return sum(math.ceil(max(_size(i), 1) / 4096) * eventually for i in items) or eventually, 0.0, len(items)
    if operation == "TransactGetItems":
        got = response.get("Responses") or []
        return sum(2 * math.ceil(max(_size(r.get("Item")), 1) / 4096) for r in got), 0.0, len(got)
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        return 0.0, float(math.ceil(max(_size(params.get("Item")), 1) / 1024)), 1
    if operation == "TransactWriteItems":
        items = params.get("TransactItems") or []
        units = sum(2 * math.ceil(max(_size((i.get("Put") or {}).get("Item")), 1) / 1024) for i in items)
        return 0.0, float(units), len(items)
    if operation == "BatchWriteItem":
        writes = [w for table in (params.get("RequestItems") or {}).values() for w in table]
        units = sum(math.ceil(max(_size((w.get("PutRequest") or {}).get("Item")), 1) / 1024) for w in writes)
        return 0.0, float(units), len(writes)
    return 0.0, 0.0, 0  # DescribeTable and the like: not billed as requests


class RouteCounter:
    """DynamoDB calls per API request, grouped by route; the rest as background."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.lock = threading.Lock()
        self.reset()

    def reset(self, *_: Any) -> None:
        with getattr(self, "lock", threading.Lock()):
            #: route -> {"requests", "statuses", "calls" histogram, "operations", "rru", "wru"}
            self.routes: dict[str, dict[str, Any]] = defaultdict(lambda: {
                "requests": 0, "statuses": Counter(), "calls_per_request": Counter(), "operations": Counter(),
                "rru": 0.0, "wru": 0.0, "items": 0})
            self.background: dict[str, Any] = {"calls": 0, "operations": Counter(), "rru": 0.0, "wru": 0.0}

    def install(self) -> None:
        import botocore.client
        from chalice import local

        original_call = botocore.client.BaseClient._make_api_call
        original_handle = local.LocalGateway.handle_request
        counter = self

        def counting(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if client.meta.service_model.service_name != "dynamodb":
                return original_call(client, operation, params)
            response = original_call(client, operation, params)
            rru, wru, items = _units(operation, params, response)
            calls = getattr(counter.local, "calls", None)
            if calls is not None:
                calls.append((operation, rru, wru, items))
            else:
                with counter.lock:
                    b = counter.background
                    b["calls"] += 1
                    b["operations"][operation] += 1
                    b["rru"] += rru
                    b["wru"] += wru
            return response

        def handling(gateway: Any, method: str, path: str, headers: Any, body: Any) -> Any:
            try:
                route = gateway.event_converter._route_matcher.match_route(path).route
            except ValueError:
                route = "(no route)"
            counter.local.calls = []
            status: Any = "error"
            try:
                response = original_handle(gateway, method, path, headers, body)
                status = response.get("statusCode")
                return response
            finally:
                calls, counter.local.calls = counter.local.calls, None
                with counter.lock:
                    r = counter.routes[f"{method} {route}"]
                    r["requests"] += 1
                    r["statuses"][str(status)] += 1
                    r["calls_per_request"][str(len(calls))] += 1
                    for operation, rru, wru, items in calls:
                        r["operations"][operation] += 1
                        r["rru"] += rru
                        r["wru"] += wru
                        r["items"] += items

        botocore.client.BaseClient._make_api_call = counting  # type: ignore[method-assign]
        local.LocalGateway.handle_request = handling  # type: ignore[method-assign]

    def as_dict(self) -> dict[str, Any]:
        with self.lock:
            return {"routes": {k: {**v, "statuses": dict(v["statuses"]),
                                   "calls_per_request": dict(v["calls_per_request"]),
                                   "operations": dict(v["operations"])} for k, v in self.routes.items()},
                    "background": {**self.background, "operations": dict(self.background["operations"])}}


def main(argv: list[str] | None = None) -> int:
    from devstack.__main__ import main as devstack_main

    counter = RouteCounter()
    counter.install()
    signal.signal(signal.SIGUSR1, counter.reset)
    try:
        return devstack_main(argv)
    finally:
        path = os.environ.get("LOAD_COUNTS_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as out:
                json.dump(counter.as_dict(), out, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    sys.exit(main())

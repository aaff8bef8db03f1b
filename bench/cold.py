"""Cold start and cold import, each in fresh processes, the app against a minimal baseline.

A Lambda cold start is a new interpreter that imports the handler module and then serves the first
event; both are paid by the user who sent that event. So each run here is a new Python process
that imports the app and answers one API Gateway proxy event (REST API, ``GET /v1/units/{unit_id}``)
through the app's own handler, ``app(event, context)``, against the local AWS running in the parent.
The parent times the whole subprocess (interpreter start to exit) for the app and for the baseline
(bench/baseline_app.py), alternating, and compares medians.
"""
from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections import defaultdict
from typing import Any

from bench.common import PYTHON, ROOT, Result, at_most, median

MARK = "@@BENCH@@"

# The same driver for both sides; only the module differs. Timings inside are for the detail only:
# the metric is the parent's wall time of the whole process.
CHILD = """
import time
_t0 = time.perf_counter()
import json
import sys
from {module} import app
_t1 = time.perf_counter()


class Context:
    function_name = "public-housing-dev"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws-cn:lambda:cn-northwest-1:123456789012:function:public-housing-dev"
    aws_request_id = sys.argv[2]
    log_group_name = "/aws/lambda/public-housing-dev"
    log_stream_name = "2026/11/23/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self):
        return 29000


response = app(json.loads(sys.argv[1]), Context())
_t2 = time.perf_counter()
out = {{"response": response, "import_s": _t1 - _t0, "invoke_s": _t2 - _t1}}
sys.stdout.write("\\n{mark}" + json.dumps(out) + "\\n")
"""

IMPORT_CHILD = "import time; t=time.perf_counter(); import {modules}; print(time.perf_counter()-t)"
SIDES = {"app": "app", "baseline": "bench.baseline_app"}


def proxy_event(unit_id: str, request_id: str) -> dict[str, Any]:
    """An API Gateway REST API (v1) proxy event as Lambda receives it for GET /v1/units/{unit_id}."""
    headers = {
        "Accept": "application/json",
        "Accept-Encoding": "gzip, deflate",
        "Host": "abc123.execute-api.cn-northwest-1.amazonaws.com.cn",
        "User-Agent": "Mozilla/5.0 (Linux; Android 14) MicroMessenger/8.0",
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    path = f"/v1/units/{unit_id}"
    return {
        "resource": "/v1/units/{unit_id}",
        "path": path,
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"unit_id": unit_id},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": "/v1/units/{unit_id}",
            "httpMethod": "GET",
            "extendedRequestId": request_id[:16],
            "requestTime": "23/Nov/2026:10:00:00 +0000",
            "path": f"/api{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "api",
            "domainPrefix": "abc123",
            "requestTimeEpoch": 1795428000000,
            "requestId": request_id,
            "identity": {"sourceIp": "203.0.113.9", "userAgent": headers["User-Agent"]},
            "domainName": headers["Host"],
            "apiId": "abc123",
        },
        "body": None,
        "isBase64Encoded": False,
    }


def _run(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run([PYTHON, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return time.perf_counter() - started, proc


def _cold_start_once(side: str, unit: dict[str, Any], env: dict[str, str]) -> dict[str, float]:
    request_id = str(uuid.uuid4())
    code = CHILD.format(module=SIDES[side], mark=MARK)
    wall, proc = _run(["-c", code, json.dumps(proxy_event(unit["unit_id"], request_id)), request_id], env)
    if proc.returncode != 0 or MARK not in proc.stdout:
        raise RuntimeError(f"{side} child failed (rc={proc.returncode}): {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.rsplit(MARK, 1)[1])
    response = out["response"]
    body = json.loads(response.get("body") or "null")
    # A failing call must not count as fast: 200, and the unit we created, in every run.
    if response.get("statusCode") != 200 or not isinstance(body, dict) or body.get("unit_id") != unit["unit_id"] \
            or str(body.get("number")) != unit["number"]:
        raise RuntimeError(f"{side} answered {response.get('statusCode')}: {str(body)[:300]}")
    return {"wall_s": wall, "import_s": out["import_s"], "invoke_s": out["invoke_s"]}


def cold_start_ratio(unit: dict[str, Any], env: dict[str, str], pairs: int = 15) -> Result:
    for side in SIDES:  # warm the page cache and write .pyc files; not counted
        _cold_start_once(side, unit, env)
    runs: dict[str, list[dict[str, float]]] = defaultdict(list)
    for i in range(pairs):
        order = ("app", "baseline") if i % 2 == 0 else ("baseline", "app")
        for side in order:
            runs[side].append(_cold_start_once(side, unit, env))
    med = {side: {k: median([r[k] for r in rs]) for k in ("wall_s", "import_s", "invoke_s")}
           for side, rs in runs.items()}
    ratio = med["app"]["wall_s"] / med["baseline"]["wall_s"]
    return Result(
        "cold_start_ratio", round(ratio, 3), "x", "<= 1.3", at_most(ratio, 1.3),
        {
            "pairs": pairs,
            "app_median_ms": round(med["app"]["wall_s"] * 1000, 1),
            "baseline_median_ms": round(med["baseline"]["wall_s"] * 1000, 1),
            "app_import_median_ms": round(med["app"]["import_s"] * 1000, 1),
            "app_first_request_median_ms": round(med["app"]["invoke_s"] * 1000, 1),
            "baseline_import_median_ms": round(med["baseline"]["import_s"] * 1000, 1),
            "baseline_first_request_median_ms": round(med["baseline"]["invoke_s"] * 1000, 1),
            "app_runs_ms": [round(r["wall_s"] * 1000, 1) for r in runs["app"]],
            "baseline_runs_ms": [round(r["wall_s"] * 1000, 1) for r in runs["baseline"]],
            "how": "parent's wall time of a new `python -c` process that imports the module and answers one "
                   "REST proxy event for GET /v1/units/{unit_id} via app(event, context); every run "
                   "asserted 200 with the unit in the body; medians of alternating runs",
        },
    )


def _import_once(modules: str, env: dict[str, str]) -> float:
    _, proc = _run(["-c", IMPORT_CHILD.format(modules=modules)], env)
    if proc.returncode != 0:
        raise RuntimeError(f"import {modules} failed: {proc.stderr[-2000:]}")
    return float(proc.stdout.strip().splitlines()[-1])


def cold_import_ratio(env: dict[str, str], pairs: int = 15) -> Result:
    sides = {"app": "app", "baseline": "chalice, boto3"}
    for modules in sides.values():
        _import_once(modules, env)
    runs: dict[str, list[float]] = defaultdict(list)
    for i in range(pairs):
        order = ("app", "baseline") if i % 2 == 0 else ("baseline", "app")
        for side in order:
            runs[side].append(_import_once(sides[side], env))
    med = {side: median(v) for side, v in runs.items()}
    ratio = med["app"] / med["baseline"]
    return Result(
        "cold_import_ratio", round(ratio, 3), "x", "<= 1.3", at_most(ratio, 1.3),
        {
            "pairs": pairs,
            "app_import_median_ms": round(med["app"] * 1000, 1),
            "chalice_boto3_import_median_ms": round(med["baseline"] * 1000, 1),
            "app_runs_ms": [round(v * 1000, 1) for v in runs["app"]],
            "baseline_runs_ms": [round(v * 1000, 1) for v in runs["baseline"]],
            "import_profile": import_profile(env),
        },
    )


_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def import_profile(env: dict[str, str]) -> dict[str, Any]:
    """One `python -X importtime -c "import app"`: self time by top-level package, and the heaviest
    modules the app's own code pulls in (cumulative), to show where an import budget goes."""
    _, proc = _run(["-X", "importtime", "-c", "import app"], env)
    by_package: dict[str, int] = defaultdict(int)
    rows = []
    for line in proc.stderr.splitlines():
        m = _IMPORTTIME.match(line)
        if not m:
            continue
        self_us, cumulative_us, indent, name = int(m[1]), int(m[2]), len(m[3]), m[4]
        by_package[name.split(".")[0]] += self_us
        rows.append((name, cumulative_us, indent))
    top = sorted(by_package.items(), key=lambda kv: -kv[1])[:12]
    # Modules imported directly by the app's modules (one level below a chalicelib/app module).
    heavy: dict[str, int] = {}
    stack: list[tuple[int, str]] = []
    for name, cumulative_us, indent in reversed(rows):  # importtime prints children before parents
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else None
        if parent and (parent == "app" or parent.startswith("chalicelib")) and not name.startswith("chalicelib"):
            heavy[f"{parent} -> {name}"] = max(heavy.get(f"{parent} -> {name}", 0), cumulative_us)
        stack.append((indent, name))
    heaviest = sorted(heavy.items(), key=lambda kv: -kv[1])[:10]
    return {
        "self_ms_by_top_level_package": {k: round(v / 1000, 1) for k, v in top},
        "heaviest_third_party_imports_by_app_modules_ms": {k: round(v / 1000, 1) for k, v in heaviest},
    }

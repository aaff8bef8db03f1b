"""The load phase of `make bench`: locust against the local stack, mixed as the seeds suggest.

    .venv/bin/python -m bench --only load [--load-users 16 --load-seconds 90]

It starts `make run`'s stack in a process of its own (bench/load_server.py: moto on loopback, the
Chalice local server, the queue workers and the verification workflow, one Python process, every
DynamoDB request counted per route), waits until it is seeded and serving, then runs locust headless
in another process (bench/locustfile.py, the journeys of bench/load_journeys.py) for a fixed time with
no think time. Reported, per route: requests per second and p99 (locust's CSV), and the DynamoDB
requests one request makes (the server's count) with the capacity units they would bill; for the run:
the total rate, how the requests split between browsing, applying and staff work against the seeds'
ratio, and what saturated (the server's CPU: one interpreter, so about one core at most, whatever
the machine has). These are the local stack's figures, not AWS's: the per-request DynamoDB counts are
what carries over (docs/capacity.md turns them into a city's cost).
"""
from __future__ import annotations

import csv
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import PYTHON, ROOT, Result

USERS = 16
SECONDS = 90
REPORTED = None  # no target: the figure is reported (ok is true)
#: Which kind of work a route is, for the mix actually achieved.
STAFF_PREFIX = "/v1/staff/"
CITIZEN_ROUTES = ("/v1/me", "/v1/applications", "/v1/consent-text", "/v1/document-requirements")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_serving(api: str, server: subprocess.Popen, timeout: float = 240.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the local stack exited ({server.returncode}) before serving")
        try:
            if requests.get(f"{api}/v1/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the local stack did not serve {api} within {timeout:.0f} s")


def _cpu_seconds(pid: int) -> float | None:
    try:
        import psutil  # comes with locust

        t = psutil.Process(pid).cpu_times()
        return float(t.user + t.system)
    except Exception:  # noqa: BLE001 - the figure is optional
        return None


def kind_of(route: str) -> str:
    path = route.split(" ", 1)[-1]
    if path.startswith(STAFF_PREFIX):
        return "staff"
    if path.startswith(CITIZEN_ROUTES) or (path.startswith("/v1/self-assessment") and route.startswith("POST")):
        return "apply"
    return "browse"


def run_load(users: int = USERS, seconds: int = SECONDS) -> list[Result]:
    from bench.load_journeys import MIX, SEEDS

    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    port, aws_port = _free_port(), _free_port()
    api = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DEVSTACK_STATE": str(work / "stack.json"), "LOAD_COUNTS_FILE": str(work / "counts.json"),
           "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    with open(work / "server.log", "wb") as log:
        server = subprocess.Popen([PYTHON, "-m", "bench.load_server", "--port", str(port), "--aws-port", str(aws_port)],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_serving(api, server)
        server.send_signal(signal.SIGUSR1)  # forget the seeding's requests
        cpu_before, wall_before, load_before = _cpu_seconds(server.pid), time.monotonic(), os.getloadavg()[0]
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        locust = subprocess.run(
            [PYTHON, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "-u", str(users),
             "-r", str(users), "-t", f"{seconds}s", "--host", api, "--csv", str(work / "locust"), "--only-summary",
             "--loglevel", "WARNING", "--stop-timeout", "30", "--exit-code-on-error", "0"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 180)
        wall = time.monotonic() - wall_before
        cpu_after, load_after = _cpu_seconds(server.pid), os.getloadavg()[0]
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        if locust.returncode != 0 or not (work / "locust_stats.csv").exists():
            raise RuntimeError(f"locust failed ({locust.returncode}, logs kept in {work}): {locust.stderr[-1500:]}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    counts = json.loads((work / "counts.json").read_text())
    with open(work / "locust_stats.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with open(work / "locust_exceptions.csv", newline="", encoding="utf-8") as f:  # a journey's own errors
        exceptions = {r["Message"][:200]: int(r["Count"]) for r in csv.DictReader(f)}
    server_cores = None if cpu_before is None or cpu_after is None else round((cpu_after - cpu_before) / wall, 2)
    locust_cores = round((children.ru_utime + children.ru_stime - children_before.ru_utime
                          - children_before.ru_stime) / wall, 2)
    shutil.rmtree(work, ignore_errors=True)  # kept only when the run failed
    machine = {"cores": os.cpu_count(), "load_average_1m": [round(load_before, 2), round(load_after, 2)]}
    return results(rows, counts, users, seconds, server_cores, locust_cores, MIX, SEEDS, machine, exceptions)


def results(rows: list[dict[str, str]], counts: dict[str, Any], users: int, seconds: int, server_cores: float | None,
            locust_cores: float, mix: dict[str, int], seeds: dict[str, Any], machine: dict[str, Any],
            exceptions: dict[str, int] | None = None) -> list[Result]:
    out: list[Result] = []
    total = next(r for r in rows if r["Name"] == "Aggregated")
    api_rows = [r for r in rows if r["Name"] != "Aggregated" and r["Type"] != "AWS"]
    by_kind: dict[str, int] = {"browse": 0, "apply": 0, "staff": 0}
    for r in api_rows:
        by_kind[kind_of(f"{r['Type']} {r['Name']}")] += int(r["Request Count"])
    api_requests = sum(by_kind.values()) or 1
    failures = sum(int(r["Failure Count"]) for r in rows if r["Name"] != "Aggregated")
    cores, load = machine["cores"], machine["load_average_1m"]
    bottleneck = (f"the single-process local stack: moto's server (DynamoDB, S3, SQS, Cognito), Chalice's local "
                  f"server, the queue workers and the verification workflow share one Python interpreter, so at most "
                  f"one core's worth of work at a time (the GIL), whatever the machine has. Measured: the stack used "
                  f"{server_cores} core(s) of the machine's {cores}, locust {locust_cores}, with the machine's 1-minute "
                  f"load average at {load[0]} before and {load[1]} after (other processes competing for the same "
                  f"cores lower it further). On AWS each request is its own Lambda invocation and DynamoDB is a "
                  f"service: these rates and latencies do not carry over; the DynamoDB requests per route do "
                  f"(docs/capacity.md).")
    out.append(Result("load_rps_total", round(float(total["Requests/s"]), 2), "requests/s", REPORTED, True, {
        "reported": "no target: the local stack's saturation rate, not AWS's",
        "users": users, "seconds": seconds, "think_time_s": 0, "requests": int(total["Request Count"]),
        "p50_ms": _num(total["50%"]), "p99_ms": _num(total["99%"]),
        "bottleneck": bottleneck, "server_cores_used": server_cores, "locust_cores_used": locust_cores,
        "machine": machine,
        "mix_weights": mix, "mix_source": seeds,
        "mix_requests_share": {k: round(v / api_requests, 3) for k, v in by_kind.items()},
        "mix_note": "a locust user's next task: 39 catalogue visits (about 9 reads) per citizen's journey (about 22 "
                    "API requests) and per staff round (3); browse 39 : apply 1 from 105,000 registered users to "
                    "2,683 applications in the seeds, one staff round per application",
        "background_ddb": counts.get("background"),
    }))
    errors = sum((exceptions or {}).values())
    out.append(Result("load_failed_requests", failures + errors, "requests", "0", failures + errors == 0, {
        "failures": {f"{r['Type']} {r['Name']}": int(r["Failure Count"]) for r in rows
                     if r["Name"] != "Aggregated" and int(r["Failure Count"])},
        "journey_errors": exceptions or {},
        "note": "answers that were not 2xx, plus errors a journey raised outside the API (S3, Cognito, simulators)"}))
    routes = counts.get("routes", {})
    for r in sorted(api_rows, key=lambda r: (r["Name"], r["Type"])):
        route = f"{r['Type']} {r['Name']}"
        n = int(r["Request Count"])
        note = {"reported": "no target", "requests": n, "failures": int(r["Failure Count"]), "kind": kind_of(route)}
        out.append(Result(f"load_rps[{route}]", round(float(r["Requests/s"]), 3), "requests/s", REPORTED, True, note))
        p99 = _num(r["99%"])
        out.append(Result(f"load_p99_ms[{route}]", p99, "ms", REPORTED, True, {
            **note, "p50_ms": _num(r["50%"]), "max_ms": _num(r["Max Response Time"]),
            **({"caution": f"{n} samples: the p99 is about the slowest one"} if n < 100 else {})}))
        c = routes.get(route)
        if c and c["requests"]:
            calls = sum(c["operations"].values())
            out.append(Result(f"load_ddb_requests[{route}]", round(calls / c["requests"], 2), "DynamoDB requests / request",
                              REPORTED, True, {
                                  "reported": "no target: what each request costs at DynamoDB (docs/capacity.md)",
                                  "requests": c["requests"], "max": max(int(k) for k in c["calls_per_request"]),
                                  "operations_per_request": {k: round(v / c["requests"], 2)
                                                             for k, v in sorted(c["operations"].items())},
                                  "read_units_per_request": round(c["rru"] / c["requests"], 2),
                                  "write_units_per_request": round(c["wru"] / c["requests"], 2),
                                  "units_note": "estimated from item sizes: reads 4 KB (eventually consistent half), "
                                                "writes 1 KB, transactions double; GSI writes not included"}))
    for r in rows:
        if r["Type"] == "AWS":
            out.append(Result(f"load_p99_ms[{r['Name']}]", _num(r["99%"]), "ms", REPORTED, True, {
                "reported": "no target: a call to the local Cognito (moto), not to the API",
                "requests": int(r["Request Count"]), "p50_ms": _num(r["50%"])}))
    return out


def _num(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None

"""`make bench`: every measurement in one run -> bench/results.json (a JSON array) and a table.

    .venv/bin/python -m bench [--pairs 21] [--only cold,catalogue,deep] [--output bench/results.json]

A run of some phases (``--only``) replaces those phases' metrics in the output and keeps the others'.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import logging
import os
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, Callable

# Powertools reads these at import: set before anything imports the app (this process only; the
# cold-start children get a Lambda-like environment of their own, see bench/common.py).
os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "public-housing")
os.environ.setdefault("AWS_DEFAULT_REGION", "cn-northwest-1")
for _key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
    os.environ.pop(_key, None)

from bench.common import ROOT, DynamoRecorder, Result  # noqa: E402

PHASES = ("cold", "catalogue", "deep", "assess", "apply", "review", "verify", "select", "lottery", "rent", "pay", "reconcile",
          "annual", "campaign", "load", "tickets", "stats", "imports")


def _guard(name: str, unit: str, target: str, fn: Callable[[], Any]) -> list[Result]:
    """A metric that cannot be measured is reported as failed, with the reason, not silently dropped."""
    try:
        out = fn()
        return out if isinstance(out, list) else [out]
    except Exception as exc:  # noqa: BLE001
        traceback.print_exc()
        return [Result(name, None, unit, target, False, {"error": f"{type(exc).__name__}: {exc}"[:2000]})]


def run(phases: set[str], pairs: int, load_users: int = 16, load_seconds: int = 90) -> list[Result]:
    from bench import applying, catalogue, cold, deep_paging, review, self_assessment, verification
    from bench.common import lambda_environment
    from devstack.stack import LocalStack

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's access log
    # With POWERTOOLS_METRICS_DISABLED, Powertools still prints an EMF line every 100 values.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    emf = io.StringIO()
    recorder = DynamoRecorder().install()
    results: list[Result] = []
    started = time.perf_counter()

    def phase(label: str) -> None:
        print(f"[bench {time.perf_counter() - started:6.1f}s] {label}", file=sys.stderr, flush=True)

    with LocalStack() as stack, contextlib.redirect_stdout(emf):
        if phases & {"cold", "catalogue"}:
            phase("seeding a small city through the domain services")
            city = catalogue.seed_city()
            unit = city["units"][0]
            if "cold" in phases:
                env = lambda_environment(stack.environment)
                phase(f"cold_import_ratio ({pairs} pairs)")
                results += _guard("cold_import_ratio", "x", "<= 1.3", lambda: cold.cold_import_ratio(env, pairs))
                phase(f"cold_start_ratio ({pairs} pairs)")
                results += _guard("cold_start_ratio", "x", "<= 1.3", lambda: cold.cold_start_ratio(
                    {"unit_id": unit.unit_id, "number": unit.number}, env, pairs))
            if "catalogue" in phases:
                phase("catalogue_ddb_requests_max")
                results += _guard("catalogue_ddb_requests_max", "requests", "<= 2",
                                  lambda: catalogue.catalogue_ddb_requests_max(recorder, city))
        if "apply" in phases:
            phase("submit_application_ddb_requests, my_applications_ddb_requests")
            results += _guard("submit_application_ddb_requests", "requests", "<= 3",
                              lambda: applying.applying_requests(stack, recorder))
        if "review" in phases:
            phase("review_queue_ddb_requests")
            results += _guard("review_queue_ddb_requests", "requests", "<= 2",
                              lambda: review.review_queue_requests(stack, recorder))
        if "verify" in phases:
            phase("verify_submit_to_recommendation_p50_s, verify_burst_100_all_decided_s")
            results += _guard("verify_submit_to_recommendation_p50_s", "s", "<= 2",
                              lambda: verification.verification_results(stack))
        if "annual" in phases:
            phase("review_no_change_to_recommendation_p50_s")
            results += _guard("review_no_change_to_recommendation_p50_s", "s", "<= 1", lambda: importlib.import_module(
                "bench.reviews").review_no_change_p50(stack))
        if "select" in phases:
            stack.reset()
            phase("selection_1000_concurrent_double_allocations")
            results += _guard("selection_1000_concurrent_double_allocations", "double allocations", "0",
                              lambda: importlib.import_module("bench.selection").selection_1000_concurrent(stack))
        if "campaign" in phases:
            phase("review_campaign_10k_s, review_campaign_reopen_created, review_ddb_requests_per_lease (10,000 leases)")
            results += _guard("review_campaign_10k_s", "s", "<= 120", lambda: importlib.import_module(
                "bench.review_campaigns").review_campaign_10k(stack, recorder))
        if "rent" in phases:
            phase("rent_billing_50k_s, rent_billing_write_requests_ratio (seeding 50,000 leases)")
            results += _guard("rent_billing_50k_s", "s", "<= 120",
                              lambda: importlib.import_module("bench.billing").rent_billing_50k(stack, recorder))
        if "pay" in phases:
            stack.reset()
            phase("payment_flow_ddb_requests, payment_notify_duplicates_payments (1,000 deliveries)")
            pay = importlib.import_module("bench.payments")
            results += _guard("payment_flow_ddb_requests", "requests", "<= 3 each",
                              lambda: pay.flow_requests(stack, recorder))
            results += _guard("payment_notify_duplicates_payments", "payments", "1",
                              lambda: pay.notify_duplicates(stack))
        if "reconcile" in phases:
            phase("reconcile_100k_lines_s (loading 100,000 payments)")
            results += _guard("reconcile_100k_lines_s", "s", "<= 60", lambda: importlib.import_module(
                "bench.reconciliation").reconcile_100k(stack, recorder))
        if "tickets" in phases:
            stack.reset()
            phase("service_queue_ddb_requests, service_sla_sweep_requests_ratio (100,000 closed tickets)")
            desk = importlib.import_module("bench.tickets")
            results += _guard("service_queue_ddb_requests", "requests", "<= 2",
                              lambda: desk.service_queue_requests(stack, recorder))
            results += _guard("service_sla_sweep_requests_ratio", "x", "<= 1.1",
                              lambda: desk.service_sla_sweep_ratio(stack, recorder))
        if "imports" in phases:
            phase("import_314k_units_s, import_write_requests_ratio, reimport_changes (314,000 units, imported twice)")
            results += _guard("import_314k_units_s", "s", "<= 300", lambda: importlib.import_module(
                "bench.imports").import_314k(stack, recorder))
        if "deep" in phases:
            stack.reset()
            phase("units_deep_page_items_read_ratio (loading 300,000 units)")
            results += _guard("units_deep_page_items_read_ratio", "items read / item returned", "<= 2.0",
                              lambda: deep_paging.units_deep_page(stack, recorder))
        if "stats" in phases:
            phase("stats_ddb_requests, stats_recount_mismatches (a random workload of every counted event)")
            results += _guard("stats_recount_mismatches", "mismatches", "0", lambda: importlib.import_module(
                "bench.stats").stats_results(stack, recorder))
    if "lottery" in phases:
        phase("lottery_draw_50k_s, lottery_verify_50k_s")
        results += _guard("lottery_draw_50k_s", "s", "<= 1",
                          lambda: importlib.import_module("bench.lottery").lottery_draw_50k())
        results += _guard("lottery_verify_50k_s", "s", "<= 2",
                          lambda: importlib.import_module("bench.lottery").lottery_verify_50k())
    if "load" in phases:
        phase(f"load_rps_total, load_p99_ms[...], load_ddb_requests[...] (locust, {load_users} users, {load_seconds} s)")
        results += _guard("load_rps_total", "requests/s", "none (reported)", lambda: importlib.import_module(
            "bench.load").run_load(load_users, load_seconds))
    if "assess" in phases:
        phase("self_assessment_p50_ms (1,000 assessments)")
        results += _guard("self_assessment_p50_ms", "ms", "<= 5", self_assessment.self_assessment_p50)
    phase("done")
    return results


def table(results: list[Result]) -> str:
    rows = [("metric", "value", "unit", "target", "ok")]
    for r in results:
        value = "n/a" if r.value is None else f"{r.value:g}"
        rows.append((r.name, value, r.unit, "reported" if r.target is None else r.target, "PASS" if r.ok else "FAIL"))
    widths = [max(len(str(row[i])) for row in rows) for i in range(5)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def highlights(results: list[Result]) -> str:
    keys = {
        "cold_start_ratio": ("app_median_ms", "baseline_median_ms", "app_import_median_ms",
                             "app_first_request_median_ms", "baseline_import_median_ms",
                             "baseline_first_request_median_ms"),
        "cold_import_ratio": ("app_import_median_ms", "chalice_boto3_import_median_ms"),
        "catalogue_ddb_requests_max": ("requests_made", "scans", "distribution", "max_by_route",
                                       "over_target_count"),
        "units_deep_page_items_read_ratio": ("deep_pages_ratio", "page_50_ratio", "whole_walk_ratio", "pages_walked",
                                             "max_requests_per_page", "scans", "moto_equivalence_check"),
    }
    out = []
    for r in results:
        shown = {k: r.detail[k] for k in keys.get(r.name, ()) if k in r.detail}
        if r.name.startswith("units_items_read_ratio["):
            shown = {k: r.detail[k] for k in ("items_read", "items_returned", "pages_with_no_items",
                                               "max_requests_per_page", "whole_key_range") if k in r.detail}
        if r.name == "catalogue_ddb_requests_max" and r.detail.get("over_target_shapes"):
            shapes = r.detail["over_target_shapes"]
            shown["worst_route"] = {k: r.detail["worst_route"][k] for k in ("requests", "operations")}
            shown["over_target_shapes"] = shapes[:4] + ([f"... {len(shapes) - 4} more"] if len(shapes) > 4 else [])
        if "error" in r.detail:
            shown = {"error": r.detail["error"]}
        if shown:
            out.append(f"- {r.name}: " + json.dumps(shown, ensure_ascii=False))
    return "\n".join(out)


def merged(path: Path, results: list[Result]) -> list[dict[str, Any]]:
    """The metrics just measured, in place of their earlier figures; the others' figures kept."""
    fresh = [r.as_dict() for r in results]
    names = {r["name"] for r in fresh}
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        earlier = []
    return [r for r in earlier if isinstance(r, dict) and r.get("name") not in names] + fresh


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--pairs", type=int, default=21, help="alternating runs per cold metric")
    parser.add_argument("--only", default=",".join(PHASES), help="comma-separated: " + ",".join(PHASES))
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--load-users", type=int, default=16, help="locust users of the load phase")
    parser.add_argument("--load-seconds", type=int, default=90, help="how long the load phase runs")
    args = parser.parse_args(argv)
    phases = {p.strip() for p in args.only.split(",") if p.strip()}
    if phases - set(PHASES):
        parser.error(f"unknown phase(s): {', '.join(sorted(phases - set(PHASES)))}")
    results = run(phases, args.pairs, args.load_users, args.load_seconds)
    Path(args.output).write_text(json.dumps(merged(Path(args.output), results), ensure_ascii=False, indent=2) + "\n")
    print(table(results))
    print(highlights(results))
    print(f"-> {args.output}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

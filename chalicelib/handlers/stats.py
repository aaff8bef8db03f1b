"""Statistics (统计, issue 14 §2; docs/decisions/0037): a month's figures for admins, auditors and the
ministry (aggregates only), their export (CSV, XLSX), the full recount; and the functions behind them:
``count_stats`` (the source tables' DynamoDB streams, wired in infra/stats.py; locally
devstack/streams.py feeds it), ``recount_stats`` (the monthly recount and its steps) and
``publish_stats`` (the figures as daily metrics)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Cron, Rate

from chalicelib import errors, lazy
from chalicelib.identity import Role
from chalicelib.web import Api, Call, Param

stats = lazy.module("chalicelib.domain.stats")
recount = lazy.module("chalicelib.domain.stats_recount")
export = lazy.module("chalicelib.domain.stats_export")

bp = Blueprint(__name__)
api = Api(bp, "stats")

#: Who reads the figures: the city's admins and auditors, and the ministry above the city (aggregates only).
READERS = (Role.ADMIN.value, Role.AUDITOR.value, Role.MINISTRY.value)
ADMIN = (Role.ADMIN.value,)
MONTH = Param("month", "string", "月份（北京时间，年-月，如 2026-12；不填为本月）", pattern=r"\d{4}-\d{2}", max_length=7,
              label="月份")
FORMAT = Param("format", "enum", "文件格式：csv 或 xlsx", choices=("csv", "xlsx"), default="csv", label="文件格式")
#: A scheduled step's time (the function's timeout is 15 minutes: infra/stats.py).
RECOUNT_BUDGET_S = 780.0


def present(s: Any) -> dict[str, Any]:
    from chalicelib.config import settings

    return {"month": s.month, "city": settings().city_code, "figures": s.figures, "totals": s.totals,
            "updated_at": s.updated_at}


def present_recount(run: dict[str, Any]) -> dict[str, Any]:
    tables = [{"table": name, "pages": t["pages"], "items": t["items"], "done": t["done"]}
              for name, t in run["tables"].items()]
    return {"recount_id": run["recount_id"], "through": run["through"], "status": run["status"],
            "status_name": recount.RECOUNTS.names[recount.RecountStatus(run["status"])], "trigger": run["trigger"],
            "tables": tables, "items_read": sum(t["items"] for t in tables),
            "progress": round(sum(t["done"] for t in tables) / len(tables), 4) if tables else 1.0,
            "mismatch_count": run["mismatch_count"], "mismatches": run["mismatches"], "steps": run["steps"],
            "failure": run["error"], "started_at": run["started_at"], "heartbeat_at": run["heartbeat_at"],
            "finished_at": run["finished_at"]}


@api.route("/v1/stats", summary="统计：某月及累计的注册用户、房源、政策、申请与审核用时、线上缴费、投诉建议、年审、配租（仅汇总数据）",
           roles=READERS, params=[MONTH], response="Stats", operation_id="getStats")
def get_stats(call: Call) -> dict[str, Any]:
    """A month's figures and the totals since the start (one DynamoDB request)."""
    return present(stats.of_month(call.params["month"]))


@api.route("/v1/stats/export", summary="导出统计：某月及累计数据的 CSV 或 XLSX 文件（短时有效的下载链接）",
           roles=READERS, params=[MONTH, FORMAT], response="StatsExport", operation_id="exportStats")
def export_stats(call: Call) -> dict[str, Any]:
    """The month's figures as a file for reporting upward, behind a short-lived link."""
    return export.export(call.params["month"], call.params["format"])


@api.route("/v1/admin/stats/recounts", "POST", summary="统计复核：逐表全量重新统计，与计数逐项核对（可重复执行）",
           roles=ADMIN, body="chalicelib.bodies:StatsRecountIn", status=202, response="StatsRecount",
           operation_id="startStatsRecount")
def start_recount(call: Call) -> dict[str, Any]:
    """Start a full recount; the ``recount_stats`` job scans the tables and compares (progress below)."""
    return present_recount(recount.start(call.actor, call.model()))


@api.route("/v1/admin/stats/recounts/{recount_id}", summary="统计复核进度与结果：各表扫描进度、不一致项",
           roles=ADMIN, response="StatsRecount", raises=(errors.StatsRecountNotFound,),
           operation_id="getStatsRecount")
def get_recount(call: Call, recount_id: str) -> dict[str, Any]:
    """A recount's progress while it runs, and what it found."""
    return present_recount(recount.get(recount_id))


# --- the functions behind them ----------------------------------------------------------------------------
@bp.lambda_function(name="count_stats")
def count_stats(event: dict[str, Any], context: Any) -> dict[str, int]:
    """The source tables' stream records (both images) into the counters, each once (the marker)."""
    from chalicelib.config import settings
    from chalicelib.repositories.stats import image

    logical = {name: logical for logical, name in settings().table_names.items()}
    changes = []
    for record in event.get("Records", []):
        table_name = record.get("eventSourceARN", "").split(":table/", 1)[-1].split("/", 1)[0]
        body = record.get("dynamodb", {})
        changes.append(stats.Change(record["eventID"], logical.get(table_name, ""), image(body.get("OldImage")),
                                    image(body.get("NewImage"))))
    return stats.count(changes)


@bp.schedule(Rate(5, unit=Rate.MINUTES), name="recount_stats")
def recount_stats(event: Any) -> dict[str, Any]:
    """On the 1st (China time) the month's recount starts (once: its id is the month's); every run still
    running scans on for this invocation's time, then compares and counts its mismatches as a metric."""
    from chalicelib.domain.common import now

    if now().day == 1:
        recount.start(None)
    context = getattr(event, "context", None)  # the invocation's time left, less a margin to save and compare
    left_s = context.get_remaining_time_in_millis() / 1000 - 60 if context is not None else RECOUNT_BUDGET_S
    budget = max(1.0, min(RECOUNT_BUDGET_S, left_s))
    done = [recount.step(recount_id, budget) for recount_id in recount.running()]
    return {"runs": [{"recount_id": r["recount_id"], "status": r["status"], "mismatch_count": r["mismatch_count"]}
                     for r in done]}


@bp.schedule(Cron(30, 16, "*", "*", "?", "*"), name="publish_stats")  # 00:30 China time
def publish_stats(event: Any) -> dict[str, Any]:
    """Yesterday's month to date as CloudWatch metrics (metric_names.STATS_FIGURES): the dashboard's figures."""
    from datetime import timedelta

    from chalicelib.domain.common import now
    from chalicelib.metric_names import STATS_FIGURES
    from chalicelib.observability import daily_figures

    month = (now() - timedelta(days=1)).strftime("%Y-%m")
    figures = stats.of_month(month).figures
    published = {name: figures[key] for name, key, _ in STATS_FIGURES if figures[key] is not None}
    daily_figures({name: (published[name], unit) for name, _, unit in STATS_FIGURES if name in published})
    return {"month": month, "published": published}


@bp.schedule(Cron(0, 19, "*", "*", "?", "*"), name="export_tables")  # 03:00 China time
def export_tables(event: Any) -> dict[str, Any]:
    """The source tables' changes of the last day (DynamoDB's incremental export) into the analytics
    bucket that infra/stats.py gives this function (``ANALYTICS_BUCKET``), for Glue and Athena. The
    window ends at the hour, so a retried invocation asks for the same export (its client token)."""
    import os

    bucket = os.environ.get("ANALYTICS_BUCKET")
    if not bucket:  # the local stack has no analytics bucket
        return {"exports": []}
    from chalicelib.deps import deps

    exports = deps().stats.export_increments(list(stats.SOURCES), bucket, os.environ.get("ANALYTICS_KMS_KEY") or None)
    return {"exports": exports}

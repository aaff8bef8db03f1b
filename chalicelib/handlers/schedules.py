"""Scheduled jobs: reminders before 补正 deadlines; the monthly billing run; the payments'
sweep (orders without news, refunds, e-receipts).

``start_billing_run`` is a plain function, not a Chalice schedule: the city's EventBridge Scheduler
schedule (infra/stack.py: its day and hour from the city's rent.json, China time) invokes it. It
bills the current month; the run's id is the month's, so a retried invocation makes one run."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

bp = Blueprint(__name__)


@bp.schedule(Rate(1, unit=Rate.HOURS), name="remind_supplements")
def remind_supplements(event: Any) -> dict[str, int]:
    from chalicelib.domain.applications import remind_supplements as run

    return {"reminded": run()}


@bp.lambda_function(name="start_billing_run")
def start_billing_run(event: Any, context: Any) -> dict[str, Any]:
    from chalicelib.domain.billing_runs import start_scheduled

    run = start_scheduled()
    return {"run_id": run.run_id, "month": run.month, "status": run.status.value}


@bp.schedule(Rate(5, unit=Rate.MINUTES), name="sweep_payments")
def sweep_payments(event: Any) -> dict[str, int]:
    """Every 5 minutes: open orders past their time asked at the provider (settled or closed), refunds
    and e-receipts not confirmed asked again; only the payments with work left are read (docs/decisions/0028)."""
    from chalicelib.domain.settlement import sweep

    return sweep()

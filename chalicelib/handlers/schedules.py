"""Scheduled jobs: reminders before 补正 deadlines; the monthly billing run; the payments'
sweep (orders without news, refunds, e-receipts); rent reminders, arrears and reconciliation (daily,
China time; EventBridge's cron is UTC: docs/decisions/0029); the review campaigns' reminders (0032).

``start_billing_run`` is a plain function, not a Chalice schedule: the city's EventBridge Scheduler
schedule (infra/stack.py: its day and hour from the city's rent.json, China time) invokes it. It
bills the current month; the run's id is the month's, so a retried invocation makes one run."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Cron, Rate

from chalicelib.metric_names import HOLIDAY_CALENDAR_MISSING, UNRESOLVED_MISMATCHES

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


@bp.schedule(Cron(30, 18, "*", "*", "?", "*"), name="refresh_arrears")  # 02:30 China time
def refresh_arrears(event: Any) -> dict[str, Any]:
    """Every estate's arrears recomputed from its overdue bills (flags the leases at the city's months)."""
    from chalicelib.domain import arrears

    return arrears.as_dict(arrears.refresh_all())


@bp.schedule(Cron(0, 1, "*", "*", "?", "*"), name="rent_reminders")  # 09:00 China time
def rent_reminders(event: Any) -> dict[str, Any]:
    """The tenants of unpaid bills due today, or due the city's reminder days ago, are reminded once."""
    from chalicelib.domain import arrears

    return arrears.as_dict(arrears.send_reminders())


@bp.schedule(Cron(30, 1, "*", "*", "?", "*"), name="review_notices")  # 09:30 China time
def review_notices(event: Any) -> dict[str, Any]:
    """Each review campaign with a reminder due today starts its reminder pass (once: its id is the
    campaign's and the day's); the campaigns past their deadline are listed (docs/decisions/0032)."""
    from dataclasses import asdict

    from chalicelib.domain import review_campaigns

    return asdict(review_campaigns.send_notices())


@bp.schedule(Cron(30, 2, "*", "*", "?", "*"), name="reconcile_statements")  # 10:30 China time
def reconcile_statements(event: Any) -> dict[str, Any]:
    """Yesterday's statement of every provider (and a missed or failed day before), then the count
    of unresolved mismatches as a metric: the alarm goes off while it is above zero."""
    from chalicelib.domain import reconciliation
    from chalicelib.observability import daily_count

    runs = reconciliation.daily()
    unresolved = reconciliation.unresolved()
    daily_count(UNRESOLVED_MISMATCHES, unresolved)
    return {"runs": [{"reconciliation_id": r.run_id, "status": r.status.value} for r in runs],
            "unresolved": unresolved}


@bp.schedule(Cron(0, 0, "*", "*", "?", "*"), name="holiday_calendar_check")  # 08:00 China time
def holiday_calendar_check(event: Any) -> dict[str, Any]:
    """The years whose holiday arrangement is missing (this year; in December, next year too) counted as
    a metric: the alarm goes off while it is above zero, until an admin enters the year (docs/decisions/0035)."""
    from chalicelib.domain import holiday_calendars
    from chalicelib.observability import daily_count, logger

    missing = holiday_calendars.missing()
    daily_count(HOLIDAY_CALENDAR_MISSING, len(missing))
    if missing:
        logger.warning("holiday arrangement missing: enter it at PUT /v1/admin/holiday-calendars/{year}",
                       extra={"years": missing})
    return {"missing": missing}

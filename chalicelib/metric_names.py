"""Every CloudWatch metric the app emits, by name: one place, so the code that counts an event and
the alarm or dashboard widget that watches it (infra/stack.py) cannot drift apart.

Namespace ``PublicHousing`` (observability.metrics), dimensions ``service`` and ``city``. A name
here is a business event or a daily figure; add yours to its section, with what it counts."""
from __future__ import annotations

# --- the API (app.py's middleware, per response) -------------------------------------------------
#: ``Http2xx``, ``Http4xx``, ``Http5xx``: one per answered request, by status class.
HTTP_STATUS_CLASS = "Http{digit}xx"

# --- rent (docs/decisions/0029) --------------------------------------------------------------------
#: Counted once a day by the reconciliation job; the alarm goes off while it is above zero.
UNRESOLVED_MISMATCHES = "ReconciliationMismatchesUnresolved"

# --- every function (app.py's middleware) ----------------------------------------------------------
#: One per container, on its first invocation, with a ``function_name`` dimension (service, city,
#: function_name): how often each function starts cold (the dashboard's cold starts per function).
COLD_START = "ColdStart"

# --- the departments (chalicelib/departments: one data point per call) -----------------------------
#: 0 or 1 per call (service, city, department): its Average is the department's error rate, its
#: SampleCount the number of calls.
DEPARTMENT_ERRORS = "DepartmentErrors"
#: Milliseconds per call, answered or failed (service, city, department).
DEPARTMENT_LATENCY = "DepartmentLatency"

# --- business events (service, city; counted where the event happens, flushed per invocation) ------
#: An application submitted (or resubmitted after 补正) by its applicant: domain/applications.submit.
APPLICATIONS_SUBMITTED = "ApplicationsSubmitted"
#: A joint verification decided (a recommendation recorded): domain/verification.decide.
VERIFICATIONS_DECIDED = "VerificationsDecided"
#: A payment settled, online (the provider's notice or the sweep) or at the counter: domain/settlement.
PAYMENTS_SETTLED = "PaymentsSettled"
#: The money of the settled payments, in fen (分).
PAYMENTS_SETTLED_FEN = "PaymentsSettledFen"
#: A billing run started (by an admin or the monthly schedule; a retried schedule counts again).
BILLING_RUNS_STARTED = "BillingRunsStarted"
#: Bills written by a billing run's worker (a redelivered page's bills are not counted twice).
BILLS_ISSUED = "BillsIssued"

# --- holiday calendars (docs/decisions/0035) ---------------------------------------------------------
#: Counted once a day by ``holiday_calendar_check``: the years whose holiday arrangement is missing (this
#: year if neither the package nor a complete override knows it; in December, next year too); the alarm
#: goes off while it is above zero.
HOLIDAY_CALENDAR_MISSING = "HolidayCalendarMissing"

# --- the service desk (docs/decisions/0034): the breach sweep counts, each run ---------------------------
#: Open tickets past a deadline (first reply or resolution) when the sweep ran: a gauge, not a sum.
TICKETS_PAST_DEADLINE = "TicketsPastDeadline"
#: Escalations the sweep wrote in one run (to a team lead, or to the bureau): each ticket and level once.
TICKETS_ESCALATED = "TicketsEscalated"


def http_status_class(status: int) -> str:
    return HTTP_STATUS_CLASS.format(digit=str(status)[0])


# --- statistics (统计, docs/decisions/0037) -------------------------------------------------------------
#: Counted at the end of each full recount: counters that disagree with the recount (0 when they agree).
#: The alarm goes off at 1 or more.
STATS_RECOUNT_MISMATCHES = "StatsRecountMismatches"
#: The ministry's figures, month to date, published once a day by the ``publish_stats`` job (China
#: time): (metric name, the figure's key in ``GET /v1/stats``, unit). The dashboard reads this list.
STATS_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("StatsRegisteredUsers", "registered_users", "Count"),
    ("StatsUnitsListed", "units_listed", "Count"),
    ("StatsPoliciesPublished", "policies_published", "Count"),
    ("StatsApplicationsSubmitted", "applications_submitted", "Count"),
    ("StatsApplicationsApproved", "applications_approved", "Count"),
    ("StatsApprovalDaysAvg", "approval_days_avg", "None"),
    ("StatsApprovalDaysP90", "approval_days_p90", "None"),
    ("StatsPaymentsOnline", "payments_online_count", "Count"),
    ("StatsPaymentsOnlineAmountFen", "payments_online_amount", "None"),
    ("StatsComplaints", "complaints", "Count"),
    ("StatsSuggestions", "suggestions", "Count"),
    ("StatsFeedbackOnTimeRate", "feedback_on_time_rate", "None"),
    ("StatsFeedbackRatingAvg", "feedback_rating_avg", "None"),
    ("StatsReviewsDecided", "reviews_decided", "Count"),
    ("StatsHouseholdsHoused", "households_housed", "Count"),
)

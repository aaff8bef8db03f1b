"""Route blueprints, one module per concept. Handlers only translate: parse, call, shape."""
from chalicelib.handlers import (
    applications,
    areas,
    arrears,
    audit,
    billing_runs,
    case_review,
    bills,
    estates,
    exports,
    facilities,
    grants,
    groups,
    holiday_calendars,
    households,
    imports,
    intake,
    leases,
    lottery,
    meta,
    move_outs,
    payments,
    policies,
    privacy,
    publicity,
    real_name,
    reconciliation,
    renewals,
    review_campaigns,
    reviews,
    rule_versions,
    schedules,
    selection,
    self_assessment,
    tickets,
    stats,
    units,
    verification,
    waiting_list,
    workers,
)

BLUEPRINTS = [
    meta.bp, areas.bp, estates.bp, units.bp, facilities.bp, policies.bp, self_assessment.bp, rule_versions.bp,
    households.bp, grants.bp, applications.bp, intake.bp, audit.bp, case_review.bp, groups.bp, publicity.bp, waiting_list.bp,
    verification.bp,
    lottery.bp, selection.bp, leases.bp, bills.bp, billing_runs.bp, payments.bp,
    arrears.bp, reconciliation.bp, move_outs.bp, reviews.bp, review_campaigns.bp,
    workers.bp, schedules.bp,
    privacy.bp,
]
BLUEPRINTS.insert(BLUEPRINTS.index(households.bp) + 1, real_name.bp)
BLUEPRINTS.insert(BLUEPRINTS.index(leases.bp) + 1, renewals.bp)
BLUEPRINTS.insert(BLUEPRINTS.index(workers.bp), holiday_calendars.bp)
BLUEPRINTS.insert(BLUEPRINTS.index(workers.bp), tickets.bp)
BLUEPRINTS.insert(BLUEPRINTS.index(workers.bp), stats.bp)
BLUEPRINTS.insert(BLUEPRINTS.index(workers.bp), imports.bp)
BLUEPRINTS.insert(BLUEPRINTS.index(workers.bp), exports.bp)

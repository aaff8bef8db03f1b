"""Route blueprints, one module per concept. Handlers only translate: parse, call, shape."""
from chalicelib.handlers import (
    applications,
    areas,
    arrears,
    audit,
    billing_runs,
    bills,
    estates,
    facilities,
    grants,
    groups,
    households,
    intake,
    leases,
    lottery,
    meta,
    payments,
    policies,
    publicity,
    real_name,
    reconciliation,
    renewals,
    review,
    rule_versions,
    schedules,
    selection,
    self_assessment,
    units,
    verification,
    waiting_list,
    workers,
)

BLUEPRINTS = [
    meta.bp, areas.bp, estates.bp, units.bp, facilities.bp, policies.bp, self_assessment.bp, rule_versions.bp,
    households.bp, grants.bp, applications.bp, intake.bp, audit.bp, review.bp, groups.bp, publicity.bp, waiting_list.bp,
    verification.bp,
    lottery.bp, selection.bp, leases.bp, bills.bp, billing_runs.bp, payments.bp,
    arrears.bp, reconciliation.bp,
    workers.bp, schedules.bp,
]
BLUEPRINTS.insert(BLUEPRINTS.index(households.bp) + 1, real_name.bp)
BLUEPRINTS.insert(BLUEPRINTS.index(leases.bp) + 1, renewals.bp)

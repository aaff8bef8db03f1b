"""Route blueprints, one module per concept. Handlers only translate: parse, call, shape."""
from chalicelib.handlers import (
    areas, estates, facilities, meta, policies, self_assessment, units, workers, applications, me, staff, schedules,
)
from chalicelib.handlers import employer


BLUEPRINTS = [
    meta.bp, areas.bp, estates.bp, units.bp, facilities.bp, policies.bp, self_assessment.bp, workers.bp, me.bp, applications.bp, staff.bp, schedules.bp,
    employer.bp,
]

"""The annual review's errors (年审, issue 12 §1, docs/decisions/0031), beside errors.py (at its size
limit) and built on its bases; error_table.py gives each its status, code and zh-CN message."""
from __future__ import annotations

from chalicelib.errors import Conflict, IllegalTransition, InvalidInput, NotFound


class ReviewAlreadyAnswered(IllegalTransition):
    """The household answered this review already (or the departments are answering it)."""


class ReviewDeadlinePassed(Conflict):
    """The review's deadline has passed: the household answers at the counter (staff), not in the app."""


class ReviewAlreadyDecided(IllegalTransition):
    """Staff confirmed this review's outcome already."""


class ReviewNotRecommended(IllegalTransition):
    """The review has no recommendation to confirm yet (still open or verifying)."""


class OutcomeNeeded(InvalidInput):
    """A manual recommendation (or a change of outcome) needs the outcome staff choose and a reason."""


class ReviewConsentNotNeeded(NotFound):
    """The caller is not an adult member of the reviewed household, or the review takes no consent now."""


class ReviewNotObjectionable(Conflict):
    """An objection (复核) is filed once, against a decided outcome."""

"""Scheduled jobs: reminders before 补正 deadlines."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

bp = Blueprint(__name__)


@bp.schedule(Rate(1, unit=Rate.HOURS), name="remind_supplements")
def remind_supplements(event: Any) -> dict[str, int]:
    from chalicelib.domain.applications import remind_supplements as run

    return {"reminded": run()}

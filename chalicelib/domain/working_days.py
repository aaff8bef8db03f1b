"""Working days (工作日) in mainland China, and the days rent reminders go out on.

A working day is what the State Council's holiday arrangement says: weekends and public holidays are
off, make-up working days (调休, a Saturday or Sunday) are on. The ``chinesecalendar`` package
(``import chinese_calendar``) carries the arrangement from 2004 to the last year it was released
for (2026 in 1.11). The city's admin enters a year it does not know yet (or corrects one it knows)
as an override (domain/holiday_calendars.py, docs/decisions/0035): an override wins. Overrides are
read once per year per Lambda container and kept ``OVERRIDE_TTL_S`` seconds (a write in this
process forgets its year at once); a year neither knows falls back to Monday-Friday with one
warning per year.

Reminders (docs/decisions/0029): the one at offset 0 goes out on the due date, and the one at offset
``k`` on the ``k``-th day after it. In working-day mode both land on working days only: offset 0
on the due date if it is a working day, else on the next working day; offset ``k`` on the ``k``-th
working day after the due date.
"""
from __future__ import annotations

import time
from datetime import date, timedelta
from functools import cache
from typing import Any

from chalicelib.deps import deps

#: How long a Lambda container trusts the overrides it read (another container's write shows after it).
OVERRIDE_TTL_S = 300.0

_warned: set[int] = set()
#: year -> (the container it was read from, read at (monotonic), (holidays, make-up days) or None)
_overrides: dict[int, tuple[Any, float, tuple[frozenset[date], frozenset[date]] | None]] = {}


@cache
def package_years() -> tuple[int, int]:
    """The first and the last year the chinesecalendar package knows (2004 and 2026 in 1.11)."""
    from chinese_calendar import constants

    return min(constants.holidays).year, max(constants.holidays).year


def package_knows(year: int) -> bool:
    first, last = package_years()
    return first <= year <= last


def _override(year: int) -> tuple[frozenset[date], frozenset[date]] | None:
    """The city's override of ``year`` as (holidays, make-up days): one read per year per TTL."""
    container = deps()
    cached = _overrides.get(year)
    if cached is not None and cached[0] is container and time.monotonic() - cached[1] < OVERRIDE_TTL_S:
        return cached[2]
    found = container.holiday_calendars.get(year)
    value = None if found is None else (frozenset(date.fromisoformat(d.day) for d in found.holidays),
                                        frozenset(date.fromisoformat(d.day) for d in found.make_up_days))
    _overrides[year] = (container, time.monotonic(), value)
    return value


def clear_cache() -> None:
    """Forget every year's override read (tests that measure a cold read)."""
    _overrides.clear()


def forget(year: int) -> None:
    """An override of ``year`` was written: read it again on next use."""
    _overrides.pop(year, None)


def is_working_day(day: date) -> bool:
    override = _override(day.year)
    if override is not None:
        holidays, make_up = override
        return day in make_up or (day.weekday() < 5 and day not in holidays)
    if package_knows(day.year):
        import chinese_calendar

        return bool(chinese_calendar.is_workday(day))
    if day.year not in _warned:
        _warned.add(day.year)
        from chalicelib.observability import logger

        logger.warning("no holiday arrangement known for this year: Monday to Friday are working days",
                       extra={"year": day.year})
    return day.weekday() < 5


def next_working_day(day: date) -> date:
    """``day`` itself if it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(day: date, count: int) -> date:
    """The ``count``-th working day after ``day`` (``day`` itself not counted): a ticket filed on
    ``day`` with a deadline of ``count`` working days is due by the end of that day. ``count`` 0 is
    ``day`` itself if it is a working day, else the next working day."""
    if count <= 0:
        return next_working_day(day)
    counted = 0
    while counted < count:
        day += timedelta(days=1)
        counted += is_working_day(day)
    return day


def reminder_day(due: date, offset: int, working_days: bool) -> date:
    """The day the reminder ``offset`` days after ``due`` goes out."""
    if not working_days:
        return due + timedelta(days=offset)
    return add_working_days(due, offset)


def due_dates_reminded_on(today: date, offset: int, working_days: bool) -> tuple[date, date] | None:
    """The due dates whose reminder at ``offset`` goes out ``today``, as an inclusive range (first,
    last), or None when no reminder goes out today (a day off, in working-day mode).

    ``reminder_day`` never decreases as the due date grows, so the due dates that map to one day are
    consecutive: a weekend and a holiday before a working day all remind on it."""
    if not working_days:
        due = today - timedelta(days=offset)
        return due, due
    if not is_working_day(today):
        return None
    last = today
    while reminder_day(last, offset, True) > today:  # offset > 0: the due date is before today
        last -= timedelta(days=1)
    if reminder_day(last, offset, True) != today:
        return None
    first = last
    while reminder_day(first - timedelta(days=1), offset, True) == today:
        first -= timedelta(days=1)
    return first, last

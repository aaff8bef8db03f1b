"""Working days (工作日) in mainland China, and the days rent reminders go out on.

A working day is what the State Council's holiday arrangement says: weekends and public holidays are
off, make-up working days (调休, a Saturday or Sunday) are on. The ``chinesecalendar`` package
(``import chinese_calendar``) carries the arrangement from 2004 to the last year it was released
for (2026 in 1.11); for a year it does not know yet it raises NotImplementedError, and this module
falls back to Monday-Friday with one warning per year (a later issue adds the city's overrides).

Reminders (docs/decisions/0029): the one at offset 0 goes out on the due date, and the one at offset
``k`` on the ``k``-th day after it. In working-day mode both land on working days only: offset 0
on the due date if it is a working day, else on the next working day; offset ``k`` on the ``k``-th
working day after the due date.
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

_warned: set[int] = set()


@lru_cache(maxsize=4096)
def is_working_day(day: date) -> bool:
    try:
        import chinese_calendar

        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
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

"""Holiday calendars (法定节假日安排): each year's public holidays and make-up working days (调休), from
the ``chinesecalendar`` package for the years it knows and from the city's overrides, entered by an
admin, for the years it does not know yet (or to correct one it knows). docs/decisions/0035.

An override is a year's whole arrangement: for that year it replaces the package (a correction is
the package's year, read here, edited and put back). Its rules, checked on every write:

- every date lies in the calendar's year, once, and is not both a holiday and a make-up day;
- a make-up working day is a Saturday or a Sunday (a weekday is a working day anyway);
- the holidays are not weekend days only (a holiday period always takes at least one weekday off);
- ``complete`` says the State Council's arrangement for the year is entered in full; a partial one
  (e.g. only New Year's Day, fixed by 全国年节及纪念日放假办法, before the arrangement is published)
  still counts as missing for the alarm; an override of a year the package knows must be complete.

working_days.is_working_day reads the overrides (cached per year, forgotten here on a write); the
daily ``holiday_calendar_check`` job counts the missing years (``missing``) as a metric with an alarm.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import common, working_days
from chalicelib.domain.common import expect_version, now_iso

if TYPE_CHECKING:
    from chalicelib.bodies import HolidayCalendarIn
    from chalicelib.identity import Actor

#: The years an override may be entered for.
FIRST_YEAR, LAST_YEAR = 2004, 2099
#: The most working days the calculator counts (about a year).
MAX_ADD = 250


class HolidayName(StrEnum):
    """The public holidays of 全国年节及纪念日放假办法, and ``other`` for a one-off (e.g. 2015's 9 月 3 日)."""

    NEW_YEARS_DAY = "new_years_day"
    SPRING_FESTIVAL = "spring_festival"
    TOMB_SWEEPING_DAY = "tomb_sweeping_day"
    LABOUR_DAY = "labour_day"
    DRAGON_BOAT_FESTIVAL = "dragon_boat_festival"
    MID_AUTUMN_FESTIVAL = "mid_autumn_festival"
    NATIONAL_DAY = "national_day"
    OTHER = "other"


HOLIDAY_NAMES = {
    HolidayName.NEW_YEARS_DAY: "元旦", HolidayName.SPRING_FESTIVAL: "春节", HolidayName.TOMB_SWEEPING_DAY: "清明节",
    HolidayName.LABOUR_DAY: "劳动节", HolidayName.DRAGON_BOAT_FESTIVAL: "端午节",
    HolidayName.MID_AUTUMN_FESTIVAL: "中秋节", HolidayName.NATIONAL_DAY: "国庆节", HolidayName.OTHER: "其他",
}


class Source(StrEnum):
    OVERRIDE = "override"  # entered by the city's admin (wins over the package)
    PACKAGE = "package"  # the chinesecalendar package
    NONE = "none"  # nobody knows the year: Monday to Friday are working days


SOURCE_NAMES = {Source.OVERRIDE: "本市录入", Source.PACKAGE: "内置日历（chinesecalendar）",
                Source.NONE: "缺失（按周一至周五计算工作日）"}


@dataclass(frozen=True)
class Day:
    day: str  # ISO date
    name: HolidayName


@dataclass(frozen=True)
class HolidayCalendar:
    year: int
    holidays: tuple[Day, ...]
    make_up_days: tuple[Day, ...]
    complete: bool
    source: Source = Source.OVERRIDE
    note: str | None = None
    version: int = 0
    updated_at: str | None = None
    updated_by: str | None = None

    @property
    def known(self) -> bool:
        """The year's arrangement is there in full (the alarm's question)."""
        return self.source is Source.PACKAGE or (self.source is Source.OVERRIDE and self.complete)


# --- reading ------------------------------------------------------------------------------------------
def check_year(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise errors.InvalidInput("year out of range", field="year",
                                  message=f"年度应在 {FIRST_YEAR} 至 {LAST_YEAR} 之间")
    return year


def parse_year(raw: str) -> int:
    if not raw.isdigit() or len(raw) != 4:
        raise errors.InvalidInput("not a year", field="year", message="年度应为四位数字，如 2027")
    return check_year(int(raw))


def package_calendar(year: int) -> HolidayCalendar | None:
    """The package's arrangement of ``year`` (None for a year it does not know)."""
    if not working_days.package_knows(year):
        return None
    from chinese_calendar import constants

    # the package's values are its Holiday enum's English values ("New Year's Day"); its names are ours
    names = {h.value: HolidayName(h.name) if h.name in _OURS else HolidayName.OTHER for h in constants.Holiday}

    def days(source: dict[date, str]) -> tuple[Day, ...]:
        return tuple(Day(d.isoformat(), names.get(v, HolidayName.OTHER))
                     for d, v in sorted(source.items()) if d.year == year)

    return HolidayCalendar(year, days(constants.holidays), days(constants.workdays), True, Source.PACKAGE)


_OURS = frozenset(name.value for name in HolidayName)


def get(year: int) -> HolidayCalendar:
    """The year's arrangement as the working days count it: the override, else the package's, else none."""
    check_year(year)
    return deps().holiday_calendars.get(year) or package_calendar(year) or \
        HolidayCalendar(year, (), (), False, Source.NONE)


def listing(today: date | None = None) -> list[HolidayCalendar]:
    """Every year known (the package's, the overrides), and this year and next year even if unknown."""
    today = today or common.now().date()
    overrides = {c.year: c for c in deps().holiday_calendars.all()}
    first, last = working_days.package_years()
    years = set(range(first, last + 1)) | set(overrides)
    years |= {today.year, today.year + 1}
    return [overrides.get(y) or package_calendar(y) or HolidayCalendar(y, (), (), False, Source.NONE)
            for y in sorted(years)]


def missing(today: date | None = None, calendars: list[HolidayCalendar] | None = None) -> list[int]:
    """The years whose arrangement is missing (not complete): this year always, next year in December
    (the State Council publishes it around late November). The alarm's figure is how many."""
    today = today or common.now().date()
    wanted = [today.year] + ([today.year + 1] if today.month == 12 else [])
    found = {c.year: c for c in calendars or []}
    return [y for y in wanted if not (found.get(y) or get(y)).known]


# --- writing ------------------------------------------------------------------------------------------
def put(year: int, data: HolidayCalendarIn, actor: Actor) -> HolidayCalendar:
    """Enter (version 0) or replace (the version read) the year's override, after the rules above."""
    check_year(year)
    holidays = _days(year, data.holidays, "holidays")
    make_up = _days(year, data.make_up_days, "make_up_days")
    _check(year, holidays, make_up, data.complete)
    current = deps().holiday_calendars.get(year)
    expect_version(current.version if current else 0, data.version)
    calendar = HolidayCalendar(year, holidays, make_up, data.complete, Source.OVERRIDE, data.note,
                               current.version if current else 0, now_iso(), actor.subject)
    saved = deps().holiday_calendars.save(calendar, new=current is None)
    working_days.forget(year)
    return saved


def _invalid(detail: str, where: str, message: str) -> errors.HolidayCalendarInvalid:
    return errors.HolidayCalendarInvalid(detail, field=where, message=message)


def _days(year: int, given: list[Any], where: str) -> tuple[Day, ...]:
    out: list[Day] = []
    for i, item in enumerate(given):
        try:
            day = date.fromisoformat(item.date)
        except ValueError:
            raise _invalid("not a date", f"{where}[{i}].date", f"{item.date} 不是有效的日期") from None
        if day.year != year:
            raise _invalid("another year", f"{where}[{i}].date", f"{item.date} 不在 {year} 年内")
        out.append(Day(day.isoformat(), HolidayName(item.name)))
    twice = [d for d, n in Counter(d.day for d in out).items() if n > 1]
    if twice:
        raise _invalid("a date twice", where, f"{twice[0]} 重复录入")
    return tuple(sorted(out, key=lambda d: d.day))


def _check(year: int, holidays: tuple[Day, ...], make_up: tuple[Day, ...], complete: bool) -> None:
    both = sorted({d.day for d in holidays} & {d.day for d in make_up})
    if both:
        raise _invalid("holiday and make-up day", "make_up_days", f"{both[0]} 不能既是放假日又是调休上班日")
    weekday = [d.day for d in make_up if date.fromisoformat(d.day).weekday() < 5]
    if weekday:
        raise _invalid("make-up day on a weekday", "make_up_days",
                       f"{weekday[0]} 是工作日，调休上班日应为周六或周日")
    if holidays and all(date.fromisoformat(d.day).weekday() >= 5 for d in holidays):
        raise _invalid("weekends only", "holidays", "放假日期全是周六、周日，不改变任何工作日，请核对")
    if working_days.package_knows(year) and not complete:
        raise _invalid("partial correction", "complete",
                       f"内置日历已有 {year} 年的安排：更正须录入全年完整安排（complete 为 true）")


# --- the calculator -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Count:
    """``add`` working days after ``start``: the day reached and what was skipped or counted on the way."""

    start: date
    add: int
    result: date
    holidays: list[tuple[date, HolidayName]] = field(default_factory=list)  # days off skipped (not weekends)
    make_up_days: list[tuple[date, HolidayName]] = field(default_factory=list)  # weekend days counted (调休)
    weekend_days: int = 0
    calendars: list[HolidayCalendar] = field(default_factory=list)  # the years crossed, and where each is from


def count(start: date, add: int) -> Count:
    """The ``add``-th working day after ``start`` (working_days.add_working_days), with the holidays it
    skipped and the make-up days it counted, named from the years' calendars."""
    if not 0 <= add <= MAX_ADD:
        raise errors.InvalidInput("add out of range", field="add", message=f"工作日天数应在 0 至 {MAX_ADD} 之间")
    check_year(start.year)
    result = working_days.add_working_days(start, add)
    calendars = [get(y) for y in range(start.year, result.year + 1)]
    names = {date.fromisoformat(d.day): d.name for c in calendars for d in c.holidays}
    make_up = {date.fromisoformat(d.day): d.name for c in calendars for d in c.make_up_days}
    skipped: list[tuple[date, HolidayName]] = []
    counted: list[tuple[date, HolidayName]] = []
    weekend = 0
    day = start if add == 0 else start + timedelta(days=1)
    while day <= result:
        if day in make_up:
            counted.append((day, make_up[day]))
        elif not working_days.is_working_day(day):
            if day in names:
                skipped.append((day, names[day]))
            else:
                weekend += 1
        day += timedelta(days=1)
    return Count(start, add, result, skipped, counted, weekend, calendars)


def parse_day(raw: str, where: str = "from") -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise errors.InvalidInput("not a date", field=where, message=f"{raw} 不是有效的日期") from None

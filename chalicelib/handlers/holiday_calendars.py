"""Holiday calendars (法定节假日安排): admins see each year's arrangement and where it comes from, and
enter the years the chinesecalendar package does not know yet (or correct one); staff and admins
count working days across them (a deadline told on the phone). docs/decisions/0035."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import errors
from chalicelib.domain import holiday_calendars
from chalicelib.domain.holiday_calendars import HOLIDAY_NAMES, SOURCE_NAMES, Day, HolidayCalendar
from chalicelib.handlers.roles import ADMIN, CASE_STAFF
from chalicelib.web import Api, Call, Param

bp = Blueprint(__name__)
api = Api(bp, "holiday_calendars")

FROM = Param("from", "string", "起算日期（YYYY-MM-DD，当日不计）", required=True, pattern=r"\d{4}-\d{2}-\d{2}",
             max_length=10, label="起算日期")
ADD = Param("add", "integer", "工作日天数（第几个工作日）", required=True, minimum=0, maximum=holiday_calendars.MAX_ADD,
            label="工作日天数")


def present_day(d: Day) -> dict[str, Any]:
    return {"date": d.day, "name": d.name.value, "name_zh": HOLIDAY_NAMES[d.name]}


def _source(c: HolidayCalendar) -> dict[str, Any]:
    return {"source": c.source.value, "source_name": SOURCE_NAMES[c.source], "complete": c.complete, "known": c.known}


def present(c: HolidayCalendar) -> dict[str, Any]:
    return {"year": c.year, **_source(c), "holidays": [present_day(d) for d in c.holidays],
            "make_up_days": [present_day(d) for d in c.make_up_days], "note": c.note, "version": c.version,
            "updated_at": c.updated_at, "updated_by": c.updated_by}


@api.route("/v1/admin/holiday-calendars", summary="节假日安排：各年度的来源（本市录入、内置日历、缺失）与缺失的年度",
           roles=ADMIN, response="HolidayCalendarList", operation_id="listHolidayCalendars")
def list_calendars(call: Call) -> dict[str, Any]:
    """Every year known and where from, this year and next year even if missing, and the missing years."""
    calendars = holiday_calendars.listing()
    return {"items": [{"year": c.year, **_source(c), "holidays": len(c.holidays), "make_up_days": len(c.make_up_days),
                       "version": c.version, "updated_at": c.updated_at} for c in calendars],
            "missing": holiday_calendars.missing(calendars=calendars)}


@api.route("/v1/admin/holiday-calendars/{year}", summary="某年度的节假日安排（放假日期、调休上班日期）及其来源",
           roles=ADMIN, response="HolidayCalendar", operation_id="getHolidayCalendar")
def get_calendar(call: Call, year: str) -> dict[str, Any]:
    """A year's holidays and make-up working days as working days count them, and where they come from."""
    return present(holiday_calendars.get(holiday_calendars.parse_year(year)))


@api.route("/v1/admin/holiday-calendars/{year}", "PUT", summary="录入或更正某年度的节假日安排（整年替换，带版本号）",
           roles=ADMIN, body="chalicelib.bodies:HolidayCalendarIn", response="HolidayCalendar",
           raises=(errors.HolidayCalendarInvalid, errors.StaleVersion), operation_id="putHolidayCalendar")
def put_calendar(call: Call, year: str) -> dict[str, Any]:
    """Enter (version 0) or replace (the version read) a year's arrangement; it wins over the package."""
    body = call.model()  # the body's problems first, then the year's
    return present(holiday_calendars.put(holiday_calendars.parse_year(year), body, call.actor))


@api.route("/v1/working-days", summary="工作日计算：某日之后第 N 个工作日，及途经的放假日与调休上班日",
           roles=CASE_STAFF, params=[ADD, FROM], response="WorkingDayCount", operation_id="countWorkingDays")
def count_working_days(call: Call) -> dict[str, Any]:
    """The N-th working day after a date (a deadline in working days), with the holidays it skips."""
    found = holiday_calendars.count(holiday_calendars.parse_day(call.params["from"]), call.params["add"])
    return {"from": found.start.isoformat(), "add": found.add, "date": found.result.isoformat(),
            "holidays_skipped": [present_day(Day(d.isoformat(), n)) for d, n in found.holidays],
            "make_up_days_counted": [present_day(Day(d.isoformat(), n)) for d, n in found.make_up_days],
            "weekend_days_skipped": found.weekend_days,
            "calendars": [{"year": c.year, "source": c.source.value, "source_name": SOURCE_NAMES[c.source]}
                          for c in found.calendars]}

"""Holiday calendars (法定节假日安排, issue 13; docs/decisions/0035).

First the domain on the in-memory twin: an override wins over the chinesecalendar package (a
correction) and fills a year it does not know; every year the package knows passes the rules as a
correction; the working days read an override once per year until the TTL or a write; the years the
alarm counts as missing. Then through the API on the local stack: an admin enters 2027, reads it
back, loses a version race with a 409; bad calendars are 400s naming the date and the rule; the
working-day calculator across National Day and New Year's Day; the daily job's metric in December
with and without next year's calendar.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterator

import pytest

from chalicelib import deps as deps_module
from chalicelib.domain import holiday_calendars, working_days
from chalicelib.domain.common import CHINA_TZ
from chalicelib.domain.holiday_calendars import HolidayName, Source
from chalicelib.identity import Actor, Role
from tests.applying import call

ADMIN = Actor(subject="sub_admin_calendar", roles=frozenset({Role.ADMIN}), city="jiangmen", claims={})
NEW_YEAR_2027 = {"version": 0, "complete": False, "holidays": [{"date": "2027-01-01", "name": "new_years_day"}],
                 "note": "全国年节及纪念日放假办法：元旦放假 1 天"}
#: The years the API tests write in the worker's shared tables: removed after each test.
TOUCHED = (2026, 2027, 2028)


def body(data: dict[str, Any]) -> Any:
    from chalicelib.validation import parse

    return parse("chalicelib.bodies:HolidayCalendarIn", data)


@pytest.fixture()
def twin() -> Iterator[Any]:
    from tests.twins import memory_container

    container = memory_container()
    with deps_module.use(container):
        yield container.holiday_calendars
    for year in TOUCHED:
        working_days.forget(year)


def december(monkeypatch: pytest.MonkeyPatch, day: date = date(2026, 12, 1)) -> None:
    from chalicelib.domain import common

    monkeypatch.setattr(common, "now", lambda: datetime(day.year, day.month, day.day, 9, 0, tzinfo=CHINA_TZ))


# --- the domain, on the twin ------------------------------------------------------------------------------
def test_an_override_fills_a_year_the_package_does_not_know(twin: Any) -> None:
    assert working_days.is_working_day(date(2027, 1, 1))  # a Friday: Monday-Friday fallback, nobody knows 2027
    entered = holiday_calendars.put(2027, body(NEW_YEAR_2027), ADMIN)
    assert entered.version == 1 and entered.source is Source.OVERRIDE and not entered.complete
    assert not working_days.is_working_day(date(2027, 1, 1))
    assert working_days.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert holiday_calendars.get(2027) == entered and holiday_calendars.get(2028).source is Source.NONE


def test_an_override_wins_over_the_package_for_a_year_it_knows(twin: Any) -> None:
    package = holiday_calendars.get(2026)
    assert package.source is Source.PACKAGE and package.version == 0 and not working_days.is_working_day(date(2026, 10, 5))
    assert working_days.is_working_day(date(2026, 10, 9))  # a Friday after National Day
    days = [{"date": d.day, "name": d.name.value} for d in package.holidays]
    corrected = {"version": 0, "complete": True, "holidays": days + [{"date": "2026-10-09", "name": "national_day"}],
                 "make_up_days": [{"date": d.day, "name": d.name.value} for d in package.make_up_days]}
    holiday_calendars.put(2026, body(corrected), ADMIN)
    assert not working_days.is_working_day(date(2026, 10, 9))  # the correction, at once in this container
    assert working_days.is_working_day(date(2026, 10, 10))  # the make-up Saturday, kept from the package
    assert holiday_calendars.get(2026).source is Source.OVERRIDE


def test_every_year_the_package_knows_passes_the_rules_as_a_correction(twin: Any) -> None:
    first, last = working_days.package_years()
    assert (first, last) == (2004, 2026)
    for year in range(first, last + 1):
        package = holiday_calendars.package_calendar(year)
        assert package is not None
        days = {"version": 0, "complete": True,
                "holidays": [{"date": d.day, "name": d.name.value} for d in package.holidays],
                "make_up_days": [{"date": d.day, "name": d.name.value} for d in package.make_up_days]}
        saved = holiday_calendars.put(year, body(days), ADMIN)
        for offset in range(0, 366, 5):  # the same working days as the package's own answer
            day = date(year, 1, 1).fromordinal(date(year, 1, 1).toordinal() + offset)
            if day.year == year:
                import chinese_calendar

                assert working_days.is_working_day(day) == chinese_calendar.is_workday(day), day
        assert saved.holidays == package.holidays and saved.make_up_days == package.make_up_days
        working_days.forget(year)


def test_the_working_days_read_an_override_once_per_year_until_the_ttl_or_a_write(
        twin: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = {"t": 1000.0}
    monkeypatch.setattr(working_days.time, "monotonic", lambda: clock["t"])
    holiday_calendars.put(2027, body(NEW_YEAR_2027), ADMIN)
    twin.reads = 0
    assert working_days.add_working_days(date(2027, 1, 1), 40) == date(2027, 2, 26)  # 40 days of 2027: one read
    assert twin.reads == 1
    working_days.add_working_days(date(2028, 1, 1), 10)
    assert twin.reads == 2  # another year: its own read
    clock["t"] += working_days.OVERRIDE_TTL_S - 1
    working_days.is_working_day(date(2027, 3, 1))
    assert twin.reads == 2  # still fresh
    clock["t"] += 2
    working_days.is_working_day(date(2027, 3, 1))
    assert twin.reads == 3  # past the TTL: read again (another container's write shows now)
    holiday_calendars.put(2027, body({**NEW_YEAR_2027, "version": 1, "holidays": [
        {"date": "2027-01-01", "name": "new_years_day"}, {"date": "2027-03-01", "name": "other"}]}), ADMIN)
    assert not working_days.is_working_day(date(2027, 3, 1))  # the write forgot the year in this container


def test_the_missing_years_are_this_year_and_in_december_next_year(twin: Any) -> None:
    assert holiday_calendars.missing(date(2026, 11, 30)) == []
    assert holiday_calendars.missing(date(2026, 12, 1)) == [2027]
    assert holiday_calendars.missing(date(2027, 6, 1)) == [2027]  # the year itself, known nowhere
    holiday_calendars.put(2027, body(NEW_YEAR_2027), ADMIN)
    assert holiday_calendars.missing(date(2026, 12, 1)) == [2027]  # only New Year's Day: not the arrangement yet
    holiday_calendars.put(2027, body({**NEW_YEAR_2027, "version": 1, "complete": True}), ADMIN)
    assert holiday_calendars.missing(date(2026, 12, 31)) == [] and holiday_calendars.missing(date(2027, 12, 1)) == [2028]


# --- the API, on the local stack --------------------------------------------------------------------------
@pytest.fixture()
def clean(stack: Any) -> Iterator[None]:
    """The city's overrides as the other tests expect them: none for the years these tests write."""
    from chalicelib.deps import deps
    from chalicelib.repositories.tables import HolidayCalendarRecord

    def drop() -> None:
        for year in TOUCHED:
            HolidayCalendarRecord(deps().settings.city_code, str(year)).delete(add_version_condition=False)
            working_days.forget(year)

    drop()
    yield
    drop()


def test_an_admin_sees_2027_missing_enters_it_and_loses_a_version_race(
        client: Any, tokens: Any, clean: None, monkeypatch: pytest.MonkeyPatch) -> None:
    december(monkeypatch)
    admin = tokens.headers("admin")
    status, listed = call(client, "GET", "/v1/admin/holiday-calendars", admin)
    assert status == 200 and listed["missing"] == [2027]
    years = {c["year"]: c for c in listed["items"]}
    assert years[2026]["source"] == "package" and years[2026]["known"] and years[2004]["source"] == "package"
    assert years[2027]["source"] == "none" and years[2027]["version"] == 0 and not years[2027]["known"]
    status, got = call(client, "GET", "/v1/admin/holiday-calendars/2027", admin)
    assert status == 200 and got["holidays"] == [] and got["source"] == "none"

    status, entered = call(client, "PUT", "/v1/admin/holiday-calendars/2027", admin, NEW_YEAR_2027)
    assert status == 200, entered
    assert entered["holidays"] == [{"date": "2027-01-01", "name": "new_years_day", "name_zh": "元旦"}]
    assert entered["version"] == 1 and entered["source"] == "override" and entered["updated_by"]
    status, again = call(client, "PUT", "/v1/admin/holiday-calendars/2027", admin, NEW_YEAR_2027)
    assert status == 409 and again["error"]["code"] == "STALE_VERSION"  # entered by someone else meanwhile
    assert call(client, "GET", "/v1/admin/holiday-calendars", admin)[1]["missing"] == [2027]  # partial: still missing

    full = {**NEW_YEAR_2027, "version": 1, "complete": True, "note": "国务院办公厅通知（演示）"}
    status, completed = call(client, "PUT", "/v1/admin/holiday-calendars/2027", admin, full)
    assert status == 200 and completed["version"] == 2 and completed["known"]
    status, stale = call(client, "PUT", "/v1/admin/holiday-calendars/2027", admin, full)
    assert status == 409 and stale["error"]["code"] == "STALE_VERSION" and stale["error"]["field"] == "version"
    assert call(client, "GET", "/v1/admin/holiday-calendars", admin)[1]["missing"] == []
    assert call(client, "GET", "/v1/admin/holiday-calendars/2027", admin)[1] == completed


def _make_up(day: str) -> dict[str, Any]:
    return {"date": day, "name": "spring_festival"}


BAD = [  # body changes -> (status, code, field)
    ({"holidays": [{"date": "2028-01-01", "name": "new_years_day"}]}, 400, "HOLIDAY_CALENDAR_INVALID", "holidays[0].date"),
    ({"holidays": [{"date": "2027-02-30", "name": "spring_festival"}]}, 400, "HOLIDAY_CALENDAR_INVALID", "holidays[0].date"),
    ({"holidays": [{"date": "2027-01-01", "name": "new_years_day"}] * 2}, 400, "HOLIDAY_CALENDAR_INVALID", "holidays"),
    ({"make_up_days": [_make_up("2027-01-01")]}, 400, "HOLIDAY_CALENDAR_INVALID", "make_up_days"),  # both
    ({"make_up_days": [_make_up("2027-02-03")]}, 400, "HOLIDAY_CALENDAR_INVALID", "make_up_days"),  # a Wednesday
    ({"holidays": [{"date": "2027-01-02", "name": "new_years_day"}]}, 400, "HOLIDAY_CALENDAR_INVALID", "holidays"),
    ({"holidays": []}, 400, "INVALID_PARAMETER", "holidays"),
    ({"holidays": [{"date": "2027-01-01", "name": "christmas"}]}, 400, "INVALID_PARAMETER", "holidays.0.name"),
    ({"holidays": [{"date": "2027/01/01", "name": "new_years_day"}]}, 400, "INVALID_PARAMETER", "holidays.0.date"),
    ({"complete": "yes"}, 400, "INVALID_PARAMETER", "complete"),
    ({"version": -1}, 400, "INVALID_PARAMETER", "version"),
    ({"note": "第一行\n第二行"}, 400, "INVALID_PARAMETER", "note"),
    ({"colour": "red"}, 400, "INVALID_PARAMETER", "colour"),
]


@pytest.mark.parametrize("change,status,code,where", BAD)
def test_a_calendar_breaking_a_rule_is_refused_naming_the_date(
        client: Any, tokens: Any, clean: None, change: dict[str, Any], status: int, code: str, where: str) -> None:
    got_status, got = call(client, "PUT", "/v1/admin/holiday-calendars/2027", tokens.headers("admin"),
                           {**NEW_YEAR_2027, **change})
    assert (got_status, got["error"]["code"], got["error"].get("field")) == (status, code, where), got
    assert got["error"]["message"]
    assert holiday_calendars.get(2027).source is Source.NONE  # nothing written


def test_a_correction_of_a_package_year_is_whole_and_the_year_must_be_one(
        client: Any, tokens: Any, clean: None) -> None:
    admin = tokens.headers("admin")
    status, got = call(client, "PUT", "/v1/admin/holiday-calendars/2026", admin,
                       {"version": 0, "complete": False, "holidays": [{"date": "2026-10-09", "name": "national_day"}]})
    assert status == 400 and got["error"]["code"] == "HOLIDAY_CALENDAR_INVALID" and got["error"]["field"] == "complete"
    for year in ("1999", "2100", "20x7", "02027"):
        status, got = call(client, "GET", f"/v1/admin/holiday-calendars/{year}", admin)
        assert status == 400 and got["error"]["field"] == "year", year
    status, got = call(client, "PUT", "/v1/admin/holiday-calendars/2027", tokens.headers("staff"), NEW_YEAR_2027)
    assert status == 403 and got["error"]["code"] == "FORBIDDEN"


def test_the_calculator_counts_across_national_day_and_new_years_day(
        client: Any, tokens: Any, clean: None) -> None:
    staff = tokens.headers("staff")
    status, got = call(client, "GET", "/v1/working-days?from=2026-09-30&add=3", staff)
    assert status == 200, got
    # 1-7 October off (National Day), 8 and 9 October count, Saturday 10 October is a make-up working day
    assert got["date"] == "2026-10-10" and got["weekend_days_skipped"] == 0
    assert [d["date"] for d in got["holidays_skipped"]] == [f"2026-10-0{i}" for i in range(1, 8)]
    assert {d["name_zh"] for d in got["holidays_skipped"]} == {"国庆节"}
    assert got["make_up_days_counted"] == [{"date": "2026-10-10", "name": "national_day", "name_zh": "国庆节"}]
    assert got["calendars"] == [{"year": 2026, "source": "package", "source_name": "内置日历（chinesecalendar）"}]

    status, got = call(client, "GET", "/v1/working-days?from=2026-12-31&add=1", staff)
    assert (got["date"], [c["source"] for c in got["calendars"]]) == ("2027-01-01", ["package", "none"])
    status, _ = call(client, "PUT", "/v1/admin/holiday-calendars/2027", tokens.headers("admin"), NEW_YEAR_2027)
    assert status == 200
    status, got = call(client, "GET", "/v1/working-days?from=2026-12-31&add=1", tokens.headers("admin"))
    assert got["date"] == "2027-01-04" and got["weekend_days_skipped"] == 2
    assert got["holidays_skipped"] == [{"date": "2027-01-01", "name": "new_years_day", "name_zh": "元旦"}]
    assert [c["source"] for c in got["calendars"]] == ["package", "override"]
    status, got = call(client, "GET", "/v1/working-days?from=2026-10-03&add=0", staff)
    assert got["date"] == "2026-10-08" and len(got["holidays_skipped"]) == 5  # 3-7 October


@pytest.mark.parametrize("query,field", [
    ("from=2026-02-30&add=1", "from"), ("from=2026-9-30&add=1", "from"), ("from=2026-09-30", "add"),
    ("add=3", "from"), ("from=2026-09-30&add=-1", "add"), ("from=2026-09-30&add=251", "add"),
    ("from=2026-09-30&add=x", "add"), ("from=1999-12-31&add=1", "year"), ("from=2026-09-30&add=1&to=x", "to"),
])
def test_the_calculator_refuses_bad_input(client: Any, tokens: Any, query: str, field: str) -> None:
    status, got = call(client, "GET", f"/v1/working-days?{query}", tokens.headers("staff"))
    assert status == 400 and got["error"]["field"] == field and got["error"]["message"], got


def test_the_daily_check_counts_the_missing_years_as_a_metric(
        app: Any, client: Any, tokens: Any, clean: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import chalicelib.observability as observability
    from chalicelib.metric_names import HOLIDAY_CALENDAR_MISSING
    from devstack.__main__ import _scheduled_event
    from devstack.stack import FakeLambdaContext

    counted: list[tuple[str, int]] = []
    monkeypatch.setattr(observability, "daily_count", lambda name, value: counted.append((name, value)))

    def check() -> Any:
        return app.handler_map["holiday_calendar_check"](_scheduled_event("holiday_calendar_check"),
                                                         FakeLambdaContext("holiday_calendar_check"))

    december(monkeypatch, date(2026, 11, 30))
    assert check() == {"missing": []}  # November: next year is not asked about yet
    december(monkeypatch)
    assert check() == {"missing": [2027]}  # December without 2027
    status, _ = call(client, "PUT", "/v1/admin/holiday-calendars/2027", tokens.headers("admin"),
                     {**NEW_YEAR_2027, "complete": True})
    assert status == 200
    assert check() == {"missing": []}  # December with 2027
    assert counted == [(HOLIDAY_CALENDAR_MISSING, 0), (HOLIDAY_CALENDAR_MISSING, 1), (HOLIDAY_CALENDAR_MISSING, 0)]


def test_holiday_names_are_the_packages(twin: Any) -> None:
    from chinese_calendar import Holiday

    assert {h.name for h in Holiday} - {n.value for n in HolidayName} == {"anti_fascist_70th_day"}  # -> other
    assert {d.name for d in holiday_calendars.get(2015).holidays} >= {HolidayName.OTHER, HolidayName.NATIONAL_DAY}


def test_what_the_routes_cost_in_dynamodb_requests(client: Any, tokens: Any, clean: None, no_scans: list[str]) -> None:
    admin = tokens.headers("admin")
    no_scans.clear()
    assert call(client, "GET", "/v1/admin/holiday-calendars", admin)[0] == 200
    assert no_scans == ["Query"]  # every year and the missing ones from one query of the city's partition
    no_scans.clear()
    assert call(client, "PUT", "/v1/admin/holiday-calendars/2027", admin, NEW_YEAR_2027)[0] == 200
    assert no_scans == ["GetItem", "PutItem"]
    no_scans.clear()
    assert call(client, "GET", "/v1/working-days?from=2026-12-20&add=15", tokens.headers("staff"))[0] == 200
    assert no_scans == ["GetItem"] * 4  # 2026 and 2027 read once for counting, then for the names shown
    no_scans.clear()
    for _ in range(3):  # the working days' cache: nothing more to read for counting
        working_days.add_working_days(date(2026, 12, 20), 15)
    assert no_scans == []

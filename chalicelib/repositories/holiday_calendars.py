"""The city's holiday calendar overrides: one small partition (the city), a record per year."""
from __future__ import annotations

from typing import Any

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.holiday_calendars import Day, HolidayCalendar, HolidayName, Source
from chalicelib.repositories.common import put_new, save_versioned
from chalicelib.repositories.tables import HolidayCalendarRecord


class HolidayCalendarRepository:
    def __init__(self, settings: Settings) -> None:
        self.city = settings.city_code

    def get(self, year: int) -> HolidayCalendar | None:
        try:
            return to_calendar(HolidayCalendarRecord.get(self.city, str(year)))
        except HolidayCalendarRecord.DoesNotExist:
            return None

    def all(self) -> list[HolidayCalendar]:
        """Every year's override (a handful: one query of the city's partition)."""
        return [to_calendar(r) for r in HolidayCalendarRecord.query(self.city)]

    def save(self, calendar: HolidayCalendar, *, new: bool) -> HolidayCalendar:
        """Write the year's override: ``new`` only if there is none, else only if still at ``calendar.version``."""
        record = to_record(self.city, calendar)
        if new:
            put_new(record, HolidayCalendarRecord.year.does_not_exist(), errors.StaleVersion(field="version"))
        else:
            record.version = calendar.version
            save_versioned(record)
        return to_calendar(record)


def _days(days: tuple[Day, ...]) -> list[dict[str, str]]:
    return [{"date": d.day, "name": d.name.value} for d in days]


def _read(items: Any) -> tuple[Day, ...]:
    out = []
    for item in items or []:
        raw = item.as_dict() if hasattr(item, "as_dict") else dict(item)
        out.append(Day(raw["date"], HolidayName(raw["name"])))
    return tuple(out)


def to_record(city: str, c: HolidayCalendar) -> HolidayCalendarRecord:
    return HolidayCalendarRecord(city, str(c.year), holidays=_days(c.holidays), make_up_days=_days(c.make_up_days),
                                 complete=c.complete, note=c.note, updated_at=c.updated_at or "",
                                 updated_by=c.updated_by or "")


def to_calendar(r: HolidayCalendarRecord) -> HolidayCalendar:
    return HolidayCalendar(int(r.year), _read(r.holidays), _read(r.make_up_days), bool(r.complete), Source.OVERRIDE,
                           r.note, int(r.version or 0), r.updated_at, r.updated_by)

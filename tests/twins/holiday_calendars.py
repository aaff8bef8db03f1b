"""In-memory twin of chalicelib/repositories/holiday_calendars.py."""
from __future__ import annotations

import threading
from dataclasses import replace

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.holiday_calendars import HolidayCalendar


class HolidayCalendarTwin:
    def __init__(self, settings: Settings | None = None) -> None:
        self._lock = threading.RLock()
        self.calendars: dict[int, HolidayCalendar] = {}
        self.reads = 0  # get() calls: the working days' cache is measured by them

    def get(self, year: int) -> HolidayCalendar | None:
        with self._lock:
            self.reads += 1
            return self.calendars.get(year)

    def all(self) -> list[HolidayCalendar]:
        with self._lock:
            return [self.calendars[y] for y in sorted(self.calendars)]

    def save(self, calendar: HolidayCalendar, *, new: bool) -> HolidayCalendar:
        with self._lock:
            current = self.calendars.get(calendar.year)
            if (current is not None) if new else (current is None or current.version != calendar.version):
                raise errors.StaleVersion(field="version")
            stored = replace(calendar, version=calendar.version + 1 if not new else 1)
            self.calendars[calendar.year] = stored
            return stored

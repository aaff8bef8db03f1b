"""The holiday calendars repository's contract, on the twin and on DynamoDB."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator

import pytest

from chalicelib import errors
from chalicelib.domain.holiday_calendars import Day, HolidayCalendar, HolidayName, Source

YEAR = 2093  # no other test enters it (the DynamoDB table is the worker's, shared)


@pytest.fixture()
def repo(container: Any) -> Iterator[Any]:
    yield container.holiday_calendars
    if not hasattr(container.holiday_calendars, "calendars"):  # DynamoDB: leave the city's overrides as found
        from chalicelib.repositories.tables import HolidayCalendarRecord

        HolidayCalendarRecord(container.settings.city_code, str(YEAR)).delete(add_version_condition=False)


def test_a_year_is_entered_once_then_replaced_only_at_the_version_read(repo: Any) -> None:
    entered = HolidayCalendar(YEAR, (Day(f"{YEAR}-01-01", HolidayName.NEW_YEARS_DAY),), (), False, note="元旦",
                              updated_at="2092-12-01T08:00:00.000+08:00", updated_by="sub_admin")
    assert repo.get(YEAR) is None
    saved = repo.save(entered, new=True)
    assert saved == replace(entered, version=1) and repo.get(YEAR) == saved and saved.source is Source.OVERRIDE
    with pytest.raises(errors.StaleVersion):
        repo.save(entered, new=True)  # someone entered it first
    full = replace(saved, complete=True, make_up_days=(Day(f"{YEAR}-01-04", HolidayName.NEW_YEARS_DAY),))
    again = repo.save(full, new=False)
    assert again == replace(full, version=2) and repo.get(YEAR) == again
    with pytest.raises(errors.StaleVersion):
        repo.save(full, new=False)  # still at version 1: stale
    assert repo.get(YEAR) == again  # nothing half-written
    assert again in repo.all() and all(c.source is Source.OVERRIDE for c in repo.all())

"""The response shapes of the holiday calendars and the working-day calculator (docs/decisions/0035),
beside schemas.py (at its size limit) and built with its helpers; openapi.document() adds them."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.holiday_calendars import HolidayName, Source
from chalicelib.schemas import INT, NS, S, B, _enum, _obj

DATE = {"type": "string", "format": "date"}
_DAY = {"type": "array", "items": {"$ref": "#/components/schemas/HolidayDay"}}
_SOURCE = {"source": {**_enum(Source), "description": "来源：override 本市录入，package 内置日历，none 缺失"},
           "source_name": S,
           "complete": {**B, "description": "是否已录入全年完整安排（内置日历的年度为 true）"},
           "known": {**B, "description": "该年度安排是否完整可用（否则告警）"}}

HOLIDAY_CALENDAR_SCHEMAS: dict[str, Any] = {
    "HolidayDay": _obj({"date": DATE, "name": _enum(HolidayName), "name_zh": S}),
    "HolidayCalendar": _obj({
        "year": INT, **_SOURCE,
        "holidays": {**_DAY, "description": "放假日期（含放假期间的周六、周日）"},
        "make_up_days": {**_DAY, "description": "调休上班日期（周六或周日）"},
        "note": NS, "version": {**INT, "description": "修改时原样提交（本市尚未录入时为 0）"},
        "updated_at": NS, "updated_by": NS}),
    "HolidayCalendarSummary": _obj({
        "year": INT, **_SOURCE, "holidays": {**INT, "description": "放假天数"},
        "make_up_days": {**INT, "description": "调休上班天数"}, "version": INT, "updated_at": NS}),
    "HolidayCalendarList": _obj({
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/HolidayCalendarSummary"}},
        "missing": {"type": "array", "items": INT,
                    "description": "缺失的年度（告警指标 HolidayCalendarMissing 的值即其个数）：当年，12 月起还有下一年"}}),
    "WorkingDayCount": _obj({
        "from": {**DATE, "description": "起算日期（当日不计）"}, "add": INT,
        "date": {**DATE, "description": "第 add 个工作日（add 为 0：起算日本身或其后第一个工作日）"},
        "holidays_skipped": {**_DAY, "description": "途经并跳过的放假日（不含普通周末）"},
        "make_up_days_counted": {**_DAY, "description": "途经并计入的调休上班日"},
        "weekend_days_skipped": {**INT, "description": "途经并跳过的普通周六、周日天数"},
        "calendars": {"type": "array", "items": _obj({"year": INT, "source": _enum(Source), "source_name": S}),
                      "description": "途经年度的日历来源（none：该年度安排缺失，按周一至周五计算）"}}),
}

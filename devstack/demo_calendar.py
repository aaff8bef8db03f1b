"""`make demo`, step 23 (issue 13; docs/decisions/0035): the holiday calendar the deadlines stand on.

The admin sees which years' holiday arrangements are missing (the figure the daily job reports and
the alarm watches: in December, next year until it is entered), enters 2027's New Year's Day (1
January, fixed by 全国年节及纪念日放假办法, known before the State Council publishes the year's
arrangement), and the working-day calculator counts a deadline across National Day (the package's
2026) and across 1 January 2027 (the override). Run again, it reads the version and puts the same
entry again. A mixin of devstack.demo.Demo.
"""
from __future__ import annotations

from typing import Any

#: 2027's New Year's Day: the one date of 2027 fixed by the regulation itself.
NEW_YEAR_2027 = [{"date": "2027-01-01", "name": "new_years_day"}]


class CalendarDemo:
    """A mixin of devstack.demo.Demo (needs its call/get/step/say/demo_token: Walk's and Demo's)."""

    call: Any
    get: Any
    step: Any
    say: Any
    demo_token: Any

    def calendar(self) -> None:
        admin, staff = self.demo_token("admin"), self.demo_token("staff")
        self.step("23. 节假日安排：管理员查看缺失年度（告警指标），录入 2027 年元旦；工作日计算跨越法定节假日")
        listed = self.call("GET", "/v1/admin/holiday-calendars", admin, title="各年度节假日安排的来源")
        by_source: dict[str, list[int]] = {}
        for c in listed["items"]:
            by_source.setdefault(c["source_name"], []).append(c["year"])
        for name, years in by_source.items():
            self.say(f"    {name}：{_years(years)}")
        self.say(f"缺失年度 {listed['missing'] or '无'}（每日检查上报 HolidayCalendarMissing = {len(listed['missing'])}，"
                 f"大于 0 即告警；12 月起检查下一年）")

        current = self.get("/v1/admin/holiday-calendars/2027", admin)
        entered = self.call("PUT", "/v1/admin/holiday-calendars/2027", admin, {
            "version": current["version"], "complete": False, "holidays": NEW_YEAR_2027,
            "note": "全国年节及纪念日放假办法：元旦放假 1 天（1 月 1 日）"}, title="录入 2027 年元旦（带版本号）")
        self.say(f"2027 年：{entered['source_name']}，放假 {[d['date'] + ' ' + d['name_zh'] for d in entered['holidays']]}，"
                 f"版本 {entered['version']}")
        self.say("国务院办公厅公布 2027 年全年安排（放假与调休上班日期）后，以同一接口整年录入，complete 为 true，"
                 "告警随之解除")
        after = self.get("/v1/admin/holiday-calendars", admin)
        self.say(f"缺失年度 {after['missing'] or '无'}（仅录入元旦，全年安排未录入前仍计为缺失）")

        for start, add, why in (("2026-09-30", 3, "跨越国庆节（内置日历 2026 年）"),
                                ("2026-12-31", 1, "跨越 2027 年元旦（本市录入）")):
            got = self.call("GET", f"/v1/working-days?from={start}&add={add}", staff, title=f"工作日计算：{why}")
            skipped = _runs(got["holidays_skipped"]) or "无"
            counted = "、".join(f"{d['date'][5:]}（{d['name_zh']}调休）" for d in got["make_up_days_counted"]) or "无"
            self.say(f"{start} 起第 {add} 个工作日：{got['date']}；跳过放假日 {skipped}；"
                     f"计入调休上班日 {counted}；跳过周末 {got['weekend_days_skipped']} 天")


def _years(years: list[int]) -> str:
    """2004-2026, 2027: consecutive years as ranges."""
    out: list[str] = []
    for y in sorted(years):
        if out and out[-1].split("-")[-1] == str(y - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{y}"
        else:
            out.append(str(y))
    return "、".join(out)


def _runs(days: list[dict[str, Any]]) -> str:
    """10-01 至 10-07 国庆节（7 天）: consecutive days of one holiday as one run."""
    from datetime import date

    runs: list[list[dict[str, Any]]] = []
    for d in days:
        last = runs[-1][-1] if runs else None
        if last and last["name"] == d["name"] and \
                (date.fromisoformat(d["date"]) - date.fromisoformat(last["date"])).days == 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return "、".join(f"{r[0]['date'][5:]}" + (f" 至 {r[-1]['date'][5:]}" if len(r) > 1 else "")
                    + f" {r[0]['name_zh']}（{len(r)} 天）" for r in runs)

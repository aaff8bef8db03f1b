"""`make demo`, the statistics (issue 14 §2, docs/decisions/0037), steps 32-33: what the demo did, as the
ministry reads it (this month's figures and the totals: registrations, applications submitted and
approved with the days it took, online payments, reviews decided and their outcomes, households housed;
aggregates only: the ministry's token opens no case), then the month as CSV and XLSX files in
`.local/demo/`. The counters come from the tables' streams, which the local stack feeds to
``count_stats`` every half second. A mixin of devstack.demo.Demo (needs its call/get/step/say/demo_token).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

CHINA = timezone(timedelta(hours=8))
OUT = Path(__file__).resolve().parent.parent / ".local" / "demo"


class StatsDemo:
    """A mixin of devstack.demo.Demo."""

    def settled_stats(self, token: str, month: str, timeout_s: float = 20) -> dict[str, Any]:
        """The month's figures once the streams have caught up (two reads a second apart agree)."""
        deadline = time.monotonic() + timeout_s
        last = self.get(f"/v1/stats?month={month}", token)  # type: ignore[attr-defined]
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = self.get(f"/v1/stats?month={month}", token)  # type: ignore[attr-defined]
            if now.get("figures") == last.get("figures"):
                return dict(now)
            last = now
        return dict(last)

    def statistics(self) -> None:
        ministry, staff = self.demo_token("ministry"), self.demo_token("staff")  # type: ignore[attr-defined]
        month = datetime.now(CHINA).strftime("%Y-%m")
        self.step(f"32. 统计：主管部门查看 {month} 的统计数据（由数据变更流实时计数，只有汇总数据）")  # type: ignore[attr-defined]
        stats = StatsDemo.settled_stats(self, ministry, month)  # type: ignore[arg-type]
        f, t = stats["figures"], stats["totals"]
        outcomes = f["review_outcomes"]
        self.say(f"注册用户 {f['registered_users']}，上架房源 {f['units_listed']}，发布政策 {f['policies_published']}")  # type: ignore[attr-defined]
        self.say(f"提交申请 {f['applications_submitted']}，审核通过 {f['applications_approved']}，"  # type: ignore[attr-defined]
                 f"提交至通过平均 {f['approval_days_avg']} 天（90% 分位 {f['approval_days_p90']} 天）")
        self.say(f"线上缴费 {f['payments_online_count']} 笔 {f['payments_online_amount_yuan']} 元；"  # type: ignore[attr-defined]
                 f"投诉 {f['complaints']}、建议 {f['suggestions']}")
        self.say(f"完成年审 {f['reviews_decided']}（继续承租 {outcomes['continue']}，提高租金 {outcomes['higher_rent']}，"  # type: ignore[attr-defined]
                 f"腾退 {outcomes['must_leave']}，人工 {outcomes['manual']}）；新增配租 {f['households_housed']} 户")
        self.say(f"累计：注册用户 {t['registered_users']}，房源 {t['units_listed']}，配租 {t['households_housed']} 户")  # type: ignore[attr-defined]
        self.call("GET", "/v1/staff/applications?limit=1", ministry, expect=403,  # type: ignore[attr-defined]
                  title="主管部门不能查看个案（只有汇总数据）")
        self.call("GET", f"/v1/stats?month={month}", staff, expect=403, title="窗口工作人员不查看统计")  # type: ignore[attr-defined]

        self.step("33. 统计导出：当月及累计数据导出为 CSV 与 XLSX（短时有效的下载链接），用于向上级报送")  # type: ignore[attr-defined]
        OUT.mkdir(parents=True, exist_ok=True)
        for file_format in ("csv", "xlsx"):
            link = self.call("GET", f"/v1/stats/export?month={month}&format={file_format}", ministry,  # type: ignore[attr-defined]
                             title=f"导出 {file_format.upper()}")
            data = requests.get(link["url"], timeout=30).content
            path = OUT / f"stats-{month}.{file_format}"
            path.write_bytes(data)
            self.say(f"{link['filename']}：{path}（{len(data)} 字节）")  # type: ignore[attr-defined]

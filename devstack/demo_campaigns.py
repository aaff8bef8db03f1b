"""`make demo`, the annual review's campaign (issue 12 §1, docs/decisions/0032): the admin opens the
year's campaign over the demo leases, the local stack's queue pump works through its shards (a review
per lease, the first notice queued with each: `.local/notifications.jsonl`), the admin opens it again
(nothing twice: 0 created) and staff list the campaign's open reviews. A mixin of devstack.demo.Demo
(needs its call/get/step/say/demo_token); ``review_campaign(step_no)`` returns the campaign as the API
shows it, for the review steps that follow (answering, verification, staff confirm).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

CHINA = timezone(timedelta(hours=8))


class CampaignDemo:
    """A mixin of devstack.demo.Demo."""

    def wait_for_pass(self, campaign_id: str, token: str, timeout_s: float = 120) -> dict[str, Any]:
        """The campaign once its latest opening has left ``running`` (the queue pump drains it)."""
        deadline = time.monotonic() + timeout_s
        campaign = self.get(f"/v1/admin/review-campaigns/{campaign_id}", token)  # type: ignore[attr-defined]
        while campaign.get("status") == "running" and time.monotonic() < deadline:
            time.sleep(0.5)
            campaign = self.get(f"/v1/admin/review-campaigns/{campaign_id}", token)  # type: ignore[attr-defined]
        return dict(campaign)

    def review_campaign(self, step_no: int | str = "16") -> dict[str, Any]:
        admin, staff = self.demo_token("admin"), self.demo_token("staff")  # type: ignore[attr-defined]
        year = datetime.now(CHINA).year
        self.step(f"{step_no}. 年审：管理员开启 {year} 年度年审批次（每份在租合同一份年审，并发出首次通知；"  # type: ignore[attr-defined]
                  "再次开启不会重复）")
        campaign: dict[str, Any] = {}
        for n, title in enumerate(("开启年审批次", "再开启一次：已开启的年审不会重复")):
            opened = self.call("POST", "/v1/admin/review-campaigns", admin,  # type: ignore[attr-defined]
                               {"scope": "all", "year": year}, 202, title)
            campaign = self.wait_for_pass(opened["campaign_id"], admin)
            latest = [p for p in campaign["passes"] if p["purpose"] == "open"][-1]
            self.say(f"批次 {campaign['campaign_id']}（截止 {campaign['deadline']}，提醒：截止前 "  # type: ignore[attr-defined]
                     f"{'、'.join(str(d) for d in campaign['notices_days_before'])} 天）：{latest['status_name']}，"
                     f"读取合同 {latest['leases_seen']}，新开启 {latest['reviews_created']}，已存在 "
                     f"{latest['already_existing']}，不在范围 {latest['out_of_scope']}，通知 {latest['notices_queued']}，"
                     f"失败 {latest['failed']}；本批次共 {campaign['reviews_opened']} 份年审")
        page = self.get(f"/v1/admin/review-campaigns/{campaign['campaign_id']}/reviews?status=open&limit=5", staff)  # type: ignore[attr-defined]
        for r in page.get("items", []):
            self.say(f"    {r['unit_label']}：{r['status_name']}，截止 {r['deadline']}")  # type: ignore[attr-defined]
        return campaign

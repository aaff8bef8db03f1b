"""`make demo`, the service desk (issue 13), steps 24-28: a tenant files a repair with a photo (checked by
the S3-event worker); staff find it in the queue, accept it with one of the city's canned replies; its
deadlines (first reply, resolution) are shown, in working days past the weekends and public holidays
between; a second ticket breaches and the breach sweep (`sweep_tickets`, which `make run` runs every 15 s)
escalates it to the team lead (its deadline first moved into the past by one direct write to the local
tickets table: no route moves a deadline; the step says so); staff resolve and close the repair; the
tenant rates it and the admin sees the team's and the estate's ratings.

Everything but that one write goes through the API. A mixin of devstack.demo.Demo.
"""
from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import requests


class TicketsDemo:
    """A mixin of devstack.demo.Demo (needs its call/get/step/say/demo_token/demo_user and state)."""

    base: str
    state: dict[str, Any]

    def tickets(self) -> None:
        tenant = self.demo_user(0)  # type: ignore[attr-defined]
        token = tenant["token"]
        leases = self.get("/v1/me/lease", token).get("items") or []  # type: ignore[attr-defined]
        if leases:
            lease = leases[0]
            estate_id, unit_id, where = lease["estate"]["estate_id"], lease["unit"]["unit_id"], lease["estate"]["name"]
        else:
            estate = self.get("/v1/estates?limit=1", None)["items"][0]  # type: ignore[attr-defined]
            estate_id, unit_id, where = estate["estate_id"], None, estate["name"]
        staff, admin = self.demo_token("staff"), self.demo_token("admin")  # type: ignore[attr-defined]

        self.step("24. 报修：承租人在 APP 提交报修（水电维修）并上传照片；照片由文件检查程序核验")  # type: ignore[attr-defined]
        body = {"category": "repair_water_electric", "title": "卫生间水管漏水",
                "text": "卫生间洗手盆下水管接口漏水，地面有积水，请尽快安排维修。", "estate_id": estate_id,
                "contact_allowed": True, **({"unit_id": unit_id} if unit_id else {})}
        repair = self.call("POST", "/v1/tickets", token, body, 201, f"报修（{where}）")  # type: ignore[attr-defined]
        self.say(f"工单 {repair['ticket_id']}：{repair['kind_name']}·{repair['category_name']}，"  # type: ignore[attr-defined]
                 f"转 {repair['team_name']} 办理")
        form = self.call("POST", f"/v1/tickets/{repair['ticket_id']}/photos", token,  # type: ignore[attr-defined]
                         {"content_type": "image/jpeg"}, 201, "上传照片（直传 S3）")["upload"]
        from devstack.walkthrough import JPEG

        r = requests.post(form["url"], data=form["fields"], files={"file": ("f", JPEG, "image/jpeg")}, timeout=30)
        self.say(f"POST <S3 presigned> -> {r.status_code}")  # type: ignore[attr-defined]
        repair = self._photo_checked(token, repair["ticket_id"])

        self.step("25. 工作人员在工单队列（按时限先后）中受理，并以常用答复回复市民")  # type: ignore[attr-defined]
        queue = self.get(f"/v1/staff/tickets?team={repair['team']}&limit=5", staff)  # type: ignore[attr-defined]
        for t in queue["items"]:
            self.say(f"    {t['deadlines']['next_at'][:16]}  {t['status_name']}  {t['title']}  "  # type: ignore[attr-defined]
                     f"联系人 {t['contact']['name']} {t['contact']['mobile']}（已遮盖）")
        replies = self.get("/v1/staff/ticket-replies", staff)["items"]  # type: ignore[attr-defined]
        self.say("常用答复：" + "、".join(f"{c['code']}（{c['title']}）" for c in replies))  # type: ignore[attr-defined]
        repair = self.call("POST", f"/v1/staff/tickets/{repair['ticket_id']}/replies", staff,  # type: ignore[attr-defined]
                           {"canned_reply": "repair_scheduled"}, title="回复：已安排维修")
        self.say(f"状态：{repair['status_name']}；首次答复于 {repair['deadlines']['first_reply_at'][:16]}，"  # type: ignore[attr-defined]
                 f"{'按时' if repair['deadlines']['first_reply_met'] else '超期'}")

        self.step("26. 办理时限（工作日，按国务院节假日安排：周末、法定节假日不计，调休上班日计入）")  # type: ignore[attr-defined]
        cats = {c["code"]: c for c in self.get("/v1/ticket-categories", None)["items"]}  # type: ignore[attr-defined]
        cat = cats[repair["category"]]
        filed = date.fromisoformat(repair["filed_at"][:10])
        for label, key, days in (("首次答复", "first_reply_due", cat["first_reply_days"]),
                                 ("办结", "resolution_due", cat["resolution_days"])):
            due = date.fromisoformat(repair["deadlines"][key])
            self.say(f"    {label}期限：{days} 个工作日 → {due}（{_weekday(due)}）；{_days_off(filed, due)}")  # type: ignore[attr-defined]
        example = date(2026, 9, 30)  # the eve of the National Day holiday
        from chalicelib.domain.working_days import add_working_days

        holiday_due = add_working_days(example, cats["complaint_staff"]["first_reply_days"])
        self.say(f"    例：{example} 提交的投诉（{cats['complaint_staff']['first_reply_days']} 个工作日答复）"  # type: ignore[attr-defined]
                 f"→ {holiday_due}（{_weekday(holiday_due)}），跨过国庆假期；{_days_off(example, holiday_due)}")

        self.step("27. 超期督办：另一件投诉超过首次答复期限，超期巡检任务升级至团队负责人")  # type: ignore[attr-defined]
        late = self.call("POST", "/v1/tickets", token, {  # type: ignore[attr-defined]
            "category": "complaint_property", "title": "物业维修响应慢", "text": "楼道灯坏了一周无人处理。",
            "estate_id": estate_id, "contact_allowed": False}, 201, "投诉物业服务")
        past = (date.fromisoformat(late["filed_at"][:10]) - timedelta(days=3)).isoformat()
        self._deadline_passed(late["ticket_id"], past)
        self.say(f"（演示：首次答复期限 {late['deadlines']['first_reply_due']} 要等几个工作日才会过去，且没有接口可以改期限；"  # type: ignore[attr-defined]
                 f"此处直接改写本地数据库中该工单的首次答复期限为 {past}，再等待超期巡检任务 sweep_tickets"
                 "（make run 每 15 秒运行一次，部署后每 15 分钟）)")
        seen = self._escalated(staff, late["ticket_id"])
        for e in seen["escalations"]:
            self.say(f"    {e['at'][:16]}  升级至{e['to']}（{seen['escalation_name']}）")  # type: ignore[attr-defined]
        self.say(f"    时间线：{seen['timeline'][-1]['note']}")  # type: ignore[attr-defined]
        self.say("    （仍未处理的，负责人督办 24 小时后再上报住房保障局，各一次）")  # type: ignore[attr-defined]

        self.step("28. 办结、关闭，市民评价；管理员查看各团队、各小区的服务评价")  # type: ignore[attr-defined]
        repair = self.call("POST", f"/v1/staff/tickets/{repair['ticket_id']}/status", staff, {  # type: ignore[attr-defined]
            "version": repair["version"], "status": "resolved", "note": "已更换下水管接口，经试水无渗漏。"}, title="办结")
        self.say(f"办结于 {repair['deadlines']['resolved_at'][:16]}，"  # type: ignore[attr-defined]
                 f"{'在办结期限内' if repair['deadlines']['resolution_met'] else '超过办结期限'}")
        repair = self.call("POST", f"/v1/staff/tickets/{repair['ticket_id']}/status", staff,  # type: ignore[attr-defined]
                           {"version": repair["version"], "status": "closed"}, title="关闭")
        rated = self.call("POST", f"/v1/tickets/{repair['ticket_id']}/rating", token,  # type: ignore[attr-defined]
                          {"score": 5, "comment": "维修师傅上门及时，处理干净。"}, title="评价 5 星")
        self.say("市民看到的时间线：")  # type: ignore[attr-defined]
        for e in rated["timeline"]:
            self.say(f"    {e['at'][11:16]}  {e['status_name']}  {e['note']}")  # type: ignore[attr-defined]
        for by in ("team", "estate"):
            for row in self.get(f"/v1/admin/ticket-ratings?by={by}", admin)["items"]:  # type: ignore[attr-defined]
                self.say(f"    {'团队' if by == 'team' else '小区'} {row['name']}：{row['count']} 件评价，"  # type: ignore[attr-defined]
                         f"平均 {row['average']} 星")

    # --- helpers ---------------------------------------------------------------------------------------------
    def _photo_checked(self, token: str, ticket_id: str, timeout_s: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            t = self.get(f"/v1/tickets/{ticket_id}", token)  # type: ignore[attr-defined]
            if t["photos"] and all(p["checked"] for p in t["photos"]):
                self.say(f"照片已核验（真实格式与大小），{len(t['photos'])} 张")  # type: ignore[attr-defined]
                return dict(t)
            time.sleep(0.3)
        raise SystemExit("the ticket's photo was not checked within 30 s (is the queue worker running?)")

    def _deadline_passed(self, ticket_id: str, day: str) -> None:
        """The demo's one direct write: the ticket's first-reply deadline (and the index keys derived from it)."""
        from chalicelib.domain.tickets import end_of
        from devstack.aws import client

        prefix = self.state.get("table_prefix") or f"{self.state['city']}-"
        when = end_of(day)
        client("dynamodb", self.state["endpoint"]).update_item(
            TableName=f"{prefix}tickets", Key={"ticket_id": {"S": ticket_id}},
            UpdateExpression="SET first_reply_due = :d, due_key = :k, queue_sort = :q",
            ExpressionAttributeValues={":d": {"S": day}, ":k": {"S": f"{when}#{ticket_id}"},
                                       ":q": {"S": f"o#{when}#{ticket_id}"}})

    def _escalated(self, staff: str, ticket_id: str, timeout_s: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            t = self.get(f"/v1/staff/tickets/{ticket_id}", staff)  # type: ignore[attr-defined]
            if t.get("escalations"):
                return dict(t)
            time.sleep(1)
        raise SystemExit("the breach sweep did not escalate within 60 s (is make run's schedule running?)")


def _weekday(day: date) -> str:
    name = "周" + "一二三四五六日"[day.weekday()]
    return f"{name}，调休上班日" if day.weekday() >= 5 else name


def _days_off(start: date, due: date) -> str:
    from chalicelib.domain.working_days import is_working_day

    off = [start + timedelta(days=k) for k in range(1, (due - start).days)
           if not is_working_day(start + timedelta(days=k))]
    return f"期间 {len(off)} 天休息日不计" if off else "期间无休息日"


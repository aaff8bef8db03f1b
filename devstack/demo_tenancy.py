"""`make demo`, the tenancy (issue 12), steps 16-22: after rent, the year's review campaign over the four
demo leases (devstack/demo_campaigns.py), then their reviews through the same verification workflow and
department simulator: one household answers "nothing changed" and continues in one staff click; one
reports a new income over the limit (the provident fund has it too) and moves to the higher rent on its
next bill; one owns a home by the registry now (the simulator's record changed) and gets a must-leave
outcome with the city's grace period, then moves out before it with its deposit settled through the
provider that took it; the fourth, whose income no department records, is staff's call. The household
that continues renews its lease: its dates are first moved into the renewal window, the demo's one
direct table write (no route moves a lease's dates; the step says so).

Everything else goes through the API, with the drivers the tests use too (devstack/tenancy.py). A
mixin of devstack.demo.Demo.
"""
from __future__ import annotations

import json
import time
from datetime import date, timedelta
from typing import Any

import requests

from devstack import tenancy
from devstack.demo_campaigns import CampaignDemo

#: The demo's new income over the continuing limit (fen a month; 3,000 yuan a person in the demo city).
NEW_INCOME = 380000
#: Why staff confirm a manual review as continuing (the provident fund has no record of the household).
MANUAL_CONTINUE = "公积金无记录：经民政特困供养认定核实家庭收入低于标准，确认继续承租"


class TenancyDemo(CampaignDemo):
    """A mixin of devstack.demo.Demo (needs its call/get/step/say/demo_token and state)."""

    base: str
    state: dict[str, Any]

    # --- HTTP for the drivers (devstack/tenancy.py) -------------------------------------------------------
    def send(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, Any]:
        r = requests.request(method, self.base + path, timeout=30,
                             headers={"Content-Type": "application/json", **headers},
                             data=None if body is None else json.dumps(body, ensure_ascii=False).encode())
        if method != "GET":  # the drivers poll: print what they change
            self.say(f"{method} {path} -> {r.status_code}")  # type: ignore[attr-defined]
        return r.status_code, (r.json() if r.content else None)

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def departments(self, id_number: str, facts: dict[str, Any]) -> None:
        """The department simulator's record of a person changes (a home bought, a new income)."""
        r = requests.post(f"{self.state['departments']}/control/person", json={"id_number": id_number, "facts": facts},
                          timeout=10)
        r.raise_for_status()

    def review_upload(self, form: dict[str, Any]) -> None:
        from devstack.walkthrough import JPEG

        r = requests.post(form["url"], data=form["fields"], files={"file": ("f", JPEG, "image/jpeg")}, timeout=30)
        self.say(f"POST <S3 presigned> -> {r.status_code}", "证明材料直传 S3")  # type: ignore[attr-defined]

    def documents_checked(self, token: str, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            docs = tenancy.current(self.send, self.bearer(token))["documents"]
            if docs and all(d["status"] != "awaiting_upload" for d in docs):
                return
            time.sleep(0.3)
        raise SystemExit("review documents were not checked within 30 s (is the queue worker running?)")

    # --- the steps -----------------------------------------------------------------------------------------
    def tenancy(self, tenants: list[dict[str, Any]]) -> None:
        """Steps 16-22 over the four demo tenants (in the order they were housed)."""
        if len(tenants) < 4 or not self.state.get("departments"):
            self.say("（没有四户已签约的承租人，或本地栈未启用部门模拟器：跳过年审、续签与退租演示）")  # type: ignore[attr-defined]
            return
        staff = self.bearer(self.demo_token("staff"))  # type: ignore[attr-defined]
        same, leaving, richer, manual = tenants[0], tenants[1], tenants[2], tenants[3]
        campaign = self.review_campaign(16)
        for c in tenants:
            c["review_id"] = tenancy.current(self.send, self.bearer(c["token"]))["review_id"]

        self.step("17. 年审申报（APP）：两户“家庭情况无变化”一键确认；一户申报收入增加（附证明材料）；"  # type: ignore[attr-defined]
                  "一户无变化，但不动产登记显示其新购住房")
        view = tenancy.current(self.send, self.bearer(same["token"]))
        self.say(f"{same['name']} 的年审：{view['unit_label']}，截止 {view['deadline']}，住建部门掌握的家庭成员 "  # type: ignore[attr-defined]
                 f"{len(view['household']['members'])} 人；申报方式：" + "、".join(w["title"] for w in view["ways"]))
        for c in (same, manual):
            tenancy.no_change(self.send, self.bearer(c["token"]), c["review_id"])
            self.say(f"    {c['name']}：家庭情况无变化（一键确认，附本人授权）")  # type: ignore[attr-defined]
        self.departments(leaving["household"]["members"][0]["id_number"], {"real_estate": tenancy.OWNS_HOME})
        self.say(f"    模拟器：不动产登记新增 {leaving['name']} 名下本市住房一套（89.5 平方米）")  # type: ignore[attr-defined]
        tenancy.no_change(self.send, self.bearer(leaving["token"]), leaving["review_id"])
        self.say(f"    {leaving['name']}：申报家庭情况无变化")  # type: ignore[attr-defined]
        self.departments(richer["household"]["members"][0]["id_number"], {"provident_fund": {"monthly_deposit_base": NEW_INCOME}})
        self.say(f"    模拟器：公积金中心记录 {richer['name']} 月缴存基数 {NEW_INCOME / 100:.2f} 元")  # type: ignore[attr-defined]
        member = {**{k: richer["household"]["members"][0][k] for k in ("relation", "id_number")},
                  "name": richer["name"], "monthly_income": NEW_INCOME}
        tenancy.report_income(self.send, self.bearer(richer["token"]), richer["review_id"], member, self.review_upload,
                              lambda: self.documents_checked(richer["token"]))
        self.say(f"    {richer['name']}：申报家庭情况有变化，月收入 {NEW_INCOME / 100:.2f} 元")  # type: ignore[attr-defined]

        self.step("18. 联合审查：部门重新核查，同一规则引擎按年审规则给出建议（每条规则注明来源）")  # type: ignore[attr-defined]
        for c in (same, manual, leaving, richer):
            review = tenancy.wait_for(self.send, staff, c["review_id"], "recommended")
            rec = review.get("recommendation") or {}
            self.say(f"{c['name']}：申报后{_answer_to_recommendation(review)}得出建议：{rec.get('outcome_name')}"  # type: ignore[attr-defined]
                     + ("（核查无异常）" if rec.get("clean") else ""))
            for rule in rec.get("rules") or []:
                if rule["result"] != "passed":
                    source = "、".join(sorted({s["source_name"] for s in rule["sources"].values()}))
                    self.say(f"    - {rule['title']}：{rule['explanation']}（来源：{source}）")  # type: ignore[attr-defined]
            if rec.get("rent"):
                self.say(f"    租金：{rec['rent']['basis']}")  # type: ignore[attr-defined]
            if rec.get("leave_by"):
                self.say(f"    腾退期限：{rec['leave_by']}（宽限 {rec['grace_days']} 天）")  # type: ignore[attr-defined]

        self.step("19. 工作人员确认：核查无异常的“继续承租”一键批量确认；其余逐件确认（人工核实的写明理由）")  # type: ignore[attr-defined]
        bulk = tenancy.confirm_continues(self.send, staff, campaign_id=campaign["campaign_id"])
        self.say(f"一键确认 {bulk['confirmed']} 件继续承租" + (  # type: ignore[attr-defined]
            "；未确认：" + "、".join(f"{x['code']}" for x in bulk["left"]) if bulk["left"] else ""))
        decided: dict[str, dict[str, Any]] = {}
        for c in (same, manual, richer, leaving):
            review = tenancy.wait_for(self.send, staff, c["review_id"], "recommended", timeout_s=0)
            if review["status"] == "recommended":
                rec = review.get("recommendation") or {}
                extra = {"outcome": "continue", "reason": MANUAL_CONTINUE} if rec.get("outcome") == "manual" else {}
                review = tenancy.confirm(self.send, staff, review, **extra)
            decided[c["review_id"]] = review
            rec = review.get("recommendation") or {}
            line = f"{c['name']}：{review['status_name']}，{review['outcome_name']}"
            if rec.get("rent"):
                line += f"，自 {rec['rent']['from_month']} 起月租 {rec['rent']['monthly_rent'] / 100:.2f} 元"
            if rec.get("leave_by"):
                line += f"，须于 {rec['leave_by']} 前腾退（宽限 {rec['grace_days']} 天）"
            self.say(line)  # type: ignore[attr-defined]
        self.say(f"{same['name']} 在 APP 中看到：{tenancy.current(self.send, self.bearer(same['token']))['outcome_name']}"  # type: ignore[attr-defined]
                 "（通知记录：.local/notifications.jsonl）")

        self.renew(same)
        self.next_bill(richer, decided[richer["review_id"]])
        self.move_out(leaving, decided[leaving["review_id"]], staff)

    def next_bill(self, c: dict[str, Any], review: dict[str, Any]) -> None:
        admin = self.demo_token("admin")  # type: ignore[attr-defined]
        rent = review["recommendation"]["rent"]
        month = rent["from_month"]
        self.step(f"21. 提高租金自下一期账单起执行：管理员生成 {month} 的账单，{c['name']} 按新租金出账")  # type: ignore[attr-defined]
        run = self.call("POST", "/v1/admin/billing-runs", admin, {"month": month}, 202, f"生成 {month} 账单")  # type: ignore[attr-defined]
        deadline = time.monotonic() + 120
        while run["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.5)
            run = self.get(f"/v1/admin/billing-runs/{run['run_id']}", admin)  # type: ignore[attr-defined]
        self.say(f"批次 {run['run_id']}：{run['status_name']}，新出账单 {run['bills_created']}，"  # type: ignore[attr-defined]
                 f"已存在 {run['already_existing']}")
        bills = [b for b in self.get("/v1/me/bills", c["token"])["items"] if b["kind"] == "rent"]  # type: ignore[attr-defined]
        for b in sorted(bills, key=lambda b: b["month"]):
            self.say(f"    {c['name']}：租金 {b['month']} {b['amount'] / 100:.2f} 元（{b['status_name']}）")  # type: ignore[attr-defined]

    def renew(self, c: dict[str, Any]) -> None:
        lease_id = c["lease"]["lease_id"]
        self.step(f"20. 续签：{c['name']} 在租期届满前 3 个月内申请续签，最近一次年审（继续承租）直接决定")  # type: ignore[attr-defined]
        prefix = self.state.get("table_prefix") or f"{self.state['city']}-"
        today = tenancy.today()  # the lease is to end on the last day of next month (its bills are whole months)
        y, m = divmod(today.year * 12 + today.month + 1, 12)
        days = (date(y, m + 1, 1) - timedelta(days=1) - today).days
        start, end = tenancy.shift_lease(self.state["endpoint"], f"{prefix}leases", lease_id, days=days)
        self.say(f"（演示：新合同要等三年才进入续签期，且没有接口可以改合同日期；此处直接改写本地数据库中该合同的"  # type: ignore[attr-defined]
                 f"起止日期为 {start} 至 {end}，使其进入续签申请期）")
        done = tenancy.renew(self.send, self.bearer(c["token"]), lease_id, key=f"renewal-demo-{lease_id}")
        renewal, new = done["renewal"], done["lease"]
        self.say(f"续签 {renewal['renewal_id']}：{renewal['status_name']}（依据年审 {renewal['review_id']}）")  # type: ignore[attr-defined]
        same_rent = "与原合同相同" if new["monthly_rent"] == c["lease"]["monthly_rent"] else "按年审结果"
        self.say(f"新合同 {new['lease_id']}：{new['status_name']}，租期 {new['start_date']} 至 {new['end_date']}，"  # type: ignore[attr-defined]
                 f"月租 {new['monthly_rent'] / 100:.2f} 元（{same_rent}），续签自 {new['renews']}，押金由原合同结转")

    def move_out(self, c: dict[str, Any], review: dict[str, Any], staff: dict[str, str]) -> None:
        lease_id = c["lease"]["lease_id"]
        when = tenancy.move_out_date()
        leave_by = review["recommendation"]["leave_by"]
        self.step(f"22. 退租：{c['name']} 年审须腾退（期限 {leave_by}），于 {when} 搬离；工作人员发起退租、预约验房、"  # type: ignore[attr-defined]
                  "验房、结算押金（原路退回）、办结")
        done = tenancy.drive(self.send, self.bearer(c["token"]), staff, lease_id, when=when, started_by_staff={
            "reason": "年审结果为须腾退，承租人申请于腾退期限前搬离", "review_id": review["review_id"]})
        st = done["settlement"]
        for line in st["lines"]:
            self.say(f"    {line['label']}：{'-' if line['direction'] == 'charge' else '+'}{line['amount'] / 100:.2f} 元")  # type: ignore[attr-defined]
        if st["cancelled_bill_ids"]:
            self.say(f"    作废账单 {len(st['cancelled_bill_ids'])} 张（退租后月份、并入结算的欠费）")  # type: ignore[attr-defined]
        refund = st["refund"] or {}
        self.say(f"结算：{st['summary']}；退款 {refund.get('amount', 0) / 100:.2f} 元，"  # type: ignore[attr-defined]
                 f"{'原路退回' if refund.get('method') == 'provider' else '窗口退款'}（{refund.get('provider')}）"
                 f"{'已退款' if refund.get('status') == 'refunded' else refund.get('status')}")
        self.say(f"{c['name']} 的退租：{done['status_name']}；"  # type: ignore[attr-defined]
                 + " → ".join(e["note"] for e in done.get("timeline", [])[-3:]))
        lease = next(x for x in self.get("/v1/me/lease", c["token"])["items"] if x["lease_id"] == lease_id)  # type: ignore[attr-defined]
        self.say(f"租赁合同：{lease['status_name']}")  # type: ignore[attr-defined]


def _answer_to_recommendation(review: dict[str, Any]) -> str:
    """Answer to recommendation from the review's own timestamps (not the demo's polling)."""
    from datetime import datetime

    answered = (review.get("answer") or {}).get("answered_at")
    decided = (review.get("verification") or {}).get("decided_at")
    if not (answered and decided):
        return "（未得出建议）"
    return f" {(datetime.fromisoformat(decided) - datetime.fromisoformat(answered)).total_seconds():.2f}s "

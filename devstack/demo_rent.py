"""`make demo`, rent (issue 11): after the leases are confirmed, the month's billing run; one tenant
pays a bill with WeChat Pay and another two bills with Alipay (the provider simulator plays the
payer and the provider, and delivers each notification three times: the bills are paid once, one
voucher each); the vouchers are downloaded; a reconciliation of a past day finds the mismatch
planted in the provider's statement, and staff resolve it with a reason (audited).
"""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

CHINA = timezone(timedelta(hours=8))


class RentDemo:
    """A mixin of devstack.demo.Demo (needs its call/get/step/say/demo_token and state)."""

    base: str
    state: dict[str, Any]

    def sim(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        r = requests.post(f"{self.state['payments']}/control/{action}", json=body, timeout=60)
        r.raise_for_status()
        return dict(r.json())

    def rent(self, households: list[dict[str, Any]]) -> None:
        tenants = [c for c in households if c.get("lease")]
        if len(tenants) < 2 or not self.state.get("payments"):
            self.say("（没有两户已签约的承租人，或本地栈未启用支付模拟器：跳过租金演示）")
            return
        admin, staff = self.demo_token("admin"), self.demo_token("staff")
        out = Path(".local/demo")
        out.mkdir(parents=True, exist_ok=True)

        start = tenants[0]["lease"]["start_date"][:7]  # the leases start next month: bill that month
        self.step(f"12. 租金账单：管理员生成 {start} 的账单（按在租合同；重复生成不会重复出账）")
        for title in ("生成账单", "再生成一次：已出的账单不会重复"):
            run = self.call("POST", "/v1/admin/billing-runs", admin, {"month": start}, 202, title)
            deadline = time.monotonic() + 120
            while run["status"] == "running" and time.monotonic() < deadline:
                time.sleep(0.5)
                run = self.get(f"/v1/admin/billing-runs/{run['run_id']}", admin)
            self.say(f"批次 {run['run_id']}：{run['status_name']}，读取合同 {run['leases_seen']}，新出账单 "
                     f"{run['bills_created']}，已存在 {run['already_existing']}，跳过 {run['skipped']}，"
                     f"失败 {run['failed']}")

        first, second = tenants[0], tenants[1]
        self.step("13. 缴费：一户用微信支付交一笔，另一户用支付宝交两笔（押金与首月租金）；每条通知送达三次")
        paid: list[dict[str, Any]] = []
        for c, provider, count in ((first, "wechat", 1), (second, "alipay", 2)):
            bills = [b for b in self.get("/v1/me/bills", c["token"])["items"] if b["status"] == "unpaid"]
            chosen = sorted(bills, key=lambda b: b["kind"] != "rent")[:count]
            for b in chosen:
                self.say(f"    {c['name']}：{b['kind_name']} {b.get('month') or ''} {b['amount'] / 100:.2f} 元，"
                         f"{b['due_date']} 前缴纳")
            order = self.call("POST", "/v1/me/payments", c["token"],
                              {"bill_ids": [b["bill_id"] for b in chosen], "provider": provider}, 201,
                              f"{c['name']} 下单（{'微信支付' if provider == 'wechat' else '支付宝'}）")
            params = order["prepay"]["params"]
            pay: dict[str, Any] = {"order_id": order["payment_id"], "provider": provider,
                                   "deliver": "duplicate", "times": 3}
            if provider == "alipay":
                pay = {**pay, "order_string": params["order_string"]}
                self.sim("open", {"order_string": params["order_string"]})
            else:
                self.say(f"    微信支付 App 参数：prepayid={params.get('prepayid')}，已签名")
            delivered = self.sim("pay", pay)
            answers = [d.get("status") for d in delivered.get("deliveries", [])]
            self.say(f"    支付机构通知送达 {len(answers)} 次，服务端应答 {answers}")
            paid.append({"tenant": c, "payment_id": order["payment_id"]})

        self.step("14. 缴费结果与凭证（PDF，私有，短期链接）")
        for p in paid:
            c = p["tenant"]
            got = self.get(f"/v1/me/payments/{p['payment_id']}", c["token"])
            deadline = time.monotonic() + 30
            while got["status"] != "paid" and time.monotonic() < deadline:
                time.sleep(0.3)
                got = self.get(f"/v1/me/payments/{p['payment_id']}", c["token"])
            bills = self.get("/v1/me/bills", c["token"])["items"]
            link = self.get(f"/v1/payments/{p['payment_id']}/receipt", c["token"])
            pdf = requests.get(link["download"]["url"], timeout=30).content
            path = out / f"{p['payment_id']}.pdf"
            path.write_bytes(pdf)
            self.say(f"{c['name']}：{got['status_name']} {got['amount'] / 100:.2f} 元，交易号 {got['transaction_id']}，"
                     f"凭证 {got['receipt']['number']} → {path}（{len(pdf)} 字节）")
            self.say("    账单：" + "；".join(f"{b['kind_name']}{b.get('month') or ''} {b['status_name']}" for b in bills))
        history = self.get("/v1/me/payments", paid[1]["tenant"]["token"])["items"]
        self.say(f"{paid[1]['tenant']['name']} 的缴费记录：{len(history)} 笔（三次通知只记一笔）")

        self.step("15. 对账：下载支付机构前几日的对账单，双向核对；演示在对账单中预埋一条本系统没有的交易")
        day = (datetime.now(CHINA).date() - timedelta(days=2)).isoformat()
        planted = self.sim("plant", {"provider": "wechat", "day": day, "kind": "extra", "amount_delta": 1280})
        self.say(f"    预埋：{day} 微信对账单多出一笔 {planted.get('order_id')}（12.80 元）")
        rec = self.call("POST", "/v1/admin/reconciliations", admin, {"provider": "wechat", "day": day}, 200,
                        f"核对 {day} 的微信支付对账单")
        found = sum(rec["mismatches"].values())
        self.say(f"对账 {rec['reconciliation_id']}：{rec['status_name']}，对账单 {rec['lines_read']} 行，本方 "
                 f"{rec['ours_read']} 笔，匹配 {rec['matched']}，差异 {found}")
        open_ = self.get("/v1/staff/reconciliation-mismatches?status=open", staff)["items"]
        for m in [m for m in open_ if m["reconciliation_id"] == rec["reconciliation_id"]]:
            self.say(f"    差异：{m['kind_name']}，订单 {m['order_id']}，支付机构 {m['there']}")
            done = self.call("POST", f"/v1/staff/reconciliation-mismatches/{m['mismatch_id']}/resolve", staff,
                             {"action": "reported_to_provider", "reason": "支付机构对账单多记一笔，已提请更正"},
                             title="工作人员处理差异（记入审计）")
            self.say(f"    {done['status_name']}：{done['action_name']}（{done['reason']}）")
        arrears = self.get("/v1/staff/arrears/summary", staff)
        self.say(f"欠租汇总（按项目）：{len(arrears.get('items', []))} 个项目有欠费记录")
        self.tenancy(tenants)  # type: ignore[attr-defined]  # devstack/demo_tenancy.py: reviews, renewal, move-out


def today_china() -> date:
    return datetime.now(CHINA).date()

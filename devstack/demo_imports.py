"""`make demo`, going live with a city's existing data (issue 14 §1, docs/decisions/0036), steps 29-31:
the admin imports the national system's export of a second estate, 和悦园 (devstack/seed_data/imports/:
its estate, buildings, units (a GBK file, as the national system writes it) and tenants with their
leases), each file dry run first, then for real (run the demo again: every row unchanged, nothing
written); one imported tenant registers, passes the real-name check and finds their household and
lease; the month's billing run (the existing one) bills the imported leases and the tenant sees the
bill. A mixin of devstack.demo.Demo (its call/get/step/say/register/demo_user/demo_token).
"""
from __future__ import annotations

import csv
import io
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

SAMPLE = Path(__file__).resolve().parent / "seed_data" / "imports"
KINDS = (("estates", "项目"), ("buildings", "楼栋"), ("units", "房源（GBK 编码）"), ("tenants", "承租家庭及在租合同（GBK 编码）"))
CHINA = timezone(timedelta(hours=8))
#: The demo's login for the imported tenant (devstack.demo.Demo.demo_user: a fixed mobile per index).
TENANT_LOGIN = 29


class ImportsDemo:
    """Steps 29-31 over a devstack.demo.Demo (``ImportsDemo(demo).imports()``: one call line in its run)."""

    def __init__(self, demo: Any) -> None:
        self.demo = demo

    def __getattr__(self, name: str) -> Any:  # the demo's call/get/step/say/register/demo_user/demo_token
        return getattr(self.demo, name)

    def imports(self) -> None:
        admin = self.demo_token("admin")
        self.step("29. 数据导入：上传全国公租房信息系统导出的第二个项目（和悦园），先试运行、看报告，再正式导入")
        for kind, label in KINDS:
            found = self.import_file(admin, kind, label)
            if found["status"] != "applied":
                self.say(f"导入未完成：{found['status_name']} {found.get('reason') or ''}")
                return
        self.imported_tenant(admin)

    def import_file(self, admin: str, kind: str, label: str) -> dict[str, Any]:
        path = SAMPLE / f"{kind}.csv"
        created = self.call("POST", "/v1/admin/imports", admin, {"kind": kind, "format": "csv",
                                                                 "file_name": path.name}, 201, f"新建导入：{label}")
        form = created["upload"]
        response = requests.post(form["url"], data=form["fields"], files={"file": (path.name, path.read_bytes())},
                                 timeout=30)
        self.say(f"上传 {path.name}：{path.stat().st_size} 字节 -> {response.status_code}")
        import_id = created["import"]["import_id"]
        found: dict[str, Any] = {}
        for step, phase, title in (("dry-run", "dry_run", "试运行"), ("apply", "apply", "正式导入")):
            self.call("POST", f"/v1/admin/imports/{import_id}/{step}", admin, None, 202, title)
            found = self.wait_import(import_id, admin)
            p = found.get(phase) or {}
            self.say(f"{label} {title}：{found['status_name']}，读取 {p.get('rows_read', 0)} 行，新建 "
                     f"{p.get('created', 0)}，更新 {p.get('updated', 0)}，未变 {p.get('unchanged', 0)}，拒绝 "
                     f"{p.get('refused', 0)}")
            for e in found.get("errors_preview", [])[:5]:
                self.say(f"    第 {e['row']} 行 {e['column']}：{e['code']} {e['message']}")
            if found["status"] == "failed":
                break
        return found

    def wait_import(self, import_id: str, admin: str, timeout_s: float = 120) -> dict[str, Any]:
        """The import once its run has finished (the local stack's queue pump works through the chunks)."""
        deadline = time.monotonic() + timeout_s
        found = self.get(f"/v1/admin/imports/{import_id}", admin)
        while found.get("status") in ("dry_running", "applying") and time.monotonic() < deadline:
            time.sleep(0.5)
            found = self.get(f"/v1/admin/imports/{import_id}", admin)
        return dict(found)

    def imported_tenant(self, admin: str) -> None:
        rows = list(csv.reader(io.StringIO((SAMPLE / "tenants.csv").read_bytes().decode("gbk"))))
        main = rows[1]  # the first household's tenant (本人): name, ID number
        name, id_number = main[2], main[3]
        self.demo.private_names.add(name)
        self.step("30. 导入的承租人注册并通过实名核验：其家庭、租赁合同随之归属本人（按身份证号的加密索引认领）")
        token = self.demo_user(TENANT_LOGIN)["token"]
        me = requests.get(self.base + "/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        if me.status_code != 200:
            self.register(token, name, id_number, f"{name} 实名登记")
        household = self.get("/v1/me/household", token)
        self.say(f"{name} 的家庭 {household.get('household_id')}：{len(household.get('members', []))} 人")
        leases = self.get("/v1/me/lease", token).get("items", [])
        for lease in leases:
            self.say(f"租赁合同 {lease['lease_id']}：{lease['estate']['name']}{lease['unit']['building_name']}"
                     f"{lease['unit']['number']}，"
                     f"月租金 {lease['monthly_rent'] / 100:.2f} 元，{lease['start_date']} 至 {lease['end_date']}（{lease['status_name']}）")
        self.step("31. 账单：本月的出账批次（现有的账单生成）为导入的合同出账，承租人在 APP 中看到账单")
        now = datetime.now(CHINA)
        month = f"{now.year:04d}-{now.month:02d}"
        run = self.call("POST", "/v1/admin/billing-runs", admin, {"month": month}, 202, f"生成 {month} 账单")
        deadline = time.monotonic() + 120
        while run.get("status") == "running" and time.monotonic() < deadline:
            time.sleep(0.5)
            run = self.get(f"/v1/admin/billing-runs/{run['run_id']}", admin)
        self.say(f"出账批次 {run['run_id']}：{run['status_name']}，新出账单 {run['bills_created']}，已存在 "
                 f"{run['already_existing']}")
        for bill in self.get("/v1/me/bills", token).get("items", [])[:3]:
            self.say(f"{name} 的账单 {bill['bill_id']}：{bill['unit_label']} {bill.get('month') or ''} "
                     f"{bill['amount'] / 100:.2f} 元，{bill['status_name']}，缴费期限 {bill['due_date']}")

"""`make demo`, reporting upward (issue 14 §1, docs/decisions/0036 "Export"), step 34: the admin exports the
units and the tenants (households, members, their active lease) in the national system's columns, each
with a reason (audited); the local stack's queue pump writes the file part by part; the demo follows the
job's progress, downloads the file with its short-lived link and counts its rows. The units file is kept
in `.local/demo/`; the tenants file (ID numbers and names in clear) is only counted, never printed or
kept. A mixin of devstack.demo.Demo (its call/get/step/say/demo_token).
"""
from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import requests

OUT = Path(__file__).resolve().parent.parent / ".local" / "demo"
KINDS = (("units", "房源"), ("tenants", "承租家庭（含成员与在租合同）"))


class ExportsDemo:
    """Step 34 over a devstack.demo.Demo (``ExportsDemo(demo).exports()``: one call line in its run)."""

    def __init__(self, demo: Any) -> None:
        self.demo = demo

    def __getattr__(self, name: str) -> Any:  # the demo's call/get/step/say/demo_token
        return getattr(self.demo, name)

    def exports(self) -> None:
        admin = self.demo_token("admin")
        self.step("34. 数据导出：按全国公租房信息系统的列格式导出房源与承租家庭（须填写理由，记入审计），后台分段生成，下载链接短时有效")
        for kind, label in KINDS:
            self.export(admin, kind, label)

    def export(self, admin: str, kind: str, label: str) -> None:
        started = self.call("POST", "/v1/admin/exports", admin, {"kind": kind, "reason": "季度数据上报省住房城乡建设厅"},
                            202, f"导出{label}")
        found = self.wait_export(started["export_id"], admin)
        if found["status"] != "done":
            self.say(f"导出未完成：{found['status_name']} {found.get('reason') or ''}")
            return
        response = requests.get(found["download"]["url"], timeout=60)
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        self.say(f"{label}：{found['status_name']}，{found['rows']} 行；下载 -> {response.status_code}，"
                 f"{len(response.content)} 字节，表头 {len(rows[0]) if rows else 0} 列、数据 {len(rows) - 1} 行"
                 f"（链接有效至 {found['download']['expires_at']}）")
        if kind == "units":
            OUT.mkdir(parents=True, exist_ok=True)
            path = OUT / "export-units.csv"
            path.write_bytes(response.content)
            self.say(f"已保存 {path.relative_to(OUT.parent.parent)}（与导入文件同一格式：导入的记录再导入一次不会改变）")

    def wait_export(self, export_id: str, admin: str, timeout_s: float = 120) -> dict[str, Any]:
        """The export once done (or failed), its rows written shown while it runs."""
        deadline = time.monotonic() + timeout_s
        found = self.get(f"/v1/admin/exports/{export_id}", admin)
        shown = -1
        while found.get("status") in ("queued", "running") and time.monotonic() < deadline:
            if found.get("status") == "running" and found.get("rows") and found["rows"] != shown:
                shown = found["rows"]
                self.say(f"导出中：已写入 {shown} 行")
            time.sleep(0.5)
            found = self.get(f"/v1/admin/exports/{export_id}", admin)
        return dict(found)

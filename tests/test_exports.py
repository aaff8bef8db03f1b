"""Exports (docs/decisions/0036 "Export"): the sample national export imported, then exported through
the routes (a job on the imports queue, audited, a short-lived link) in the same columns, then the
export imported again: nothing created, nothing updated."""
from __future__ import annotations

import csv
import io
from typing import Any

import requests

from tests.applying import call
from tests.test_imports import admin, city, drain, import_sample, run  # noqa: F401 - the fixture resets the city

KINDS = ("estates", "buildings", "units")


def export(client: Any, stack: Any, tokens: Any, kind: str) -> tuple[dict[str, Any], str]:
    status, started = call(client, "POST", "/v1/admin/exports", admin(tokens), {"kind": kind, "reason": "季度上报省厅"})
    assert status == 202 and started["status"] == "queued" and started["download"] is None, started
    drain(stack)
    status, done = call(client, "GET", f"/v1/admin/exports/{started['export_id']}", admin(tokens))
    assert status == 200 and done["status"] == "done", done
    text = requests.get(done["download"]["url"], timeout=10).content.decode("utf-8")
    return dict(done), text


def test_an_export_imported_again_changes_nothing(client: Any, stack: Any, tokens: Any) -> None:
    imported = import_sample(client, stack, tokens)
    assert [imported[k]["apply"]["created"] for k in KINDS] == [1, 2, 12]
    jobs = {kind: export(client, stack, tokens, kind) for kind in KINDS}
    assert [jobs[k][0]["rows"] for k in KINDS] == [1, 2, 12]
    assert jobs["units"][1].startswith("\ufeff")  # Excel opens it in Chinese
    table = list(csv.reader(io.StringIO(jobs["units"][1].lstrip("\ufeff"))))
    assert table[0][:2] == ["房源编码", "项目编码"] and len(table) == 13
    assert ["JM-FY-0102-B1-201", "JM-XM-0102", "B1", "201", "三房一厅", "76.80", "2", "760.00", "南", "已出租"] in table
    again = {kind: run(client, stack, tokens, kind, jobs[kind][1].encode("utf-8")) for kind in KINDS}
    assert [(again[k]["apply"]["created"], again[k]["apply"]["updated"], again[k]["apply"]["refused"],
             again[k]["apply"]["unchanged"]) for k in KINDS] == [(0, 0, 0, 1), (0, 0, 0, 2), (0, 0, 0, 12)]
    from chalicelib.domain import audit

    trail = audit.trail(f"export:{jobs['units'][0]['export_id']}")
    assert [t["action"] for t in trail] == ["export_units"]


def test_an_export_needs_a_kind_it_can_write_and_a_reason_and_an_unknown_one_is_a_404(
        client: Any, tokens: Any) -> None:
    status, body = call(client, "POST", "/v1/admin/exports", admin(tokens), {"kind": "units"})
    assert status == 400 and body["error"]["code"] == "INVALID_PARAMETER" and "导出理由" in body["error"]["message"]
    status, body = call(client, "POST", "/v1/admin/exports", admin(tokens), {"kind": "tenants", "reason": "上报"})
    assert status == 400 and "导出数据类别" in body["error"]["message"]
    status, body = call(client, "GET", "/v1/admin/exports/exp_0000000000000000", admin(tokens))
    assert status == 404 and body["error"]["code"] == "EXPORT_NOT_FOUND" and body["error"]["message"] == "未找到该导出任务"

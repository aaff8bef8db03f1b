"""Exports (docs/decisions/0036 "Export"): the sample national export imported, then exported through
the routes (a job on the imports queue, audited, a short-lived link) in the same columns, then the
export imported again: nothing created, nothing updated; tenants (households, members, active lease)
read by a parallel Scan of the households table; an export in many parts (one message each, the next
queued with its cursor), its progress visible while it runs, a re-delivered message writing no row twice."""
from __future__ import annotations

import csv
import io
from typing import Any, Iterator

import botocore.client
import pytest
import requests

from tests.applying import Citizen, call, register
from tests.test_imports import admin, city, drain, import_sample, run, sample  # noqa: F401 - the fixture resets the city

KINDS = ("estates", "buildings", "units", "tenants")
_UNPATCHED = botocore.client.BaseClient._make_api_call  # before the suite's guard wraps it


@pytest.fixture()
def household_scans(no_scans: list[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A tenants export scans the households table (a job reading every household, not a request path);
    a Scan of any other table still fails the test."""
    guarded = botocore.client.BaseClient._make_api_call
    scanned: list[str] = []

    def scanning(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "Scan" and self.meta.service_model.service_name == "dynamodb":
            from chalicelib.deps import deps

            assert params["TableName"] == deps().settings.table("households"), params["TableName"]
            scanned.append(f"{params.get('Segment')}/{params.get('TotalSegments')}")
            return _UNPATCHED(self, operation, params)
        return guarded(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", scanning)
    yield scanned


def start(client: Any, tokens: Any, kind: str) -> dict[str, Any]:
    status, started = call(client, "POST", "/v1/admin/exports", admin(tokens), {"kind": kind, "reason": "季度上报省厅"})
    assert status == 202 and started["status"] == "queued" and started["download"] is None, started
    return dict(started)


def finished(client: Any, tokens: Any, export_id: str) -> tuple[dict[str, Any], str]:
    status, done = call(client, "GET", f"/v1/admin/exports/{export_id}", admin(tokens))
    assert status == 200 and done["status"] == "done", done
    text = requests.get(done["download"]["url"], timeout=10).content.decode("utf-8")
    return dict(done), text


def export(client: Any, stack: Any, tokens: Any, kind: str) -> tuple[dict[str, Any], str]:
    started = start(client, tokens, kind)
    drain(stack)
    return finished(client, tokens, started["export_id"])


def table(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")  # Excel opens it in Chinese
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_an_export_imported_again_changes_nothing(client: Any, stack: Any, tokens: Any,
                                                   household_scans: list[str]) -> None:
    imported = import_sample(client, stack, tokens)
    assert [imported[k]["apply"]["created"] for k in KINDS] == [1, 2, 12, 5]
    jobs = {kind: export(client, stack, tokens, kind) for kind in KINDS}
    assert [jobs[k][0]["rows"] for k in KINDS] == [1, 2, 12, 10]
    units = table(jobs["units"][1])
    assert units[0][:2] == ["房源编码", "项目编码"] and len(units) == 13
    assert ["JM-FY-0102-B1-201", "JM-XM-0102", "B1", "201", "三房一厅", "76.80", "2", "760.00", "南", "已出租"] in units
    # tenants: one row per member, a household's rows together, the lease on the tenant's own row
    tenants = table(jobs["tenants"][1])
    assert tenants[0] == ["家庭编码", "与承租人关系", "姓名", "身份证号码", "联系电话", "月收入（元）", "户籍", "合同编号",
                          "房源编码", "合同月租金（元）", "押金（元）", "合同起始日期", "合同终止日期"]
    national = list(csv.reader(io.StringIO(sample("tenants").decode("gbk"))))[1:]
    assert sorted(r[3] for r in tenants[1:]) == sorted(r[3] for r in national)  # every member, once
    first = [r for r in tenants[1:] if r[0] == "JM-JT-0102-001"]
    assert [r[1] for r in first] == ["本人", "配偶", "子女"] and first[0][2] == national[0][2]
    assert first[0][5:] == ["3200.00", "本市", "JM-HT-2025-0102001", "JM-FY-0102-B1-201", "760.00", "1520.00",
                            "2025-07-01", "2028-06-30"]
    assert first[1][7:] == [""] * 6  # a member's row carries no lease
    assert sorted(set(household_scans)) == ["0/4", "1/4", "2/4", "3/4"]  # the four segments, in parallel on AWS
    again = {kind: run(client, stack, tokens, kind, jobs[kind][1].encode("utf-8")) for kind in KINDS}
    assert [(again[k]["apply"]["created"], again[k]["apply"]["updated"], again[k]["apply"]["refused"],
             again[k]["apply"]["unchanged"]) for k in KINDS] == [(0, 0, 0, 1), (0, 0, 0, 2), (0, 0, 0, 12), (0, 0, 0, 5)]
    from chalicelib.domain import audit

    for kind in ("units", "tenants"):
        trail = audit.trail(f"export:{jobs[kind][0]['export_id']}")
        assert [(t["action"], t["reason"]) for t in trail] == [(f"export_{kind}", "季度上报省厅")]


def test_tenants_are_the_imported_households_and_those_housed_here_not_applicants(
        client: Any, stack: Any, tokens: Any, household_scans: list[str]) -> None:
    from tests.reviewing import housed

    import_sample(client, stack, tokens)
    # the imported tenant claims their household at real name: still exported once, with their lease
    main = next(r for r in csv.reader(io.StringIO(sample("tenants").decode("gbk"))) if r[0] == "JM-JT-0102-001")
    register(client, Citizen(stack, name=main[2]), name=main[2], id_number=main[3])
    tenant = housed(client, stack, "林晓燕")  # housed through the app: a household of one, a confirmed lease
    applicant = Citizen(stack, name="陈建国", born="19850101")  # a household, no lease: not a tenant yet
    register(client, applicant)
    status, body = call(client, "PUT", "/v1/me/household", applicant.headers(), {"members": [applicant.member()]})
    assert status == 200, body
    done, text = export(client, stack, tokens, "tenants")
    rows = table(text)[1:]
    assert done["rows"] == 11 == len(rows)
    assert [r[7] for r in rows if r[0] == "JM-JT-0102-001" and r[1] == "本人"] == ["JM-HT-2025-0102001"]
    (mine,) = [r for r in rows if r[3] == tenant.person.id_number]
    assert mine[1] == "本人" and mine[2] == "林晓燕" and mine[7] == tenant.lease_id.upper() and mine[9] == "400.00"
    assert mine[0].startswith("HH_")
    assert applicant.id_number not in text
    # moved out (the lease ended): a household housed here is no tenant any more; an imported one stays, lease-less
    from chalicelib.repositories.tables import LeaseRecord

    for lease_id in (tenant.lease_id, "lsi_jm-ht-2025-0102002"):
        LeaseRecord(lease_id).update(actions=[LeaseRecord.status.set("ended"), LeaseRecord.active_shard.remove()])
    done, text = export(client, stack, tokens, "tenants")
    rows = table(text)[1:]
    assert done["rows"] == 10 == len(rows) and tenant.person.id_number not in text
    assert [r[7:] for r in rows if r[0] == "JM-JT-0102-002"] == [[""] * 6]


def test_an_export_in_parts_shows_its_progress_and_a_redelivered_part_writes_no_row_twice(
        client: Any, stack: Any, tokens: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.domain import exports

    import_sample(client, stack, tokens)
    monkeypatch.setattr(exports, "PAGE", 2)
    monkeypatch.setattr(exports, "PART_ROWS", 3)  # a page of 2, then another: 4 rows a part, 3 parts for 12 units
    started = start(client, tokens, "units")
    queue = stack.queues["imports"]
    assert stack._invoke_once(queue, "run_imports") == (1, 0)  # the first part only
    status, running = call(client, "GET", f"/v1/admin/exports/{started['export_id']}", admin(tokens))
    assert status == 200 and running["status"] == "running" and running["rows"] == 4 and running["download"] is None
    # the first part's message delivered again: its part rewritten or skipped, never appended; the next not re-sent
    first = {"step": "export", "export_id": started["export_id"], "segment": 0, "part": 0, "cursor": None}
    assert exports.process(first) == "part 0/0 written already"
    assert stack._invoke_once(queue, "run_imports") == (1, 0)  # the second part, alone on the queue
    status, running = call(client, "GET", f"/v1/admin/exports/{started['export_id']}", admin(tokens))
    assert running["status"] == "running" and running["rows"] == 8
    drain(stack)
    done, text = finished(client, tokens, started["export_id"])
    rows = table(text)[1:]
    assert done["rows"] == 12 == len(rows) == len({r[0] for r in rows})
    from chalicelib.deps import deps

    assert deps().exports.get_json(exports.segment_key(started["export_id"], 0)) == {
        "parts": 3, "rows": 12, "cursor": None, "done": True}
    assert exports.process(first) == "done"  # after the end: nothing to do


def test_a_part_whose_next_message_was_lost_sends_it_when_delivered_again(
        client: Any, stack: Any, tokens: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain import exports

    import_sample(client, stack, tokens)
    monkeypatch.setattr(exports, "PAGE", 5)
    monkeypatch.setattr(exports, "PART_ROWS", 5)
    started = start(client, tokens, "units")
    repository = type(deps().imports)
    real = repository.send
    sent: list[dict[str, Any]] = []

    def lost(self: Any, messages: list[dict[str, Any]]) -> None:
        raise ConnectionError("the queue went away")

    def recorded(self: Any, messages: list[dict[str, Any]]) -> None:
        sent.extend(messages)
        real(self, messages)

    monkeypatch.setattr(repository, "send", lost)
    assert stack._invoke_once(stack.queues["imports"], "run_imports") == (0, 1)  # part 0 written, the next not sent
    monkeypatch.setattr(repository, "send", recorded)
    first = {"step": "export", "export_id": started["export_id"], "segment": 0, "part": 0, "cursor": None}
    assert exports.process(first) == "part 0/0 written already"  # delivered again: the next part sent, once
    assert [(m["part"], m["cursor"] is not None) for m in sent] == [(1, True)]
    assert exports.process(first) == "part 0/0 written already" and len(sent) == 1
    drain(stack)
    done, text = finished(client, tokens, started["export_id"])
    assert done["rows"] == 12 == len(table(text)) - 1 and [m["part"] for m in sent] == [1, 2]


def test_an_export_needs_a_kind_it_can_write_and_a_reason_and_an_unknown_one_is_a_404(
        client: Any, tokens: Any) -> None:
    status, body = call(client, "POST", "/v1/admin/exports", admin(tokens), {"kind": "units"})
    assert status == 400 and body["error"]["code"] == "INVALID_PARAMETER" and "导出理由" in body["error"]["message"]
    status, body = call(client, "POST", "/v1/admin/exports", admin(tokens), {"kind": "bills", "reason": "上报"})
    assert status == 400 and "导出数据类别" in body["error"]["message"]
    status, body = call(client, "POST", "/v1/admin/exports", admin(tokens), {"kind": "tenants", "reason": " "})
    assert status == 400 and body["error"]["code"] == "INVALID_PARAMETER"
    status, body = call(client, "GET", "/v1/admin/exports/exp_0000000000000000", admin(tokens))
    assert status == 404 and body["error"]["code"] == "EXPORT_NOT_FOUND" and body["error"]["message"] == "未找到该导出任务"

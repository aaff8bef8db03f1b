"""Imports (数据导入, issue 14 §1, docs/decisions/0036) on the local stack: the sample export of a second
estate (devstack/seed_data/imports/) through the routes and the imports queue, dry run then the real
run; a re-import that writes nothing; a corrected file updating by the national ids; bad files and
bad rows (wrong header, GBK, duplicated ids, a lease on a missing unit, a negative rent, a bad check
digit), each refused row in the report and the good rows kept; XLSX; the imported tenant claiming
their household, lease and bills at real-name registration; billing and a review campaign over an
imported lease."""
from __future__ import annotations

import csv
import re
import io
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.domain.idnumbers import id_check_digit
from tests.applying import Citizen, call, register

SAMPLE = Path(__file__).resolve().parent.parent / "devstack" / "seed_data" / "imports"
KINDS = ("estates", "buildings", "units", "tenants")


@pytest.fixture(autouse=True)
def city(stack: Any) -> None:
    """A fresh city with the areas and streets the sample names (江海片区, 礼乐街道)."""
    from chalicelib.bodies import AreaIn, StreetIn
    from chalicelib.domain import areas

    stack.reset()
    areas.create_area(AreaIn.model_validate({"area_id": "jianghai", "name": "江海片区", "district": "江海区"}))
    areas.create_street("jianghai", StreetIn.model_validate({"street_id": "lile", "name": "礼乐街道"}))


def admin(tokens: Any) -> dict[str, str]:
    return tokens.headers("admin")


def drain(stack: Any) -> None:
    for _ in range(30):
        counts = stack.drain(rounds=20, only=("imports",))
        if not counts["imports"] and not counts["failed"]:
            return
    raise AssertionError("the imports queue did not drain")


def upload(client: Any, tokens: Any, kind: str, content: bytes, fmt: str = "csv") -> str:
    status, created = call(client, "POST", "/v1/admin/imports", admin(tokens),
                           {"kind": kind, "format": fmt, "file_name": f"{kind}.{fmt}"})
    assert status == 201, created
    assert created["import"]["status"] == "awaiting_upload"
    form = created["upload"]
    response = requests.post(form["url"], data=form["fields"], files={"file": ("f", content)}, timeout=10)
    assert response.status_code == 204, response.text
    return str(created["import"]["import_id"])


def dry_run(client: Any, stack: Any, tokens: Any, import_id: str) -> dict[str, Any]:
    status, started = call(client, "POST", f"/v1/admin/imports/{import_id}/dry-run", admin(tokens))
    assert status == 202, started
    drain(stack)
    status, found = call(client, "GET", f"/v1/admin/imports/{import_id}", admin(tokens))
    assert status == 200
    return dict(found)


def apply(client: Any, stack: Any, tokens: Any, import_id: str) -> dict[str, Any]:
    status, started = call(client, "POST", f"/v1/admin/imports/{import_id}/apply", admin(tokens))
    assert status == 202, started
    drain(stack)
    status, found = call(client, "GET", f"/v1/admin/imports/{import_id}", admin(tokens))
    assert status == 200
    return dict(found)


def run(client: Any, stack: Any, tokens: Any, kind: str, content: bytes, fmt: str = "csv") -> dict[str, Any]:
    import_id = upload(client, tokens, kind, content, fmt)
    checked = dry_run(client, stack, tokens, import_id)
    assert checked["status"] == "dry_run_done", checked
    return apply(client, stack, tokens, import_id)


def sample(kind: str) -> bytes:
    return (SAMPLE / f"{kind}.csv").read_bytes()


def import_sample(client: Any, stack: Any, tokens: Any) -> dict[str, dict[str, Any]]:
    return {kind: run(client, stack, tokens, kind, sample(kind)) for kind in KINDS}


def report(client: Any, tokens: Any, import_id: str) -> list[list[str]]:
    status, link = call(client, "GET", f"/v1/admin/imports/{import_id}/report", admin(tokens))
    assert status == 200, link
    text = requests.get(link["download"]["url"], timeout=10).content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_sample_export_is_imported_dry_run_first_then_for_real(client: Any, stack: Any, tokens: Any) -> None:
    import_id = upload(client, tokens, "estates", sample("estates"))
    checked = dry_run(client, stack, tokens, import_id)
    assert checked["status"] == "dry_run_done" and checked["dry_run"]["created"] == 1 and checked["apply"] is None
    status, _ = call(client, "GET", "/v1/estates/jm-xm-0102", {})
    assert status == 404  # the dry run wrote nothing but its report
    done = apply(client, stack, tokens, import_id)
    assert done["status"] == "applied" and done["apply"]["created"] == 1 and done["apply"]["rows_read"] == 1
    results = {"estates": done} | {kind: run(client, stack, tokens, kind, sample(kind)) for kind in KINDS[1:]}
    assert [results[k]["apply"]["created"] for k in KINDS] == [1, 2, 12, 5]
    assert results["tenants"]["apply"]["rows_read"] == 10 and results["tenants"]["apply"]["refused"] == 0
    status, estate = call(client, "GET", "/v1/estates/jm-xm-0102", {})
    assert status == 200 and estate["name"] == "和悦园" and [b["name"] for b in estate["buildings"]] == ["1栋", "2栋"]
    assert estate["units_total"] == 12 and estate["units_vacant"] == 7  # five leased by the imported leases
    status, page = call(client, "GET", "/v1/units?estate=jm-xm-0102&status=leased&limit=20", {})
    assert status == 200 and len(page["items"]) == 5


class DataWrites:
    """DynamoDB write requests that touch a table other than the imports' own (its progress items)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __enter__(self) -> "DataWrites":
        import botocore.client

        self._original = botocore.client.BaseClient._make_api_call
        original, calls = self._original, self.calls

        def counting(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if client.meta.service_model.service_name == "dynamodb" and operation in WRITES:
                tables = {params.get("TableName")} | {t for x in params.get("TransactItems", [])
                                                      for t in (v.get("TableName") for v in x.values())}
                tables |= set(params.get("RequestItems", {}))
                if any(t and not t.endswith("-imports") for t in tables):
                    calls.append(operation)
            return original(client, operation, params)

        botocore.client.BaseClient._make_api_call = counting  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: Any) -> None:
        import botocore.client

        botocore.client.BaseClient._make_api_call = self._original  # type: ignore[method-assign]


WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


def test_importing_the_same_file_again_writes_nothing_and_a_corrected_file_updates_by_national_id(
        client: Any, stack: Any, tokens: Any) -> None:
    import_sample(client, stack, tokens)
    with DataWrites() as writes:
        again = {kind: run(client, stack, tokens, kind, sample(kind)) for kind in KINDS}
    assert writes.calls == []
    assert [(again[k]["apply"]["unchanged"], again[k]["apply"]["created"], again[k]["apply"]["updated"])
            for k in KINDS] == [(1, 0, 0), (2, 0, 0), (12, 0, 0), (5, 0, 0)]
    # a corrected export: one unit's rent, one household's lease rent; nothing else changes, nothing deleted
    units = changed("units", "JM-FY-0102-B1-402", "月租金（元）", "600.00")
    fixed = run(client, stack, tokens, "units", units)
    assert (fixed["apply"]["updated"], fixed["apply"]["unchanged"], fixed["apply"]["created"]) == (1, 11, 0)
    status, unit = call(client, "GET", "/v1/units/jm-fy-0102-b1-402", {})
    assert status == 200 and unit["rent"] == 60000 and unit["status"] == "vacant"
    tenants = changed("tenants", "JM-HT-2025-0102002", "合同月租金（元）", "290.00")
    fixed = run(client, stack, tokens, "tenants", tenants)
    assert (fixed["apply"]["updated"], fixed["apply"]["unchanged"]) == (1, 4)
    from chalicelib.deps import deps

    lease = deps().leases.get("lsi_jm-ht-2025-0102002")
    assert lease.monthly_rent == 29000 and lease.owner is None and lease.status == "confirmed"
    status, estate = call(client, "GET", "/v1/estates/jm-xm-0102", {})
    assert estate["units_total"] == 12 and estate["units_vacant"] == 7


def changed(kind: str, row_with: str, column: str, value: str) -> bytes:
    """The sample with one cell changed (the row holding ``row_with``), in the sample's encoding (GBK)."""
    rows = list(csv.reader(io.StringIO(sample(kind).decode("gbk"))))
    at = rows[0].index(column)
    hits = [r for r in rows if row_with in r]
    assert len(hits) == 1 and hits[0][at] != value
    hits[0][at] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("gbk")


def _bad(rows: list[list[str]]) -> bytes:
    header = sample("tenants").decode("gbk").splitlines()[0]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return (header + "\r\n" + out.getvalue()).encode("gbk")


def _idn(born: str, seq: int) -> str:
    first = f"440704{born}{seq:03d}"
    return first + id_check_digit(first)


def test_bad_rows_are_each_reported_the_good_ones_kept_and_a_household_lands_whole_or_not_at_all(
        client: Any, stack: Any, tokens: Any) -> None:
    for kind in KINDS[:3]:
        run(client, stack, tokens, kind, sample(kind))
    good = _idn("19800101", 13)
    bad_digit = _idn("19810101", 23)[:-1] + ("0" if _idn("19810101", 23)[-1] != "0" else "1")
    rows = [
        ["HH-OK", "本人", "何文军", good, "13600000201", "3000", "本市户籍", "HT-OK", "JM-FY-0102-B1-201", "580.00",
         "1160.00", "2025-07-01", "2028-06-30"],
        ["HH-NOUNIT", "本人", "罗海燕", _idn("19820101", 33), "", "3000", "", "HT-NOUNIT", "JM-FY-9999", "580.00",
         "1160.00", "2025-07-01", "2028-06-30"],
        ["HH-NOUNIT", "配偶", "罗志明", _idn("19830101", 43), "", "", "", "", "", "", "", "", ""],
        ["HH-NEG", "本人", "邓晓红", _idn("19840101", 52), "", "3000", "", "HT-NEG", "JM-FY-0102-B1-202", "-580.00",
         "1160.00", "2025-07-01", "2028-06-30"],
        ["HH-DIGIT", "本人", "谢建平", _idn("19850101", 63), "", "3000", "", "HT-DIGIT", "JM-FY-0102-B1-301", "580.00",
         "1160.00", "2025-07-01", "2028-06-30"],
        ["HH-DIGIT", "子女", "谢小雨", bad_digit, "", "", "", "", "", "", "", "", ""],
        ["HH-DUP", "本人", "何文军", good, "", "3000", "", "HT-DUP", "JM-FY-0102-B2-201", "580.00", "1160.00",
         "2025-07-01", "2028-06-30"],
    ]
    done = run(client, stack, tokens, "tenants", _bad(rows))
    assert (done["apply"]["rows_read"], done["apply"]["created"], done["apply"]["refused"]) == (7, 1, 6), done
    found = report(client, tokens, done["import_id"])
    assert found[0] == ["行号", "列", "错误代码", "说明"]
    codes = {int(r[0]): (r[1], r[2]) for r in found[1:]}
    assert codes == {3: ("房源编码", "IMPORT_UNIT_NOT_FOUND"), 4: ("", "IMPORT_HOUSEHOLD_REFUSED"),
                     5: ("合同月租金（元）", "IMPORT_NEGATIVE_AMOUNT"), 6: ("", "IMPORT_HOUSEHOLD_REFUSED"),
                     7: ("身份证号码", "IMPORT_BAD_ID_NUMBER"), 8: ("身份证号码", "IMPORT_DUPLICATE_ID")}, codes
    preview = done["errors_preview"]
    assert [p["row"] for p in preview] == [3, 4, 5, 6, 7, 8] and all(p["message"] for p in preview)
    from chalicelib.deps import deps

    assert deps().households.get_household("hhi_hh-nounit") is None  # refused whole: nothing half-written
    assert deps().households.get_household("hhi_hh-digit") is None
    status, unit = call(client, "GET", "/v1/units/jm-fy-0102-b1-301", {})
    assert unit["status"] == "vacant"
    assert deps().households.get_household("hhi_hh-ok") is not None


def test_a_wrong_header_is_refused_at_once_and_an_xlsx_file_imports_like_a_csv(
        client: Any, stack: Any, tokens: Any) -> None:
    wrong = "编号,名称\r\nJM-XM-0102,和悦园\r\n".encode()
    import_id = upload(client, tokens, "estates", wrong)
    status, refused = call(client, "POST", f"/v1/admin/imports/{import_id}/dry-run", admin(tokens))
    assert status == 400 and refused["error"]["code"] == "IMPORT_BAD_HEADER" and "项目名称" in refused["error"]["message"]
    from openpyxl import Workbook

    for kind in KINDS[:2]:
        run(client, stack, tokens, kind, sample(kind))
    book = Workbook()
    sheet = book.active
    for row in csv.reader(io.StringIO(sample("units").decode("gbk"))):
        sheet.append([float(x) if x.replace(".", "").isdigit() and "." in x else x for x in row])
    data = io.BytesIO()
    book.save(data)
    done = run(client, stack, tokens, "units", data.getvalue(), "xlsx")
    assert (done["apply"]["created"], done["apply"]["refused"]) == (12, 0), done
    status, unit = call(client, "GET", "/v1/units/jm-fy-0102-b1-201", {})
    assert status == 200 and unit["rent"] == 76000 and unit["floor_area"] == 76.8


def test_the_order_of_steps_is_kept(client: Any, stack: Any, tokens: Any) -> None:
    import_id = upload(client, tokens, "estates", sample("estates"))
    status, body = call(client, "POST", f"/v1/admin/imports/{import_id}/apply", admin(tokens))
    assert status == 409 and body["error"]["code"] == "IMPORT_DRY_RUN_REQUIRED"
    status, body = call(client, "GET", f"/v1/admin/imports/{import_id}/report", admin(tokens))
    assert status == 409 and body["error"]["code"] == "IMPORT_REPORT_NOT_READY"
    done = apply(client, stack, tokens, import_id) if dry_run(client, stack, tokens, import_id) else {}
    assert done["status"] == "applied"
    for step in ("dry-run", "apply"):
        status, body = call(client, "POST", f"/v1/admin/imports/{import_id}/{step}", admin(tokens))
        assert status == 409 and body["error"]["code"] == "IMPORT_ALREADY_APPLIED"
    status, created = call(client, "POST", "/v1/admin/imports", admin(tokens), {"kind": "units", "format": "csv"})
    status, body = call(client, "POST", f"/v1/admin/imports/{created['import']['import_id']}/dry-run", admin(tokens))
    assert status == 409 and body["error"]["code"] == "IMPORT_NOT_UPLOADED"
    status, body = call(client, "GET", "/v1/admin/imports/imp_nothing", admin(tokens))
    assert status == 404 and body["error"]["code"] == "IMPORT_NOT_FOUND"
    status, body = call(client, "POST", "/v1/admin/imports", admin(tokens), {"kind": "people", "format": "csv"})
    assert status == 400
    status, body = call(client, "POST", "/v1/admin/imports", tokens.headers("staff"), {"kind": "units", "format": "csv"})
    assert status == 403
    status, listed = call(client, "GET", "/v1/admin/imports?limit=5", admin(tokens))
    assert status == 200 and listed["items"][0]["import_id"] == created["import"]["import_id"]


def _drain_all(stack: Any) -> None:
    for _ in range(50):
        counts = stack.drain(rounds=20)
        if not any(v for k, v in counts.items() if k != "notifications"):
            return
    raise AssertionError("the queues did not drain")


def test_an_imported_tenant_is_billed_and_reviewed_then_claims_household_lease_bills_and_review(
        client: Any, stack: Any, tokens: Any) -> None:
    from chalicelib.deps import deps
    from chalicelib.domain.common import now

    import_sample(client, stack, tokens)
    lease_id = "lsi_jm-ht-2025-0102001"
    month = f"{now().year:04d}-{now().month:02d}"
    status, started = call(client, "POST", "/v1/admin/billing-runs", admin(tokens), {"month": month})
    assert status == 202, started
    status, opened = call(client, "POST", "/v1/admin/review-campaigns", admin(tokens),
                          {"scope": "all", "year": now().year})
    assert status == 202, opened
    _drain_all(stack)
    bills = deps().bills.of_lease(lease_id)
    assert [(b.kind, b.month, b.amount, b.owner) for b in bills] == [("rent", month, 76000, None)]
    (review,) = deps().reviews.of_lease(lease_id)
    assert review.owner is None and review.status == "open"
    # the tenant registers; once the real-name check vouches for them the household, lease, bill and review are theirs
    main = next(r for r in csv.reader(io.StringIO(sample("tenants").decode("gbk"))) if r[0] == "JM-JT-0102-001")
    tenant = Citizen(stack, name=main[2])
    register(client, tenant, name=main[2], id_number=main[3])
    status, household = call(client, "GET", "/v1/me/household", tenant.headers())
    assert status == 200 and household["household_id"] == "hhi_jm-jt-0102-001" and len(household["members"]) == 3
    assert household["claimed"] is True
    status, leases = call(client, "GET", "/v1/me/lease", tenant.headers())
    assert status == 200 and [x["lease_id"] for x in leases["items"]] == [lease_id], leases
    status, mine = call(client, "GET", "/v1/me/bills", tenant.headers())
    assert status == 200 and [b["bill_id"] for b in mine["items"]] == [bills[0].bill_id]
    status, current = call(client, "GET", "/v1/me/reviews/current", tenant.headers())
    assert status == 200 and current["review_id"] == review.review_id
    owner = deps().leases.get(lease_id).owner
    assert owner is not None and deps().bills.of_lease(lease_id)[0].owner == owner
    assert deps().imports.claim("hhi_jm-jt-0102-001", "p-someone-else", "sub-someone-else") == 0  # owned: once
    assert deps().leases.get(lease_id).owner == owner


def test_the_operator_cli_uploads_runs_the_dry_run_shows_the_report_and_applies(
        stack: Any, tokens: Any, local_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m tools.importer FILE --kind ... --city ... --api ... --token ... --apply` against the
    app served over HTTP (as `make run` serves it), the queue worked on as `make run`'s pump does."""
    import threading

    from tools import importer

    stop = threading.Event()

    def pump() -> None:
        while not stop.wait(0.2):
            stack.drain(rounds=5, only=("imports",))

    worker = threading.Thread(target=pump, daemon=True)
    worker.start()
    try:
        args = ["--city", "jiangmen", "--api", local_server, "--token", tokens("admin")]
        assert importer.main([str(SAMPLE / "estates.csv"), "--kind", "estates", *args]) == 0  # dry run only
        out = capsys.readouterr().out
        assert "试运行" in out and "imp_" in out and "正式导入" not in out
        assert importer.main([str(SAMPLE / "estates.csv"), "--kind", "estates", "--apply", *args]) == 0
        assert "已导入" in capsys.readouterr().out
        assert importer.main([str(SAMPLE / "units.csv"), "--kind", "units", "--apply", *args]) == 2  # no buildings yet
        out = capsys.readouterr().out
        assert "IMPORT_BUILDING_NOT_FOUND" in out and "完整报告" in out
        assert importer.main([str(SAMPLE / "units.csv"), "--kind", "units", "--city", "xining", "--api", local_server,
                              "--token", tokens("admin")]) == 1
        assert "serves jiangmen, not xining" in capsys.readouterr().out
    finally:
        stop.set()
        worker.join()


def test_make_demo_steps_29_to_31_import_the_second_estate_and_its_tenant_sees_lease_and_bill(
        stack: Any, local_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    """devstack/demo_imports.py against the app over HTTP, the queues worked on as under `make run`."""
    import threading

    from devstack.__main__ import _run_workers
    from devstack.demo import Demo
    from devstack.demo_imports import ImportsDemo

    stop = threading.Event()
    drainer = threading.Thread(target=_run_workers, args=(stack, stop), daemon=True)
    drainer.start()
    try:
        state = {"endpoint": stack.endpoint, "pool_id": stack.identity.pool_id, "client_id": stack.identity.client_id,
                 "users": stack.identity.users, "city": stack.city, "realname": stack.realname.base_url}
        demo = ImportsDemo(Demo(local_server, state))
        demo.imports()
        first = capsys.readouterr().out
        demo.imports()  # `make demo` again: every row unchanged
        again = capsys.readouterr().out
    finally:
        stop.set()
        drainer.join(5)
    assert "-> 500" not in first and "导入未完成" not in first
    assert "承租家庭及在租合同（GBK 编码） 正式导入：已导入，读取 10 行，新建 5，更新 0，未变 0，拒绝 0" in first
    assert "房源（GBK 编码） 正式导入：已导入，读取 12 行，新建 12" in first
    assert "的家庭 hhi_jm-jt-0102-001：3 人" in first and "租赁合同 lsi_jm-ht-2025-0102001：和悦园1栋201" in first
    assert re.search(r"的账单 \S+：和悦园1栋201 \d{4}-\d\d 760\.00 元，待缴费", first), first[-2000:]
    assert "黄嘉怡" not in first  # names printed masked, as every demo line
    assert "正式导入：已导入，读取 10 行，新建 0，更新 0，未变 5，拒绝 0" in again


class Generated(io.RawIOBase):
    """A CSV export of ``n`` units made as it is read (never whole in memory), with a duplicated
    national id and a row of too many cells planted."""

    def __init__(self, n: int) -> None:
        self.n, self.i, self.buffer = n, -1, b""

    def readable(self) -> bool:
        return True

    def readinto(self, out: Any) -> int:
        while len(self.buffer) < len(out) and self.i < self.n:
            if self.i < 0:
                line = "房源编码,项目编码,楼栋编码,房号,户型,建筑面积（㎡）,所在楼层,月租金（元）,朝向,房源状态\r\n"
            elif self.i == 500_000:
                line = "FY-0000007,XM-1,B1,7,两房一厅,58.30,3,580.00,南,空置\r\n"  # seen before: refused
            elif self.i == 700_000:
                line = "FY-X,XM-1,B1,7,两房一厅,58.30,3,580.00,南,空置,多余,多余\r\n"  # too many cells
            else:
                line = f"FY-{self.i:07d},XM-1,B1,{self.i},两房一厅,58.30,3,580.00,南,空置\r\n"
            self.buffer += line.encode("gbk")
            self.i += 1
        n = min(len(out), len(self.buffer))
        out[:n], self.buffer = self.buffer[:n], self.buffer[n:]
        return n


def test_a_million_rows_are_split_streamed_the_bad_ones_reported_and_no_chunk_holds_more_than_its_size() -> None:
    """The split (the dry run's first step) over a million-row GBK file: read as a stream, a chunk at a
    time (each written to S3 before the next is read), the ids seen kept as 8-byte digests; the planted
    duplicate and the malformed row refused, every other row kept."""
    from chalicelib.domain import import_rows, imports

    refused: list[Any] = []
    chunks = rows = 0
    source = Generated(1_000_000)
    for chunk in imports._chunks(import_rows.rows(io.BufferedReader(source, 1 << 16), "csv", "units",
                                                  imports.columns("units")), "units", refused):
        assert len(chunk) <= imports.CHUNK_ROWS
        assert source.i - (rows + len(chunk)) < 2 * imports.CHUNK_ROWS  # the file is read as the chunks go
        chunks, rows = chunks + 1, rows + len(chunk)
    assert (rows, chunks) == (999_998, 1000)
    assert [(e.row, e.code) for e in refused] == [(500_002, "IMPORT_DUPLICATE_ID"), (700_002, "IMPORT_BAD_ROW")]


def _units(n: int) -> bytes:
    """``n`` vacant units of the sample's estate (和悦园, buildings B1 and B2), layouts mixed."""
    layouts = ("一房一厅", "两房一厅", "三房一厅", "单间")
    lines = ["房源编码,项目编码,楼栋编码,房号,户型,建筑面积（㎡）,所在楼层,月租金（元）,朝向,房源状态"] + [
        f"RUN-FY-{i:04d},JM-XM-0102,B{1 + i % 2},{1000 + i},{layouts[i % 4]},50.00,{1 + i % 12},500.00,南,空置"
        for i in range(n)]
    return ("\r\n".join(lines) + "\r\n").encode()


def _counters() -> tuple[Any, ...]:
    """The estate's counters (total, vacant, per layout) and its area's and street's."""
    from chalicelib.deps import deps
    from chalicelib.repositories.tables import AreaRecord

    estate = deps().estates.get("jm-xm-0102")
    city = deps().settings.city_code
    places = [AreaRecord.get(city, key, consistent_read=True) for key in ("A#jianghai", "S#lile")]
    return (estate.units_total, estate.units_vacant, sorted((k, v["total"], v["vacant"]) for k, v in estate.unit_mix.items()),
            [(int(p.units_total or 0), int(p.units_vacant or 0)) for p in places])


def test_a_chunk_delivered_twice_cut_short_or_run_again_after_a_failure_writes_and_counts_everything_once(
        client: Any, stack: Any, tokens: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real run's chunk, delivered again, cut short between its groups' writes and its end (a
    Lambda timing out), and the whole run started again after it failed: each unit written once, the
    estate's, area's and street's counters moved once per unit, every row counted once. A second dry
    run of the same import counts every chunk again."""
    from chalicelib.domain import imports
    from chalicelib.repositories.imports import ImportRepository

    for kind in KINDS[:2]:
        run(client, stack, tokens, kind, sample(kind))
    before = _counters()
    monkeypatch.setattr(imports, "CHUNK_ROWS", 100)  # 250 rows: 3 chunks of 2 or 3 groups
    import_id = upload(client, tokens, "units", _units(250))
    first = dry_run(client, stack, tokens, import_id)
    again = dry_run(client, stack, tokens, import_id)  # a second dry run: a fresh count, not "done already"
    assert first["status"] == again["status"] == "dry_run_done", again
    assert [again["dry_run"][k] for k in ("rows_read", "created", "chunks", "chunks_done")] == [250, 250, 3, 3], again
    status, _ = call(client, "POST", f"/v1/admin/imports/{import_id}/apply", admin(tokens))
    assert status == 202
    message = {"step": "chunk", "import_id": import_id, "phase": "apply", "chunk": 0}
    finish, move = ImportRepository.finish_chunk, ImportRepository._move_counters

    def cut_short(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("the Lambda timed out")

    def moved_then_cut_short(*args: Any, **kwargs: Any) -> bool:
        move(*args, **kwargs)
        raise RuntimeError("the Lambda timed out")
    monkeypatch.setattr(ImportRepository, "finish_chunk", cut_short)
    with pytest.raises(RuntimeError):
        imports.process(message)  # chunk 0's groups written, its counters and counts not yet
    monkeypatch.setattr(ImportRepository, "finish_chunk", finish)
    monkeypatch.setattr(ImportRepository, "_move_counters", moved_then_cut_short)
    with pytest.raises(RuntimeError):
        imports.process({**message, "chunk": 1})  # chunk 1's groups written and its counters moved, not its counts
    monkeypatch.setattr(ImportRepository, "_move_counters", move)
    imports.give_up(message, "the Lambda timed out")  # its last delivery: the run fails
    assert imports.get(import_id).status is imports.FAILED
    drain(stack)  # the rest of the failed run's messages: nothing (not running)
    status, _ = call(client, "POST", f"/v1/admin/imports/{import_id}/apply", admin(tokens))  # run it again
    assert status == 202
    imports.process(message)  # chunk 0 ahead of the queue: its written groups skipped, their counters moved
    imports.process(message)  # and delivered twice
    drain(stack)  # every chunk (chunk 0 a third time)
    imports.process({**message, "chunk": 2})  # a late duplicate
    status, done = call(client, "GET", f"/v1/admin/imports/{import_id}", admin(tokens))
    assert done["status"] == "applied", done
    assert [done["apply"][k] for k in ("rows_read", "created", "updated", "unchanged", "refused", "chunks_done")] == \
        [250, 250, 0, 0, 0, 3], done
    total, vacant, mix, places = _counters()
    mix_before = {k: (t, v) for k, t, v in before[2]}
    assert (total, vacant) == (before[0] + 250, before[1] + 250)
    assert {k: (t - mix_before[k][0], v - mix_before[k][1]) for k, t, v in mix if (t, v) != mix_before[k]} == {
        "1b1l": (63, 63), "2b1l": (63, 63), "3b1l": (62, 62), "studio": (62, 62)}, mix
    assert [(t - bt, v - bv) for (t, v), (bt, bv) in zip(places, before[3])] == [(250, 250), (250, 250)]


def test_chunks_checked_while_the_split_reads_on_finish_the_dry_run_once(
        client: Any, stack: Any, tokens: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The split sends each chunk's message as it writes it: here each is checked at once, before the
    split has read the rest or counted the chunks; the run finishes once, when both are done."""
    from chalicelib.domain import imports
    from chalicelib.repositories.imports import ImportRepository

    for kind in KINDS[:2]:
        run(client, stack, tokens, kind, sample(kind))
    monkeypatch.setattr(imports, "CHUNK_ROWS", 50)
    monkeypatch.setattr(imports, "SEND_EVERY", 1)
    send = ImportRepository.send

    def checked_at_once(self: Any, messages: list[dict[str, Any]]) -> None:
        for m in messages:
            if m["step"] == "chunk":
                assert imports.process(m).startswith("chunk ")
            else:
                send(self, [m])
    monkeypatch.setattr(ImportRepository, "send", checked_at_once)
    import_id = upload(client, tokens, "units", _units(120))
    checked = dry_run(client, stack, tokens, import_id)
    assert checked["status"] == "dry_run_done", checked
    assert [checked["dry_run"][k] for k in ("rows_read", "created", "chunks", "chunks_done")] == [120, 120, 3, 3]


def test_put_new_writes_what_save_writes_and_only_once(stack: Any) -> None:
    """``Transaction.put_new`` (repositories/common.py): the item ``save`` with ``attribute_not_exists``
    writes (version 1), and a second put of the same key fails its condition, as ``save``'s would."""
    from chalicelib.repositories.common import transact_failed
    from chalicelib.deps import deps
    from chalicelib.repositories.tables import UnitRecord

    def unit(unit_id: str) -> UnitRecord:
        return UnitRecord(unit_id, city="x", estate_id="e", building_id="b", area_id="a", street_id="s", number="1",
                          layout="studio", floor_area=1.5, floor=1, rent=100, status="vacant", area_layout="a#studio",
                          search_key="k", created_at="t", updated_at="t", orientation=None)

    settings = deps().settings
    assert transact_failed(settings, lambda tx: tx.put_new(unit("put-new-1"), "unit_id")) is None
    assert transact_failed(settings, lambda tx: tx.save(unit("put-new-2"), condition=UnitRecord.unit_id.does_not_exist())) is None
    raw = [UnitRecord._get_connection().get_item("put-new-1", consistent_read=True)["Item"],
           UnitRecord._get_connection().get_item("put-new-2", consistent_read=True)["Item"]]
    assert raw[0]["version"] == {"N": "1"} and {k: v for k, v in raw[0].items() if k != "unit_id"} == {
        k: v for k, v in raw[1].items() if k != "unit_id"}
    assert transact_failed(settings, lambda tx: tx.put_new(unit("put-new-1"), "unit_id")) == [True]
    for key in ("put-new-1", "put-new-2"):
        UnitRecord(key).delete(add_version_condition=False)


def test_the_real_run_plans_from_what_the_dry_run_read_and_again_from_what_is_stored_when_that_went_stale(
        client: Any, stack: Any, tokens: Any) -> None:
    """Units checked as new, then imported by another import before this one is applied: its writes'
    conditions fail, the group is planned again from what is stored (unchanged), counted once. Tenants
    checked before their units existed (refused), applied after: planned again, created."""
    for kind in KINDS[:2]:
        run(client, stack, tokens, kind, sample(kind))
    before = _counters()
    first = upload(client, tokens, "units", _units(30))
    assert dry_run(client, stack, tokens, first)["dry_run"]["created"] == 30
    other = run(client, stack, tokens, "units", _units(30))
    assert other["apply"]["created"] == 30
    done = apply(client, stack, tokens, first)
    assert done["status"] == "applied", done
    assert [done["apply"][k] for k in ("created", "updated", "unchanged", "refused")] == [0, 0, 30, 0], done
    assert _counters()[:2] == (before[0] + 30, before[1] + 30)
    tenants = upload(client, tokens, "tenants", sample("tenants"))
    checked = dry_run(client, stack, tokens, tenants)["dry_run"]
    assert checked["refused"] > 0 and checked["created"] < checked["rows_read"], checked
    run(client, stack, tokens, "units", sample("units"))
    done = apply(client, stack, tokens, tenants)
    assert done["status"] == "applied" and done["apply"]["refused"] == 0, done
    assert done["apply"]["created"] > checked["created"], done


def test_the_queue_pump_can_run_each_invocation_in_a_runtime_process_of_its_own(
        client: Any, stack: Any, tokens: Any) -> None:
    """``stack.drain(processes=True)`` (devstack/runtimes.py, the import benchmark's pump): the same
    import, its invocations in warm runtime processes, not threads of this one; a message the function
    fails stays on the queue."""
    import os

    import_id = upload(client, tokens, "estates", sample("estates"))
    status, _ = call(client, "POST", f"/v1/admin/imports/{import_id}/dry-run", admin(tokens))
    assert status == 202
    handled = 0
    for _ in range(10):
        counts = stack.drain(rounds=20, only=("imports",), workers=2, processes=True)
        handled += counts["imports"]
        if not counts["imports"]:
            break
    status, found = call(client, "GET", f"/v1/admin/imports/{import_id}", admin(tokens))
    assert found["status"] == "dry_run_done" and found["dry_run"]["created"] == 1, found
    assert handled == 2  # the split and the one chunk
    runtimes = stack._processes["run_imports"]
    assert len(runtimes) == 2 and all(r._process.pid != os.getpid() and r._process.poll() is None for r in runtimes)
    from devstack import aws

    aws.client("sqs", stack.endpoint).send_message(QueueUrl=stack.queues["imports"], MessageBody='{"step": "chunk"}')
    assert stack.drain(rounds=1, only=("imports",), workers=2, processes=True)["failed"] == 1
    stack.reset()  # the failed message, offered again later, is not the next test's

"""Group rental (团租): an employer's group application and its employees.

An employer account (registered with its unified social credit code, POST /v1/me/employer) makes a
group, then adds employees one at a time or from a CSV file. Each employee gets an application of
kind "group" (:func:`chalicelib.domain.applications.create_group_member`): the employee consents
under their own login, the employer uploads documents, submits and answers supplements for them on
the ordinary application routes, and follows every employee's progress here.

One person is in at most one open group application: an employee already listed by another
employer (draft included) is refused with EMPLOYEE_OF_ANOTHER_EMPLOYER, one already listed by this
employer with EMPLOYEE_ALREADY_ADDED. Those checks read the employee's applications (``by_owner``)
and are the early, friendly refusal; the person lock taken at submit is what enforces one active
application per person with a conditional write. Every employee is created in one transaction of
its own: a refused employee or CSV row writes nothing, and the rows before and after it are kept.
"""
from __future__ import annotations

import csv
import io
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import applications as apps
from chalicelib.domain.application_status import Status
from chalicelib.domain.application_types import Application
from chalicelib.domain import households as hh
from chalicelib.domain.common import Page, new_id, now_iso
from chalicelib.domain.idnumbers import parse_id_number, parse_mobile
from chalicelib.domain.names import parse_person_name
from chalicelib.identity import Actor

if TYPE_CHECKING:
    from chalicelib.bodies import EmployeeIn, GroupIn
    from chalicelib.repositories.groups import GroupRepository

#: An application in one of these no longer holds its employee: they may be listed again.
CLOSED = frozenset({Status.REJECTED, Status.WITHDRAWN})
MAX_CSV_ROWS = 500
#: Rows created at the same time during an import (each is its own transaction).
IMPORT_WORKERS = 8
#: An import stops starting rows after this long (API Gateway answers 504 after 29 s).
IMPORT_BUDGET_S = 20.0

#: CSV header -> field. Chinese as the city's template has it, and English.
COLUMNS = {
    "姓名": "name", "身份证号": "id_number", "身份证号码": "id_number", "手机号": "mobile", "手机号码": "mobile",
    "户籍": "hukou", "月收入（分）": "monthly_income", "月收入(分)": "monthly_income",
    "name": "name", "id_number": "id_number", "mobile": "mobile", "hukou": "hukou",
    "monthly_income": "monthly_income",
}
REQUIRED_COLUMNS = ("name", "id_number", "mobile")
HUKOU = {"": "local", "local": "local", "本市": "local", "本市户籍": "local",
         "non_local": "non_local", "非本市": "non_local", "非本市户籍": "non_local"}
_FEN = re.compile(r"([0-9]{1,12})(?:\.0+)?")
MAX_INCOME = 100_000_000


@dataclass(frozen=True)
class Group:
    group_id: str
    employer_subject: str
    credit_code: str
    employer_name: str
    name: str
    note: str | None = None
    created_at: str = ""
    updated_at: str = ""
    version: int = 1

    def employer(self) -> dict[str, Any]:
        """What each employee's application carries (``authorize`` reads ``subject``)."""
        return {"subject": self.employer_subject, "credit_code": self.credit_code, "name": self.employer_name}


@dataclass(frozen=True)
class Employee:
    """One validated employee: the normalised member (relation self) and the contact mobile."""

    member: dict[str, Any]
    mobile: str
    declared: dict[str, Any] | None = None


@dataclass
class ImportResult:
    rows: int = 0
    created: list[tuple[int, Application]] = field(default_factory=list)
    failed: list[tuple[int, errors.DomainError]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


def _repo() -> GroupRepository:
    return deps().groups


# --- groups ------------------------------------------------------------------------------------
def _employer(actor: Actor) -> hh.Person:
    """The caller's employer registration (403 without one)."""
    person = hh.me(actor)
    if person.kind != "employer" or not person.credit_code:
        raise errors.EmployerRegistrationRequired()
    return person


def create(actor: Actor, body: GroupIn) -> Group:
    person = _employer(actor)
    at = now_iso()
    group = Group(new_id("grp"), actor.subject, person.credit_code or "", person.name, body.name,
                  body.note, at, at, 1)
    _repo().create(group)
    return group


def mine(actor: Actor, cursor: str | None, limit: int) -> Page[Group]:
    return _repo().by_employer(actor.subject, cursor, limit)


def get(group_id: str, actor: Actor) -> Group:
    """Only the group's employer sees it; anyone else is told it does not exist."""
    group = _repo().get(group_id)
    if group is None or group.employer_subject != actor.subject:
        raise errors.GroupNotFound(group_id)
    return group


def employees(group_id: str, actor: Actor, cursor: str | None, limit: int) -> Page[Application]:
    get(group_id, actor)
    return deps().applications.by_group(group_id, cursor, limit)


# --- adding employees ----------------------------------------------------------------------------
def add_employee(group_id: str, actor: Actor, body: EmployeeIn) -> Application:
    group = get(group_id, actor)
    return _add(group, actor, employee(body.model_dump(mode="json")))  # the same checks as a CSV row


def employee(raw: dict[str, Any]) -> Employee:
    """Validate one employee; errors name the employee's own fields (id_number, mobile, ...)."""
    if not str(raw.get("name") or "").strip():
        raise errors.ValueRequired(field="name", message="职工姓名为必填项")
    name = parse_person_name(str(raw.get("name")), field="name", label="职工姓名")
    id_number = str(raw.get("id_number") or "").strip()
    if not id_number:
        raise errors.ValueRequired(field="id_number", message="职工身份证号码为必填项")
    parse_id_number(id_number, field="id_number")
    mobile_raw = str(raw.get("mobile") or "").strip()
    if not mobile_raw:
        raise errors.ValueRequired(field="mobile", message="职工手机号码为必填项")
    mobile = parse_mobile(mobile_raw, "mobile")
    hukou = HUKOU.get(str(raw.get("hukou") or "").strip().lower())
    if hukou is None:
        raise errors.InvalidInput("本市 / 非本市 (local / non_local)", field="hukou",
                                  message="户籍应为“本市”或“非本市”（local / non_local）")
    income = _income(raw.get("monthly_income"))
    try:
        member = hh.normalise_members([{"relation": "self", "name": name, "id_number": id_number, "hukou": hukou,
                                        "monthly_income": income}])[0]
    except errors.InvalidInput as exc:  # e.g. not an adult: what the ID number says
        raise type(exc)(exc.detail, field="id_number", message=exc.message) from None
    return Employee(member, mobile, raw.get("declared"))


def _income(raw: Any) -> int:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return 0
    if isinstance(raw, bool):
        raise errors.InvalidAmount(field="monthly_income", message="月收入（分）应为以分为单位的非负整数")
    if isinstance(raw, int):
        value = raw
    else:
        match = _FEN.fullmatch(str(raw).strip().replace(",", ""))  # spreadsheets write 1,200 or 1200.00
        if match is None:
            raise errors.InvalidAmount("a whole number of fen, e.g. 350000", field="monthly_income",
                                       message="月收入（分）应为以分为单位的非负整数，如 350000")
        value = int(match.group(1))
    if not 0 <= value <= MAX_INCOME:
        raise errors.InvalidAmount(f"0 to {MAX_INCOME}", field="monthly_income",
                                   message=f"月收入（分）应在 0 到 {MAX_INCOME} 之间")
    return value


def _add(group: Group, actor: Actor, emp: Employee) -> Application:
    _refuse_listed(group, emp.member)
    try:
        return apps.create_group_member(actor, group.employer(), group.group_id, emp.member, emp.mobile,
                                        emp.declared)
    except errors.PersonAlreadyApplying as exc:  # an active application of their own
        raise errors.PersonAlreadyApplying(exc.detail, field="id_number") from None


def _refuse_listed(group: Group, member: dict[str, Any]) -> None:
    """An employee in an open group application (draft included) is not listed again: by another
    employer (409, nothing said about which) or by this one (409, naming the application)."""
    for app in deps().applications.by_owner(member["person_key"], None, 50).items:
        if app.kind != "group" or app.status in CLOSED:
            continue
        if not app.employer or app.employer.get("subject") != group.employer_subject:
            raise errors.EmployeeOfAnotherEmployer(field="id_number")
        raise errors.EmployeeAlreadyAdded(f"group {app.group_id}, application {app.application_id}",
                                          field="id_number")


# --- CSV import ----------------------------------------------------------------------------------
def import_csv(group_id: str, actor: Actor, text: str, budget_s: float | None = None) -> ImportResult:
    """Every row is validated and created on its own: valid rows are kept, each bad row is reported
    with its row number (the header is row 1, as a spreadsheet shows it). A file that cannot be read
    as a whole (no header, a required column missing, more than 500 rows) is refused before
    anything is written. Rows not started within ``budget_s`` seconds are reported as not processed
    (SERVICE_UNAVAILABLE: import them again) rather than lost to a timeout."""
    deadline = time.monotonic() + budget_s if budget_s else None
    group = get(group_id, actor)
    header, rows, ignored = _read(text)
    result = ImportResult(rows=len(rows), ignored_columns=ignored)
    valid: list[tuple[int, Employee]] = []
    first_row: dict[str, int] = {}
    for number, cells in rows:
        try:
            if len(cells) > len(header):
                raise errors.InvalidInput(f"{len(cells)} cells, the header has {len(header)} columns",
                                          message=f"该行有 {len(cells)} 列，表头只有 {len(header)} 列")
            raw = {f: cells[i] for i, f in enumerate(header) if f is not None and i < len(cells)}
            emp = employee(raw)
            key = emp.member["person_key"]
            if key in first_row:
                raise errors.DuplicateRow(f"same ID number as row {first_row[key]}", field="id_number",
                                          message=f"与第 {first_row[key]} 行的职工身份证号码相同，已按第一次出现的行处理")
            first_row[key] = number
            valid.append((number, emp))
        except errors.DomainError as exc:
            result.failed.append((number, exc))

    def one(item: tuple[int, Employee]) -> tuple[int, Application | errors.DomainError]:
        number, emp = item
        if deadline is not None and time.monotonic() > deadline:
            return number, errors.ServiceUnavailable("not processed in time: import this row again")
        try:
            return number, _add(group, actor, emp)
        except errors.DomainError as exc:  # refused, or a dependency busy: that row only
            return number, exc
        except Exception:  # noqa: BLE001 - one row's failure must not hide what the others did
            from chalicelib.observability import logger

            logger.exception("import row failed", extra={"group_id": group.group_id, "row": number})
            return number, errors.ServiceUnavailable("this row was not saved, try it again")

    # Rows go in parallel (each is its own transaction); the first alone, so that clients are built
    # on this thread. moto's server (the local AWS) is not safe for concurrent transactions: serial there.
    workers = 1 if deps().settings.endpoint_url else IMPORT_WORKERS
    outcomes = [one(item) for item in valid[:1]]
    if len(valid) > 1 and workers > 1:
        with ThreadPoolExecutor(max_workers=min(workers, len(valid) - 1)) as pool:
            outcomes += pool.map(one, valid[1:])
    else:
        outcomes += [one(item) for item in valid[1:]]
    for number, outcome in outcomes:
        if isinstance(outcome, errors.DomainError):
            result.failed.append((number, outcome))
        else:
            result.created.append((number, outcome))
    result.created.sort(key=lambda c: c[0])
    result.failed.sort(key=lambda f: f[0])
    return result


def _read(text: str) -> tuple[list[str | None], list[tuple[int, list[str]]], list[str]]:
    """Header fields (None for a column we do not read), the non-blank data rows with their row
    numbers, and the names of ignored columns."""
    try:
        records = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), strict=True))
    except csv.Error as exc:
        raise errors.InvalidCsv(str(exc), field="csv", message="导入文件不是有效的 CSV 文本") from None
    numbered = [(i, [c.strip() for c in r]) for i, r in enumerate(records, start=1)]
    numbered = [(i, r) for i, r in numbered if any(r)]
    if not numbered:
        raise errors.InvalidCsv("empty: a header row and at least one employee", field="csv",
                                message="导入文件应有表头行和至少一行职工")
    (_, names), rows = numbered[0], numbered[1:]
    header: list[str | None] = []
    ignored: list[str] = []
    for name in names:
        f = COLUMNS.get(name) or COLUMNS.get(name.lower())
        if f is None or f in header:
            header.append(None)
            if name:
                ignored.append(name)
        else:
            header.append(f)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise errors.InvalidCsv(f"header row lacks {', '.join(missing)} "
                                "(姓名,身份证号,手机号,户籍,月收入（分） or name,id_number,mobile,hukou,monthly_income)",
                                field="csv", message=f"导入文件的表头缺少：{'、'.join(missing)}（模板表头：姓名,身份证号,手机号,户籍,月收入（分））")
    if not rows:
        raise errors.InvalidCsv("no employee rows under the header", field="csv", message="导入文件的表头下没有职工行")
    if len(rows) > MAX_CSV_ROWS:
        raise errors.InvalidCsv(f"{len(rows)} rows, at most {MAX_CSV_ROWS} per file", field="csv",
                                message=f"导入文件共 {len(rows)} 行职工，每次最多 {MAX_CSV_ROWS} 行")
    return header, rows, ignored

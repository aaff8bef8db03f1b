"""A city's data files (``chalicelib/cities/<city>/*.json``), one typed model per file, loaded and
validated once per process (docs/decisions/0022).

A wrong file fails ``make synth`` and ``make test`` with the file and the field named
(``CityFileError``); it is never a citizen's 400 or 500 at request time. The domain imports this
module when it first needs a city setting, not with the app (the catalogue's cold path stays
without pydantic).
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

CITIES_DIR = Path(__file__).resolve().parent / "cities"


class CityFileError(Exception):
    """A city file is missing, not JSON, or says something the app cannot use (file and field named)."""


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Count = Annotated[int, Field(ge=0)]

class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

class ConsentText(Strict):
    version: Text
    title: Text
    text: Text

class Publicity(Strict):
    days: Annotated[int, Field(ge=1)] = 7
    min_days: Annotated[int, Field(ge=1)] = 5
    max_days: Annotated[int, Field(ge=1)] = 7

    @model_validator(mode="after")
    def _ordered(self) -> Publicity:
        if not self.min_days <= self.days <= self.max_days:
            raise ValueError("needs 1 <= min_days <= days <= max_days")
        return self

class Lottery(Strict):
    layouts_by_size: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("layouts_by_size")
    @classmethod
    def _layouts(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        from chalicelib import errors
        from chalicelib.domain.units import check_layouts_by_size

        if not value:
            return value
        try:
            return check_layouts_by_size(value)
        except errors.InvalidInput as exc:
            raise ValueError(f"{exc.field}: {exc.detail}") from None

class Reduction(Strict):
    percent: Annotated[int, Field(ge=0, le=100)]
    note: str = ""

class MoveOutRules(Strict):
    """Move-out (退租, docs/decisions/0030): how far ahead a tenant gives notice, the inspection's
    appointment slots, and how many photos an inspection may carry."""

    notice_days: Annotated[int, Field(ge=0, le=180, description="the earliest move-out date: today + this")] = 30
    latest_days: Annotated[int, Field(ge=1, le=365, description="the latest move-out date: today + this")] = 90
    staff_latest_days: Annotated[int, Field(ge=1, le=730)] = 365  # staff (a must-leave outcome's grace period)
    slots: Annotated[list[Text], Field(min_length=1, max_length=12)] = ["09:00-12:00", "14:00-17:30"]
    max_photos: Annotated[int, Field(ge=1, le=100)] = 30
    balance_due_days: Annotated[int, Field(ge=1, le=90)] = 15  # a balance bill the deposit did not cover

    @model_validator(mode="after")
    def _window(self) -> MoveOutRules:
        if self.latest_days < self.notice_days:
            raise ValueError("latest_days: not before notice_days")
        return self

class Leases(Strict):
    term_months: Annotated[int, Field(ge=1, le=60, description="at most 5 years")] = 36
    deposit_months: Annotated[int, Field(ge=0, le=12)] = 2
    reductions: dict[str, Reduction] = Field(default_factory=dict)
    landlord: str = ""
    clauses: list[Text] = Field(default_factory=list)
    move_out: MoveOutRules = Field(default_factory=MoveOutRules)

class ApplicationsFile(Strict):
    """``applications.json``: documents, what each kind needs, the consent text, limits,
    publicity, the lottery's layouts and the lease terms."""

    city: Text
    document_types: dict[str, Text] = Field(min_length=1)
    required_documents: dict[Literal["individual", "graduate", "group"], list[str]]
    consent_text: ConsentText
    adult_age: Annotated[int, Field(ge=14, le=25)] = 18
    max_members: Annotated[int, Field(ge=1, le=50)] = 12
    max_documents: Annotated[int, Field(ge=1, le=200)] = 40
    supplement_days_default: Annotated[int, Field(ge=1, le=90)] = 10
    supplement_reminder_days: Count = 2
    publicity: Publicity = Field(default_factory=Publicity)
    lottery: Lottery = Field(default_factory=Lottery)
    leases: Leases = Field(default_factory=Leases)

    @model_validator(mode="after")
    def _known_documents(self) -> ApplicationsFile:
        for kind, required in self.required_documents.items():
            unknown = [t for t in required if t not in self.document_types]
            if unknown:
                raise ValueError(f"required_documents.{kind}: unknown document types {unknown}")
        return self

class EligibilityFile(BaseModel):
    """``eligibility.json``: the rules engine's own validation (``eligibility.parse``, which
    names the place of every problem), run once when the file is loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    city: Text
    no_record: dict[str, str]
    facts: dict[str, dict[str, Any]]
    versions: list[dict[str, Any]] = Field(min_length=1)
    review_versions: list[dict[str, Any]] = Field(default_factory=list)  # 年审: the rules for continuing
    rule_sets: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    priority: list[dict[str, Any]] = Field(default_factory=list)
    next_steps: dict[str, list[str]]

    @model_validator(mode="before")
    @classmethod
    def _rules(cls, data: Any) -> Any:
        from chalicelib.domain.eligibility import InvalidRules, parse

        if isinstance(data, dict):
            try:
                parse(data)
            except InvalidRules as exc:
                raise ValueError(str(exc)) from None
            except (KeyError, TypeError, AttributeError) as exc:  # a shape parse did not expect
                raise ValueError(f"malformed: {exc!r}") from None
        return data

class Department(Strict):
    url: Text
    secret_arn: str | None = None

class DepartmentsFile(BaseModel):
    """``departments.json`` (optional): department -> its endpoint, and a shared secret."""

    model_config = ConfigDict(extra="allow", frozen=True)
    secret_arn: str | None = None

    @model_validator(mode="after")
    def _departments(self) -> DepartmentsFile:
        from chalicelib.departments.contract import DEPARTMENTS

        for name, value in (self.model_extra or {}).items():
            if name not in DEPARTMENTS:
                raise ValueError(f"{name}: unknown department (known: {', '.join(DEPARTMENTS)})")
            try:
                Department.model_validate(value)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in (name, *first["loc"]))
                raise ValueError(f"{where}: {first['msg']}") from None
        return self


class Due(Strict):
    """When a bill is due: a day of the billed month, or a number of days after the bill's period
    starts (its nominal issue date: the 1st, or the lease's first day in a partial first month)."""

    day_of_month: Annotated[int, Field(ge=1, le=28)] | None = None
    days_after_issue: Annotated[int, Field(ge=0, le=60)] | None = None

    @model_validator(mode="after")
    def _one(self) -> Due:
        if (self.day_of_month is None) == (self.days_after_issue is None):
            raise ValueError("give exactly one of day_of_month, days_after_issue")
        return self

class BillingSchedule(Strict):
    """The scheduled billing run (EventBridge Scheduler, China time): bills the month it runs in."""

    day_of_month: Annotated[int, Field(ge=1, le=28)] = 1
    hour: Annotated[int, Field(ge=0, le=23)] = 2

class RunMonths(Strict):
    """How far from the current month an admin may start a billing run (months back, months ahead)."""

    back: Annotated[int, Field(ge=0, le=36)] = 12
    ahead: Annotated[int, Field(ge=0, le=3)] = 1

class RentFile(Strict):
    """``rent.json``: when bills are due, how a partial month is charged, the billing schedule, and
    the settings of reminders, arrears and payments. The rent itself and its reduction (低保 50 %,
    or 100 % for an exemption) are lease terms (``leases`` in applications.json): a lease stores
    its rent after the reduction, and each bill copies the reduction to show it."""

    city: Text
    due: Due
    proration: Literal["days_in_month", "none"] = "days_in_month"
    schedule: BillingSchedule = Field(default_factory=BillingSchedule)
    run_months: RunMonths = Field(default_factory=RunMonths)
    reminders_days: Annotated[list[Annotated[int, Field(ge=0, le=365)]], Field(max_length=10)] = [0, 7, 30]
    working_days: bool = False
    arrears_months: Annotated[int, Field(ge=1, le=24)] = 6
    order_timeout_minutes: Annotated[int, Field(ge=5, le=1440)] = 30
    providers: Annotated[list[Literal["wechat", "alipay"]], Field(min_length=1)]

    @field_validator("reminders_days", "providers")
    @classmethod
    def _ordered_once(cls, value: list[Any]) -> list[Any]:
        if len(set(value)) != len(value):
            raise ValueError("each value once")
        if value and isinstance(value[0], int) and value != sorted(value):
            raise ValueError("in increasing order")
        return value


class CampaignRules(Strict):
    """A review campaign's defaults: how long households have to answer (the deadline is this many
    days after the campaign opens unless the admin gives one) and when notices go out (days before
    the deadline, e.g. 60, 30 and 7)."""

    window_days: Annotated[int, Field(ge=7, le=180)] = 60
    notices_days_before: Annotated[list[Annotated[int, Field(ge=0, le=180)]], Field(max_length=6)] = [60, 30, 7]

    @field_validator("notices_days_before")
    @classmethod
    def _decreasing_once(cls, value: list[int]) -> list[int]:
        if value != sorted(set(value), reverse=True):
            raise ValueError("each value once, in decreasing order")
        return value


class RenewalRules(Strict):
    """Renewal (续签): how many months before a lease ends the tenant may apply, and how old the
    latest review may be for its outcome to decide (older: a fresh verification runs)."""

    window_months: Annotated[int, Field(ge=1, le=12)] = 3
    review_valid_months: Annotated[int, Field(ge=1, le=36)] = 12


class RentTier(Strict):
    """A tier of the higher rent (提高租金): up to how far over the continuing limit it applies (percent;
    None: beyond every other tier), and the rent: the unit's base rent times ``multiplier``, or the
    market rent (``market_rent_per_m2`` fen per m² of floor area a month)."""

    up_to_percent_over: Annotated[int, Field(ge=1, le=10000)] | None = None
    multiplier: Annotated[float, Field(gt=1, le=10)] | None = None
    market_rent_per_m2: Annotated[int, Field(ge=100, le=100000)] | None = None
    basis: Text

    @model_validator(mode="after")
    def _one_rent(self) -> "RentTier":
        if (self.multiplier is None) == (self.market_rent_per_m2 is None):
            raise ValueError("give exactly one of multiplier or market_rent_per_m2")
        return self


class HigherRent(Strict):
    """Continuing at a higher rent: from which month (this many months after the decision: the next
    bill) and the tiers, by how far the household is over the limit, the last open-ended."""

    months_after_decision: Annotated[int, Field(ge=1, le=6)] = 1
    tiers: Annotated[list[RentTier], Field(min_length=1, max_length=10)]

    @field_validator("tiers")
    @classmethod
    def _increasing(cls, tiers: list[RentTier]) -> list[RentTier]:
        bounds = [t.up_to_percent_over for t in tiers]
        if bounds[-1] is not None or None in bounds[:-1]:
            raise ValueError("every tier but the last has up_to_percent_over; the last has none")
        if bounds[:-1] != sorted(set(bounds[:-1])):  # type: ignore[type-var]
            raise ValueError("up_to_percent_over increasing, each value once")
        return tiers


class MustLeave(Strict):
    """Must leave (腾退): the grace period from the decision to the day the unit is handed back."""

    grace_days: Annotated[int, Field(ge=30, le=730)] = 180


class Exemption(Strict):
    """Households the departments' answers alone review (no answer needed from them), e.g. every
    member 70 or over on 低保: ``min_age_all_members`` (from the ID numbers) and boolean rule facts
    the departments must confirm (``facts``)."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")]
    title: Text
    min_age_all_members: Annotated[int, Field(ge=18, le=120)] | None = None
    facts: dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")], bool] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _says_something(self) -> "Exemption":
        if self.min_age_all_members is None and not self.facts:
            raise ValueError("an exemption needs min_age_all_members or facts")
        return self


class ReviewsFile(Strict):
    """``reviews.json``: the annual review (年审), renewal (续签): issue 12. The rules for continuing
    are the review versions of eligibility.json; here what their outcomes mean and who is exempt."""

    city: Text
    campaign: CampaignRules = Field(default_factory=CampaignRules)
    renewal: RenewalRules = Field(default_factory=RenewalRules)
    higher_rent: HigherRent
    must_leave: MustLeave = Field(default_factory=MustLeave)
    exempt: Annotated[list[Exemption], Field(max_length=10)] = Field(default_factory=list)
    #: Document types (applications.json's) a changed household's answer carries, e.g. income proof.
    documents_when_changed: Annotated[list[Text], Field(max_length=10)] = Field(default_factory=list)


# --- the service desk (投诉建议、报修), issue 13: docs/decisions/0034 ------------------------------------
TicketKind = Literal["complaint", "suggestion", "repair"]
#: Who a category's tickets go to: the estate's property manager, the housing bureau, the estate's street office.
TicketRoute = Literal["property_manager", "bureau", "street_office"]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]


class TicketCategory(Strict):
    """A category citizens choose: its kind, who answers it and its deadlines in working days (the
    first reply, the resolution; counted from the day of filing, China time)."""

    code: Code
    kind: TicketKind
    name: Text
    route: TicketRoute
    first_reply_days: Annotated[int, Field(ge=1, le=30)] = 3
    resolution_days: Annotated[int, Field(ge=1, le=90)] = 15

    @model_validator(mode="after")
    def _ordered(self) -> "TicketCategory":
        if self.resolution_days < self.first_reply_days:
            raise ValueError("resolution_days must not be shorter than first_reply_days")
        return self


class CannedReply(Strict):
    code: Code
    title: Text
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class TicketsFile(Strict):
    """``tickets.json``: the service desk's categories, teams' names, canned replies, the reopening
    window, the per-user filing limit and how long after the team lead the bureau is alerted."""

    city: Text
    categories: Annotated[list[TicketCategory], Field(min_length=1, max_length=50)]
    canned_replies: Annotated[list[CannedReply], Field(max_length=50)] = Field(default_factory=list)
    reopen_days: Annotated[int, Field(ge=0, le=90)] = 7
    #: Tickets one person may file in one minute (a burst beyond is 429 TICKETS_RATE_LIMITED).
    filings_per_minute: Annotated[int, Field(ge=1, le=60)] = 3
    max_photos: Annotated[int, Field(ge=0, le=20)] = 6
    #: After a breach the team lead is alerted; this many hours later, still breached, the bureau.
    bureau_after_hours: Annotated[int, Field(ge=0, le=240)] = 24
    bureau_team: Text = "bureau"
    bureau_name: Text = "住房保障局"

    @model_validator(mode="after")
    def _unique(self) -> "TicketsFile":
        for what, codes in (("categories", [c.code for c in self.categories]),
                            ("canned_replies", [c.code for c in self.canned_replies])):
            if len(codes) != len(set(codes)):
                raise ValueError(f"{what}: each code once")
        return self


class PrivacyFile(Strict):
    """``privacy.json``: personal data over time (PIPL, 等级保护 2.0; docs/decisions/0040). How long the
    audit trail is kept (at least 180 days: MLPS's 6 months), and how long the documents and personal
    data of a rejected, withdrawn or expired application are kept before the retention job deletes them."""

    city: Text
    #: Days every audit record is kept (its DynamoDB TTL); 等级保护 2.0 asks for at least 6 months.
    audit_retention_days: Annotated[int, Field(ge=180, le=3650)] = 180
    #: Days after a rejection or withdrawal before the application's documents and data are deleted.
    application_retention_days: Annotated[int, Field(ge=1, le=3650)] = 180
    #: A draft untouched this many days has expired: it is deleted like a withdrawn application.
    draft_expiry_days: Annotated[int, Field(ge=1, le=3650)] = 365
    #: Years leases, bills and payments are kept (accounting records: 会计档案管理办法, 30 years).
    financial_retention_years: Annotated[int, Field(ge=1, le=100)] = 30
    #: At most this many items of each kind in a citizen's "what you hold about me" (GET /v1/me/data).
    export_max_items: Annotated[int, Field(ge=10, le=5000)] = 500


#: File name -> its model.
MODELS: dict[str, type[BaseModel]] = {"applications.json": ApplicationsFile, "eligibility.json": EligibilityFile,
        "departments.json": DepartmentsFile, "rent.json": RentFile, "reviews.json": ReviewsFile}
MODELS["tickets.json"] = TicketsFile
MODELS["privacy.json"] = PrivacyFile




#: The files every city has; others (departments.json) are optional.
REQUIRED = ("applications.json", "eligibility.json", "rent.json", "reviews.json", "tickets.json", "privacy.json")


def cities() -> list[str]:
    return sorted(p.name for p in CITIES_DIR.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def parse_file(path: Path) -> Any:
    """Validate one city file through its model; any problem is a CityFileError naming file and field."""
    model = MODELS.get(path.name)
    if model is None:
        raise CityFileError(f"{path}: no model for this file (known: {', '.join(sorted(MODELS))})")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CityFileError(f"{path}: not readable JSON: {exc}") from None
    if isinstance(raw, dict):  # top-level "_note" and the like are comments for the people editing the file
        raw = {k: v for k, v in raw.items() if not str(k).startswith("_")}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors()]
        raise CityFileError(f"{path}: invalid city file:\n  " + "\n  ".join(problems)) from None


@cache
def city_file(city: str, name: str, directory: Path | None = None) -> Any:
    """The city's file ``name`` as its model, validated once per process."""
    path = (directory or CITIES_DIR) / city / name
    if not path.is_file():
        raise CityFileError(f"no {name} for city {city!r} ({path})")
    return parse_file(path)


def check_city(city: str, directory: Path | None = None) -> list[str]:
    """Load every file of a city through its model (what ``make synth`` and the tests run); the names."""
    folder = (directory or CITIES_DIR) / city
    if not folder.is_dir():
        raise CityFileError(f"no city data folder {folder}")
    names = sorted(p.name for p in folder.glob("*.json"))
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise CityFileError(f"{folder}: missing {', '.join(missing)}")
    for name in names:
        parse_file(folder / name)
    return names


class ImportKind(Strict):
    """One kind of the national system's export: its Chinese column headers -> our field names."""

    columns: Annotated[dict[Text, Text], Field(min_length=1, max_length=60)]


class ImportsFile(Strict):
    """``imports.json``: the column mapping of the national public rental housing information system's
    export (全国公租房信息系统), which differs by province (issue 14 §1, docs/decisions/0036). ``values``
    translates a column's national values to ours (e.g. 户型 "两房一厅" -> "2b1l"); money columns are
    in yuan in the export (fen here); ``export_*`` is the same mapping read backwards."""

    city: Text
    source: Text
    kinds: dict[Literal["estates", "buildings", "units", "tenants"], ImportKind]
    values: dict[Text, dict[Text, Text]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fields_known(self) -> "ImportsFile":
        from chalicelib.domain.import_rows import FIELDS

        for kind, spec in self.kinds.items():
            known = FIELDS[kind]
            unknown = sorted(set(spec.columns.values()) - set(known))
            if unknown:
                raise ValueError(f"kinds.{kind}.columns: unknown field(s) {', '.join(unknown)}")
            missing = sorted(f for f, required in known.items() if required and f not in spec.columns.values())
            if missing:
                raise ValueError(f"kinds.{kind}.columns: required field(s) not mapped: {', '.join(missing)}")
            if len(set(spec.columns.values())) != len(spec.columns):
                raise ValueError(f"kinds.{kind}.columns: a field mapped from two columns")
        return self


MODELS["imports.json"] = ImportsFile

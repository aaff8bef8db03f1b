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

class Leases(Strict):
    term_months: Annotated[int, Field(ge=1, le=60, description="at most 5 years")] = 36
    deposit_months: Annotated[int, Field(ge=0, le=12)] = 2
    reductions: dict[str, Reduction] = Field(default_factory=dict)
    landlord: str = ""
    clauses: list[Text] = Field(default_factory=list)

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


#: File name -> its model.
MODELS: dict[str, type[BaseModel]] = {"applications.json": ApplicationsFile, "eligibility.json": EligibilityFile,
        "departments.json": DepartmentsFile}




#: The files every city has; others (departments.json) are optional.
REQUIRED = ("applications.json", "eligibility.json")


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

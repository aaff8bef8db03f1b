"""Request bodies as pydantic models. Imported only when a write arrives (pydantic is not on the
read path); referenced from routes as "chalicelib.bodies:Name"."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.domain.facilities import FacilityType
from chalicelib.domain.policies import PolicyCategory, PolicyStatus
from chalicelib.domain.units import Layout, UnitStatus

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Phone = Annotated[str, StringConstraints(pattern=r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|400-?\d{3}-?\d{4})$")]
Lat = Annotated[float, Field(ge=3, le=54, allow_inf_nan=False)]
Lng = Annotated[float, Field(ge=73, le=135.5, allow_inf_nan=False)]
Photo = Annotated[str, StringConstraints(max_length=512)]
Version = Annotated[int, Field(ge=0, description="读取时的 version，用于防止并发覆盖")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AreaIn(Body):
    area_id: Slug
    name: Name
    district: Name | None = None


class StreetIn(Body):
    street_id: Slug
    name: Name


class Manager(Body):
    company: Name
    contact: Name | None = None
    phone: Phone
    office: Text | None = None
    hours: Text | None = None


class EstateIn(Body):
    estate_id: Slug
    name: Name
    area_id: Slug
    street_id: Slug
    address: Text
    lat: Lat
    lng: Lng
    description: Text | None = None
    manager: Manager | None = None
    photos: list[Photo] = Field(default_factory=list, max_length=30)


class EstatePatch(Body):
    version: Version
    name: Name | None = None
    address: Text | None = None
    lat: Lat | None = None
    lng: Lng | None = None
    description: Text | None = None
    manager: Manager | None = None
    photos: list[Photo] | None = Field(default=None, max_length=30)


class BuildingIn(Body):
    version: Version
    name: Name
    floors: int = Field(ge=1, le=120)
    elevator: bool = False


class UnitIn(Body):
    estate_id: Slug
    building_id: Slug
    number: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{1,12}$")]
    layout: Layout
    floor_area: float = Field(gt=5, le=300, allow_inf_nan=False)
    floor: int = Field(ge=-3, le=120)
    rent: int = Field(ge=0, le=10_000_000, description="月租金，单位：分")
    status: Literal[UnitStatus.VACANT, UnitStatus.UNDER_REPAIR] = UnitStatus.VACANT
    orientation: Annotated[str, StringConstraints(max_length=10)] | None = None
    photos: list[Photo] = Field(default_factory=list, max_length=30)


class UnitPatch(Body):
    version: Version
    layout: Layout | None = None
    floor_area: float | None = Field(default=None, gt=5, le=300, allow_inf_nan=False)
    floor: int | None = Field(default=None, ge=-3, le=120)
    rent: int | None = Field(default=None, ge=0, le=10_000_000)
    orientation: Annotated[str, StringConstraints(max_length=10)] | None = None
    photos: list[Photo] | None = Field(default=None, max_length=30)


class UnitStatusIn(Body):
    version: Version
    status: UnitStatus
    reason: Text | None = None


class FacilityIn(Body):
    facility_id: Slug | None = None
    type: FacilityType
    name: Name
    lat: Lat
    lng: Lng
    address: Text | None = None


class FacilityPatch(Body):
    version: Version
    type: FacilityType | None = None
    name: Name | None = None
    lat: Lat | None = None
    lng: Lng | None = None
    address: Text | None = None


class Attachment(Body):
    name: Name
    url: Annotated[str, StringConstraints(max_length=1024, pattern=r"^https?://")]


class PolicyIn(Body):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    body: Annotated[str, StringConstraints(min_length=1, max_length=200_000)]
    category: PolicyCategory
    summary: Text | None = None
    issuer: Name | None = None
    doc_number: Name | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)


class PolicyPatch(Body):
    version: Version
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    body: Annotated[str, StringConstraints(min_length=1, max_length=200_000)] | None = None
    category: PolicyCategory | None = None
    summary: Text | None = None
    issuer: Name | None = None
    doc_number: Name | None = None
    attachments: list[Attachment] | None = Field(default=None, max_length=20)


class PolicyStatusIn(Body):
    version: Version
    status: Literal[PolicyStatus.PUBLISHED, PolicyStatus.WITHDRAWN]

"""Dependencies, built lazily on first use and swappable in tests (no AWS client at import)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.config import Settings, settings

if TYPE_CHECKING:
    from chalicelib.repositories.areas import AreaRepository
    from chalicelib.repositories.estates import EstateRepository
    from chalicelib.repositories.facilities import FacilityRepository
    from chalicelib.repositories.policies import PolicyRepository
    from chalicelib.repositories.units import UnitRepository
    from chalicelib.repositories.applications import ApplicationRepository
    from chalicelib.repositories.audit import AuditRepository
    from chalicelib.repositories.grants import GrantRepository
    from chalicelib.repositories.groups import GroupRepository
    from chalicelib.repositories.people import PeopleRepository
    from chalicelib.repositories.rule_versions import RuleVersionRepository
    from chalicelib.repositories.storage import DocumentStorage


@dataclass
class Deps:
    settings: Settings
    areas: AreaRepository
    estates: EstateRepository
    units: UnitRepository
    facilities: FacilityRepository
    policies: PolicyRepository
    people: PeopleRepository
    applications: ApplicationRepository
    grants: GrantRepository
    audit: AuditRepository
    storage: DocumentStorage
    groups: GroupRepository
    rule_versions: RuleVersionRepository


_current: Deps | None = None


def build(config: Settings) -> Deps:
    from chalicelib.repositories import tables
    from chalicelib.repositories.areas import AreaRepository
    from chalicelib.repositories.estates import EstateRepository
    from chalicelib.repositories.facilities import FacilityRepository
    from chalicelib.repositories.policies import PolicyRepository
    from chalicelib.repositories.units import UnitRepository
    from chalicelib.repositories.applications import ApplicationRepository
    from chalicelib.repositories.audit import AuditRepository
    from chalicelib.repositories.grants import GrantRepository
    from chalicelib.repositories.groups import GroupRepository
    from chalicelib.repositories.people import PeopleRepository
    from chalicelib.repositories.rule_versions import RuleVersionRepository
    from chalicelib.repositories.storage import DocumentStorage

    tables.bind(config)
    return Deps(
        settings=config,
        areas=AreaRepository(config),
        estates=EstateRepository(config),
        units=UnitRepository(config),
        facilities=FacilityRepository(config),
        policies=PolicyRepository(),
        people=PeopleRepository(config),
        applications=ApplicationRepository(config),
        grants=GrantRepository(),
        audit=AuditRepository(),
        storage=DocumentStorage(config),
        groups=GroupRepository(config),
        rule_versions=RuleVersionRepository(),
    )


def deps() -> Deps:
    global _current
    if _current is None:
        _current = build(settings())
    return _current


def reset(config: Settings | None = None) -> None:
    """Forget built dependencies (tests and the local stack call this after changing settings)."""
    global _current
    settings.cache_clear()
    _current = build(config) if config is not None else None

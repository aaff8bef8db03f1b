"""Dependencies, built lazily on first use and swappable in tests (no AWS client at import).

Each repository is built (and its module imported) the first time a request needs it: a catalogue
read never pays for the applications code, which keeps the Lambda's cold start small.
"""
from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.config import Settings, settings

if TYPE_CHECKING:
    from chalicelib.repositories.applications import ApplicationRepository
    from chalicelib.repositories.areas import AreaRepository
    from chalicelib.repositories.audit import AuditRepository
    from chalicelib.repositories.estates import EstateRepository
    from chalicelib.repositories.facilities import FacilityRepository
    from chalicelib.repositories.grants import GrantRepository
    from chalicelib.repositories.groups import GroupRepository
    from chalicelib.repositories.lottery import LotteryRepository
    from chalicelib.repositories.people import PeopleRepository
    from chalicelib.repositories.policies import PolicyRepository
    from chalicelib.repositories.publicity import PublicityRepository
    from chalicelib.repositories.rule_versions import RuleVersionRepository
    from chalicelib.repositories.selection import SelectionRepository
    from chalicelib.repositories.storage import DocumentStorage
    from chalicelib.repositories.units import UnitRepository


class Deps:
    """The repositories of one stack (tables bound to ``settings``), each built on first use."""

    def __init__(self, config: Settings) -> None:
        from chalicelib.repositories import tables

        tables.bind(config)
        self.settings = config

    @cached_property
    def areas(self) -> AreaRepository:
        from chalicelib.repositories.areas import AreaRepository

        return AreaRepository(self.settings)

    @cached_property
    def estates(self) -> EstateRepository:
        from chalicelib.repositories.estates import EstateRepository

        return EstateRepository(self.settings)

    @cached_property
    def units(self) -> UnitRepository:
        from chalicelib.repositories.units import UnitRepository

        return UnitRepository(self.settings)

    @cached_property
    def facilities(self) -> FacilityRepository:
        from chalicelib.repositories.facilities import FacilityRepository

        return FacilityRepository(self.settings)

    @cached_property
    def policies(self) -> PolicyRepository:
        from chalicelib.repositories.policies import PolicyRepository

        return PolicyRepository()

    @cached_property
    def people(self) -> PeopleRepository:
        from chalicelib.repositories.people import PeopleRepository

        return PeopleRepository(self.settings)

    @cached_property
    def applications(self) -> ApplicationRepository:
        from chalicelib.repositories.applications import ApplicationRepository

        return ApplicationRepository(self.settings)

    @cached_property
    def grants(self) -> GrantRepository:
        from chalicelib.repositories.grants import GrantRepository

        return GrantRepository(self.settings)

    @cached_property
    def audit(self) -> AuditRepository:
        from chalicelib.repositories.audit import AuditRepository

        return AuditRepository()

    @cached_property
    def storage(self) -> DocumentStorage:
        from chalicelib.repositories.storage import DocumentStorage

        return DocumentStorage(self.settings)

    @cached_property
    def groups(self) -> GroupRepository:
        from chalicelib.repositories.groups import GroupRepository

        return GroupRepository(self.settings)

    @cached_property
    def rule_versions(self) -> RuleVersionRepository:
        from chalicelib.repositories.rule_versions import RuleVersionRepository

        return RuleVersionRepository()

    @cached_property
    def publicity(self) -> PublicityRepository:
        from chalicelib.repositories.publicity import PublicityRepository

        return PublicityRepository(self.settings)

    @cached_property
    def lottery(self) -> LotteryRepository:
        from chalicelib.repositories.lottery import LotteryRepository

        return LotteryRepository(self.settings)

    @cached_property
    def selection(self) -> SelectionRepository:
        from chalicelib.repositories.selection import SelectionRepository

        return SelectionRepository(self.settings)


_current: Deps | None = None


def build(config: Settings) -> Deps:
    return Deps(config)


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

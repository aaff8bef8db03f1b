"""The composition root: where the repositories and adapters of one stack are built and handed to
the domain (docs/decisions/0023).

``Container`` builds each DynamoDB/S3 repository and each adapter (``notifier``, ``workflow``,
``real_name_check``, ``payment_providers``) on first use (its module imported then too, so a
catalogue read never pays for the applications code). Any of them can be handed in instead: ``Container(settings,
applications=twin, notifier=fake, ...)`` is how a test gives the domain in-memory repositories and
adapters (tests/twins/). The entry points (app.py, the local stack, the tests) call
:func:`install` once; the domain reaches the current container through :func:`chalicelib.deps.deps`.

Only this module (and the entry points) may import repositories by name for the domain: nothing in
``chalicelib`` imports it, which is what keeps the package free of import cycles
(tests/test_import_cycles.py).
"""
from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib import deps as _deps
from chalicelib.config import Settings

if TYPE_CHECKING:
    from chalicelib.notify import Notifier
    from chalicelib.payment_providers import Providers
    from chalicelib.realname import RealNameCheck
    from chalicelib.receipt_provider import ReceiptProvider
    from chalicelib.repositories.applications import ApplicationRepository
    from chalicelib.repositories.arrears import ArrearsRepository
    from chalicelib.repositories.areas import AreaRepository
    from chalicelib.repositories.audit import AuditRepository
    from chalicelib.repositories.billing_runs import BillingRunRepository
    from chalicelib.repositories.exports import ExportRepository
    from chalicelib.repositories.imports import ImportRepository
    from chalicelib.repositories.bills import BillRepository
    from chalicelib.repositories.estates import EstateRepository
    from chalicelib.repositories.facilities import FacilityRepository
    from chalicelib.repositories.grants import GrantRepository
    from chalicelib.repositories.groups import GroupRepository
    from chalicelib.repositories.leases import LeaseRepository
    from chalicelib.repositories.payments import PaymentRepository
    from chalicelib.repositories.lottery import LotteryRepository
    from chalicelib.repositories.move_outs import MoveOutRepository
    from chalicelib.repositories.tickets import TicketRepository
    from chalicelib.repositories.households import HouseholdRepository
    from chalicelib.repositories.holiday_calendars import HolidayCalendarRepository
    from chalicelib.repositories.policies import PolicyRepository
    from chalicelib.repositories.publicity import PublicityRepository
    from chalicelib.repositories.reconciliation import ReconciliationRepository
    from chalicelib.repositories.renewals import RenewalRepository
    from chalicelib.repositories.review_campaigns import ReviewCampaignRepository
    from chalicelib.repositories.retention import RetentionRepository
    from chalicelib.repositories.reviews import ReviewRepository
    from chalicelib.repositories.rule_versions import RuleVersionRepository
    from chalicelib.repositories.selection import SelectionRepository
    from chalicelib.repositories.storage import DocumentStorage
    from chalicelib.repositories.stats import StatsRepository
    from chalicelib.repositories.units import UnitRepository
    from chalicelib.repositories.waiting_list import WaitingListRepository
    from chalicelib.workflow import Workflow

#: The names a container serves; an override must be one of them.
NAMES = ("areas", "estates", "units", "facilities", "policies", "households", "applications", "grants", "audit",
         "storage", "groups", "rule_versions", "publicity", "lottery", "selection",
         "leases", "waiting_list", "bills", "billing_runs", "arrears", "reconciliation",
         "reviews", "renewals", "review_campaigns",
         # the adapters: notices to citizens, the verification workflow's start, the real-name check,
         # the payment providers (WeChat Pay, Alipay)
         "notifier", "workflow", "real_name_check", "payment_providers",
         # rent: payments (their settlement transaction writes the bills too) and the receipt service
         "payments", "receipt_provider",
         # move-out (退租): docs/decisions/0030
         "move_outs",
         # the city's holiday calendar overrides (法定节假日安排): docs/decisions/0035
         "holiday_calendars",
         # the service desk (投诉建议、报修): docs/decisions/0034
         "tickets",
         # statistics (统计): docs/decisions/0037
         "stats",
         # the retention job's deletions (PIPL): docs/decisions/0040
         "retention",
         # imports (数据导入) and exports (数据导出): docs/decisions/0036
         "imports", "exports")


class Container:
    """The repositories and adapters of one stack, each built on first use unless handed in."""

    def __init__(self, config: Settings, **overrides: Any) -> None:
        unknown = set(overrides) - set(NAMES)
        if unknown:
            raise TypeError(f"no such dependency: {sorted(unknown)}")
        self.settings = config
        # A cached_property reads the instance dict first: an override simply takes the slot.
        self.__dict__.update(overrides)
        if set(overrides) != set(NAMES):
            from chalicelib.repositories import tables

            tables.bind(config)

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
    def households(self) -> HouseholdRepository:
        from chalicelib.repositories.households import HouseholdRepository

        return HouseholdRepository(self.settings)

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
    def waiting_list(self) -> WaitingListRepository:
        from chalicelib.repositories.waiting_list import WaitingListRepository

        return WaitingListRepository(self.settings)

    @cached_property
    def lottery(self) -> LotteryRepository:
        from chalicelib.repositories.lottery import LotteryRepository

        # the published files go to the document bucket through the one S3 client (handed in lazily)
        return LotteryRepository(self.settings, storage=lambda: self.storage)

    @cached_property
    def selection(self) -> SelectionRepository:
        from chalicelib.repositories.selection import SelectionRepository

        # choosing a unit is one transaction over the unit and the selection record: both
        # repositories come from this container (handed in lazily: a read never builds the other)
        return SelectionRepository(self.settings, units=lambda: self.units, storage=lambda: self.storage)

    @cached_property
    def leases(self) -> LeaseRepository:
        from chalicelib.repositories.leases import LeaseRepository

        # a lease is written by the selection's transactions; here its reads and its contract file
        return LeaseRepository(self.settings, storage=lambda: self.storage)

    @cached_property
    def bills(self) -> BillRepository:
        from chalicelib.repositories.bills import BillRepository

        return BillRepository(self.settings)

    @cached_property
    def reviews(self) -> ReviewRepository:
        from chalicelib.repositories.reviews import ReviewRepository

        return ReviewRepository(self.settings)

    @cached_property
    def renewals(self) -> RenewalRepository:
        from chalicelib.repositories.renewals import RenewalRepository

        return RenewalRepository(self.settings)

    @cached_property
    def review_campaigns(self) -> ReviewCampaignRepository:
        from chalicelib.repositories.review_campaigns import ReviewCampaignRepository

        # campaigns and their passes, the reviews queue their shards' messages go through
        return ReviewCampaignRepository(self.settings)

    @cached_property
    def imports(self) -> ImportRepository:
        from chalicelib.repositories.imports import ImportRepository

        # the jobs' records; the file, its chunks and reports in the document bucket; the imports queue
        return ImportRepository(self.settings, storage=lambda: self.storage)

    @cached_property
    def exports(self) -> ExportRepository:
        from chalicelib.repositories.exports import ExportRepository

        # an export's records, parts and file (the document bucket's exports/), the households' scan
        return ExportRepository(self.settings, storage=lambda: self.storage)

    @cached_property
    def billing_runs(self) -> BillingRunRepository:
        from chalicelib.repositories.billing_runs import BillingRunRepository

        # the runs' records, and the queue their shards' messages go through
        return BillingRunRepository(self.settings)

    @cached_property
    def payments(self) -> PaymentRepository:
        from chalicelib.repositories.payments import PaymentRepository

        # settling writes the payment and its bills in one transaction; the voucher goes to the bucket
        return PaymentRepository(self.settings, storage=lambda: self.storage)

    @cached_property
    def stats(self) -> StatsRepository:
        from chalicelib.repositories.stats import StatsRepository

        # counters (one BatchGetItem a month), stream events once, recounts, export files
        return StatsRepository(self.settings)

    @cached_property
    def arrears(self) -> ArrearsRepository:
        from chalicelib.repositories.arrears import ArrearsRepository

        return ArrearsRepository(self.settings)

    @cached_property
    def reconciliation(self) -> ReconciliationRepository:
        from chalicelib.repositories.reconciliation import ReconciliationRepository

        return ReconciliationRepository(self.settings)

    # --- adapters (their modules imported on first use too: a catalogue read never pays for them) ---
    @cached_property
    def notifier(self) -> Notifier:
        from chalicelib.notify import Notifier

        return Notifier()

    @cached_property
    def workflow(self) -> Workflow:
        from chalicelib.workflow import Workflow

        return Workflow()

    @cached_property
    def real_name_check(self) -> RealNameCheck:
        from chalicelib.realname import check

        # no provider configured: RealNameCheckUnavailable (503) at each use, as nothing is cached then
        return check(self.settings)

    @cached_property
    def payment_providers(self) -> Providers:
        from chalicelib.payment_providers import providers

        # .get("wechat" | "alipay"): each provider built on first use, its merchant keys read then
        return providers(self.settings)

    @cached_property
    def receipt_provider(self) -> ReceiptProvider:
        from chalicelib.receipt_provider import receipt_provider

        # the city's e-receipt service where the stage configures one; else the built-in voucher
        return receipt_provider(self.settings)

    @cached_property
    def move_outs(self) -> MoveOutRepository:
        from chalicelib.repositories.move_outs import MoveOutRepository

        return MoveOutRepository(self.settings)

    @cached_property
    def holiday_calendars(self) -> HolidayCalendarRepository:
        from chalicelib.repositories.holiday_calendars import HolidayCalendarRepository

        return HolidayCalendarRepository(self.settings)

    @cached_property
    def tickets(self) -> TicketRepository:
        from chalicelib.repositories.tickets import TicketRepository

        return TicketRepository(self.settings)

    @cached_property
    def retention(self) -> RetentionRepository:
        from chalicelib.repositories.retention import RetentionRepository

        return RetentionRepository(self.settings)


def build(config: Settings) -> Container:
    return Container(config)


def install() -> None:
    """Make this root the one the domain uses (idempotent; the entry points call it at start)."""
    _deps.install(build)

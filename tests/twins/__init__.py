"""In-memory twins of the repositories (issue 10 §4, docs/decisions/0023).

Each twin has the public methods of its DynamoDB repository, raises the same domain errors, and
keeps the same conditional-write and transaction semantics (a failed condition writes nothing).
``tests/repositories/`` runs one contract suite per twin against both backends, so a twin cannot
drift. They live under tests/: no production code path can import them (nor pays for them).

``memory_container()`` is a composition root made of twins: hand it to the domain with
``chalicelib.deps.use(...)``. Its adapters are fakes that record (``RecordingNotifier``,
``RecordingWorkflow``, ``RecordingPaymentProviders``, tests/twins/adapters.py). Repositories (and
the real-name check) without a twin are left out: touching one fails loudly.
"""
from __future__ import annotations

from typing import Any

from chalicelib.composition import NAMES, Container
from chalicelib.config import Settings, load_settings
from tests.twins.adapters import RecordingNotifier, RecordingPaymentProviders, RecordingWorkflow
from tests.twins.applications import ApplicationTwin
from tests.twins.bills import BillTwin
from tests.twins.grants import GrantTwin
from tests.twins.holiday_calendars import HolidayCalendarTwin
from tests.twins.leases import LeaseTwin
from tests.twins.lottery import LotteryTwin
from tests.twins.selection import SelectionTwin
from tests.twins.storage import StorageTwin
from tests.twins.units import UnitTwin


class _Missing:
    """Stands for a repository with no twin: any use names it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise AssertionError(f"the in-memory container has no twin for {self._name!r} (wanted .{attr})")


def memory_settings(**env: str) -> Settings:
    return load_settings({"CITY_CODE": "jiangmen", "AWS_DEFAULT_REGION": "cn-northwest-1",
                          "CURSOR_SECRET": "twins", "DOCUMENT_BUCKET": "twins", **env})


def memory_container(settings: Settings | None = None, **extra: Any) -> Container:
    """A container of twins (applications, grants, units, selection, leases, lottery, storage, bills),
    a recording notifier, workflow and payment providers, plus ``extra``."""
    config = settings or memory_settings()
    units = UnitTwin(config)
    storage = StorageTwin(config)
    bills = BillTwin(config)
    selection = SelectionTwin(config, units=lambda: units, storage=lambda: storage, bills=lambda: bills)
    twins: dict[str, Any] = {
        "applications": ApplicationTwin(config), "grants": GrantTwin(config), "units": units, "storage": storage,
        "selection": selection,
        "leases": LeaseTwin(config, selection=lambda: selection, storage=lambda: storage),
        "lottery": LotteryTwin(config, units=lambda: units, storage=lambda: storage), "bills": bills,
        "notifier": RecordingNotifier(), "workflow": RecordingWorkflow(),
        "payment_providers": RecordingPaymentProviders(),
        "holiday_calendars": HolidayCalendarTwin(config),
    }
    twins.update(extra)
    return Container(config, **{n: twins.get(n, _Missing(n)) for n in NAMES})

"""``reconcile_100k_lines_s``: reconciling a 100,000-line statement (issue 11 §4, docs/decisions/0029).

A day of 100,000 WeChat Pay payments: our side is 100,000 payment records in the local stack's
payments table (written with the app's own record code, so with the day keys the reconciliation
reads them by), the provider's side a trade bill in WeChat Pay's CSV format (made by the simulator's
file writer) parsed by the real adapter's parser (``statements.wechat_lines``). Planted: amounts that
differ, lines we do not have, payments the provider does not have, payments near midnight not in
the file (they wait for the next day). Measured: ``reconciliation.reconcile`` from the download to the
run's result (parsing, sorting, the index reads, the matching, the writes of mismatches and pending
items), wall time; the counts must be exactly what was planted.

The payments are put into moto's backend directly (100,000 PutItems over HTTP would take minutes and
are not what is measured), and moto's index queries are served per partition (bench/moto_fast.py,
responses identical): moto's own Query walks the whole table for each page.
"""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

from bench.common import DynamoRecorder, Result, at_most

LINES = 100_000
DAY = date(2026, 11, 5)
PLANTED = {"amount_mismatch": 25, "missing_here": 25, "missing_at_provider": 25, "pending": 10}
TARGET_S = 60.0


def _payments(day: date) -> list[Any]:
    from chalicelib.domain.common import CHINA_TZ
    from chalicelib.domain.payments import Payment, PaymentMethod, PaymentStatus

    start = datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ)
    out = []
    for i in range(LINES):
        at = start + timedelta(seconds=60 + i * 86_000 / LINES)
        if i >= LINES - PLANTED["pending"]:  # the last minutes of the day
            at = start + timedelta(days=1) - timedelta(seconds=30 + i % 60)
        stamp = at.isoformat(timespec="seconds")
        out.append(Payment(payment_id=f"pay_{i:016x}", owner="tenant", payer="tenant", payer_role="tenant",
                           payer_masked="张*明", provider="wechat", method=PaymentMethod.WECHAT, bills=[],
                           amount=30000 + i % 500, description="房租", status=PaymentStatus.PAID,
                           transaction_id=f"42000{i:023d}", paid_at=stamp, created_at=stamp, updated_at=stamp))
    return out


def _load(payments: list[Any], region: str, table_name: str) -> float:
    """Our payments into moto's backend (the app's record code, moto's own item type)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    from bench import moto_fast
    from chalicelib.repositories.payments import payment_record

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(table_name)
    started = time.perf_counter()
    for n, payment in enumerate(payments):
        raw = payment_record(payment).serialize()
        if n % 5000 == 0:  # now and then through moto's full validating put
            table.put_item(raw)
            continue
        item = Item.__new__(Item)
        item.hash_key, item.range_key = DynamoType(raw["payment_id"]), None
        attrs = LimitedSizeDict.__new__(LimitedSizeDict)
        dict.__init__(attrs)
        for name, value in raw.items():
            dict.__setitem__(attrs, name, DynamoType(value))
        item.attrs = attrs
        table.items[item.hash_key] = item
    moto_fast.partition(table)
    return time.perf_counter() - started


def _statement(payments: list[Any]) -> bytes:
    """The provider's trade bill for the day: every payment but the planted differences."""
    from devstack.payment_formats import BillLine

    lines = []
    missing = range(LINES // 2, LINES // 2 + PLANTED["missing_at_provider"])  # mid-day: not waiting for a neighbour
    wrong = range(LINES // 3, LINES // 3 + PLANTED["amount_mismatch"])
    for i, p in enumerate(payments):
        if i in missing or i >= LINES - PLANTED["pending"]:  # not at the provider (yet)
            continue
        amount = p.amount + 100 if i in wrong else p.amount
        lines.append(BillLine(p.payment_id, p.transaction_id, amount, "payment", datetime.fromisoformat(p.paid_at),
                              total=amount))
    noon = datetime.fromisoformat(f"{DAY.isoformat()}T12:00:00+08:00")
    lines += [BillLine(f"pay_extra{i:011x}", f"42009{i:023d}", 1000, "payment", noon, total=1000)
              for i in range(PLANTED["missing_here"])]
    from devstack.payment_formats import wechat_bill

    return wechat_bill(lines, "wx5ba2d1f3c8e7a601", "1900000109")


class _Provider:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def statement(self, day: date) -> Any:
        from chalicelib.payment_providers.statements import wechat_lines

        return iter(wechat_lines(self.raw))


class _Providers:
    def __init__(self, raw: bytes) -> None:
        self.provider = _Provider(raw)

    def configured(self) -> tuple[str, ...]:
        return ("wechat",)

    def get(self, name: str) -> Any:
        return self.provider


def reconcile_100k(stack: Any, recorder: DynamoRecorder) -> Result:
    from chalicelib.deps import deps
    from chalicelib.domain import reconciliation

    stack.reset()
    settings = deps().settings
    payments = _payments(DAY)
    load_s = _load(payments, settings.region, settings.table("payments"))
    raw = _statement(payments)
    deps().__dict__["payment_providers"] = _Providers(raw)
    try:
        recorder.calls.clear()
        started = time.perf_counter()
        run = reconciliation.reconcile("wechat", DAY, "bench")
        elapsed = time.perf_counter() - started
    finally:
        deps().__dict__.pop("payment_providers", None)
        from bench import moto_fast

        moto_fast.forget()
    counts = run.counts
    expected = {"lines_read": LINES - PLANTED["missing_at_provider"] - PLANTED["pending"] + PLANTED["missing_here"],
                "ours_read": LINES, "pending": PLANTED["pending"],
                "matched": LINES - PLANTED["missing_at_provider"] - PLANTED["pending"] - PLANTED["amount_mismatch"],
                "mismatches": {"missing_at_provider": PLANTED["missing_at_provider"],
                               "missing_here": PLANTED["missing_here"], "amount_mismatch": PLANTED["amount_mismatch"],
                               "status_mismatch": 0}}
    got = {k: counts.get(k) for k in expected}
    operations: dict[str, int] = {}
    for call in recorder.calls:
        operations[call.operation] = operations.get(call.operation, 0) + 1
    value = round(elapsed, 1)
    return Result("reconcile_100k_lines_s", value, "s", f"<= {TARGET_S:g}", at_most(value, TARGET_S) and got == expected,
                  {"status": run.status.value, "counts": got, "expected": expected, "statement_bytes": len(raw),
                   "ddb_requests": operations, "load_payments_s": round(load_s, 1),
                   "note": "from the statement's parsing to the run's result; our 100,000 payments read through the "
                           "day index's 64 shards (moto served per partition: bench/moto_fast.py)"})

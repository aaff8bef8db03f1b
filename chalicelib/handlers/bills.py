"""Bills (账单): the tenant's, unpaid first then the history; one bill; a delegate's view of the
grantor's bills. Amounts in fen (integers), with yuan strings for display. docs/decisions/0027."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import lazy
from chalicelib.handlers.roles import CITIZEN
from chalicelib.web import CURSOR, LIMIT, Api, Call

if TYPE_CHECKING:
    from chalicelib.domain.bills import Bill

bills = lazy.module("chalicelib.domain.bills")

bp = Blueprint(__name__)
api = Api(bp, "bills")


def yuan(fen: int) -> str:
    """Fen as yuan for display: 30000 -> "300.00"."""
    return f"{fen // 100}.{fen % 100:02d}"


def present_bill(bill: Bill) -> dict[str, Any]:
    reduction = None
    if bill.reduction:
        amount = int(bill.reduction.get("amount") or 0)
        reduction = {"key": str(bill.reduction.get("key") or ""), "percent": int(bill.reduction.get("percent") or 0),
                     "note": str(bill.reduction.get("note") or ""), "amount": amount, "amount_yuan": yuan(amount)}
    proration = None
    if bill.proration:
        proration = {"days": int(bill.proration["days"]), "days_in_month": int(bill.proration["days_in_month"])}
    return {
        "bill_id": bill.bill_id, "lease_id": bill.lease_id, "kind": bill.kind,
        "kind_name": bills.KIND_NAMES[bill.kind], "month": bill.month, "period_start": bill.period_start,
        "period_end": bill.period_end, "base_amount": bill.base_amount, "amount": bill.amount,
        "amount_yuan": yuan(bill.amount), "due_date": bill.due_date, "overdue": bills.overdue(bill),
        "status": bill.status, "status_name": bills.STATUS_NAMES[bill.status], "estate_id": bill.estate_id,
        "unit_id": bill.unit_id, "unit_label": bill.unit_label, "reduction": reduction, "proration": proration,
        "payment_id": bill.payment_id, "paid_at": bill.paid_at, "created_at": bill.created_at, "version": bill.version}


def present_page(page: Any) -> dict[str, Any]:
    return {"items": [present_bill(b) for b in page.items], "next_cursor": page.next_cursor}


@api.route("/v1/me/bills", summary="我的账单：待缴在前（按缴费期限），其后为历史账单（新的在前）", roles=CITIZEN,
           params=[CURSOR, LIMIT], response="BillPage", operation_id="listMyBills")
def my_bills(call: Call) -> dict[str, Any]:
    """My bills: unpaid first (the oldest due first), then paid and cancelled ones (the newest first)."""
    return present_page(bills.mine(call.actor, call.params["cursor"], call.params["limit"]))


@api.route("/v1/me/bills/{bill_id}", summary="一张账单：承租人本人，或持有其授权的受托人", roles=CITIZEN,
           response="Bill", operation_id="getMyBill")
def my_bill(call: Call, bill_id: str) -> dict[str, Any]:
    """One bill: its tenant, or a delegate holding a live grant from the tenant (others: 404)."""
    return present_bill(bills.get(bill_id, call.actor))


@api.route("/v1/delegations/{grant_id}/bills", summary="受托人：委托人的账单（待缴在前）", roles=CITIZEN,
           params=[CURSOR, LIMIT], response="BillPage", operation_id="listDelegatedBills")
def delegated_bills(call: Call, grant_id: str) -> dict[str, Any]:
    """The grantor's bills, for the delegate holding the grant (as the grantor sees them)."""
    return present_page(bills.delegated(call.actor, grant_id, call.params["cursor"], call.params["limit"]))

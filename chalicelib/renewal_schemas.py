"""The response shape of a renewal (续签), issue 12 §2 (docs/decisions/0033), beside schemas.py (at its
size limit) and built with its helpers; openapi.document() adds it to the document's components."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.renewals import RenewalStatus
from chalicelib.schemas import INT, NS, S, _enum, _obj

RENEWAL_SCHEMAS: dict[str, Any] = {
    "Renewal": _obj({
        "renewal_id": S, "lease_id": {**S, "description": "申请续签的（原）租赁合同"},
        "status": _enum(RenewalStatus), "status_name": S,
        "via": _enum(("tenant", "delegate", "staff")), "via_name": S,
        "review_id": {**NS, "description": "据以决定的年审，或正在进行的续签核查"},
        "outcome": {**_enum(("continue", "higher_rent", "must_leave"), nullable=True),
                    "description": "年审结论：继续承租、提高租金后继续承租、限期腾退"},
        "monthly_rent": {**INT, "type": ["integer", "null"], "description": "新合同月租金（分）"},
        "reasons": {"type": "array", "items": S, "description": "不予续签的原因（承租人可见）"},
        "leave_by": {**NS, "format": "date", "description": "限期腾退的最后日期"},
        "new_lease_id": {**NS, "description": "续签的新合同（待承租人确认，确认后生效）"},
        "requested_at": S, "decided_at": NS, "renewed_at": NS, "cancelled_at": NS, "updated_at": S, "version": INT}),
}

"""The service desk (docs/decisions/0034):

- ``service_queue_ddb_requests``: DynamoDB requests for one page of the staff ticket queue, over every
  page of every filter combination a desk uses (team, category, estate, status and pairs); the maximum.
- ``service_sla_sweep_requests_ratio``: requests of the breach sweep with 100,000 closed tickets in the
  table over its requests with 1,000 (the same 40 open tickets, 10 of them past a deadline, each time).
  The closed tickets are stored straight into moto's backend (one record serialized by the app's code,
  copied with each ticket's keys): they are history, no route wrote them.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from bench.common import DynamoRecorder, Result, queue_page_counts

ESTATES = (("fuzeyuan", "福泽园", "baisha"), ("huizeyuan", "惠泽园", "huanshi"), ("haiyuan", "海悦园", "waihai"))
CATEGORIES = (("repair_water_electric", "repair", "pm"), ("repair_building", "repair", "pm"),
              ("complaint_staff", "complaint", "bureau"), ("complaint_property", "complaint", "street"),
              ("complaint_neighbour", "complaint", "street"), ("suggestion", "suggestion", "street"))
FILTERS = ("", "&team=pm-fuzeyuan", "&team=bureau", "&team=street-huanshi", "&category=suggestion",
           "&estate_id=haiyuan", "&status=filed", "&status=done", "&team=pm-fuzeyuan&category=repair_building",
           "&estate_id=huizeyuan&category=complaint_property", "&team=bureau&estate_id=fuzeyuan&status=filed")


def _ticket(n: int, *, closed: bool = False, day_offset: int = 0) -> Any:
    from chalicelib.domain import common
    from chalicelib.domain.tickets import CLOSED, FILED, Ticket

    estate_id, estate_name, street = ESTATES[n % 3]
    code, kind, route = CATEGORIES[(n // 3) % 6]
    team = {"pm": f"pm-{estate_id}", "bureau": "bureau", "street": f"street-{street}"}[route]
    at = (common.now() - timedelta(minutes=n)).isoformat(timespec="milliseconds")
    due = (common.now().date() + timedelta(days=1 + n % 20 + day_offset)).isoformat()
    t = Ticket(ticket_id=f"tkt_bench{n:08d}", owner=f"sub-{n % 997}", filed_by=f"sub-{n % 997}", filed_role="citizen",
               kind=kind, category=code, category_name=code, team=team, team_name=team, estate_id=estate_id,
               estate_name=estate_name, title="报修", text="卫生间漏水。", contact_allowed=False, filed_at=at,
               filed_month=at[:7], first_reply_due=due, resolution_due=due, status=FILED, updated_at=at)
    if closed:
        t = replace(t, status=CLOSED, first_reply_at=at, resolved_at=at, closed_at=at, first_reply_met=True,
                    resolution_met=True)
    return t


def _write(tickets: list[Any]) -> None:
    from chalicelib.deps import deps
    from chalicelib.repositories.tables import TicketRecord
    from chalicelib.repositories.tickets import record

    deps().tickets  # binds the models to this stack's tables
    with TicketRecord.batch_write() as batch:
        for t in tickets:
            batch.save(record(t))


def service_queue_requests(stack: Any, recorder: DynamoRecorder) -> Result:
    from chalice.test import Client

    from app import app

    _write([_ticket(n) for n in range(270)] + [_ticket(n, closed=True) for n in range(270, 330)])
    with Client(app) as client:
        headers = {"Authorization": f"Bearer {stack.token('staff')}"}
        counts, pages = queue_page_counts(client, recorder, headers, "/v1/staff/tickets?limit=20", FILTERS)
    worst = max(counts)
    return Result("service_queue_ddb_requests", worst, "requests", "<= 2", worst <= 2,
                  {"pages": pages, "tickets": 330, "filters": list(FILTERS),
                   "distribution": {str(k): counts.count(k) for k in sorted(set(counts))}})


def _write_closed(n: int) -> None:
    """``n`` closed tickets, fast: one record serialized by the app's own code, copied with each
    ticket's keys, stored in moto's backend (in this process: bench/deep_paging.py does the same for
    units); one in a thousand through moto's full validating put."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    from chalicelib.deps import deps
    from chalicelib.repositories.tickets import record

    settings = deps().settings
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings.region].get_table(settings.table("tickets"))
    template = record(_ticket(0, closed=True)).serialize()
    for k in range(n):
        ticket_id = f"tkt_closed{k:08d}"
        raw = {**template, "ticket_id": {"S": ticket_id},
               "owner_sort": {"S": f"{template['filed_at']['S']}#{ticket_id}"},
               "queue_sort": {"S": f"d#{template['closed_at']['S']}#{ticket_id}"}}
        if k % 1000 == 0:
            table.put_item(raw)
            continue
        item = Item.__new__(Item)  # what moto's Item() does, minus its per-attribute size re-check
        item.hash_key, item.range_key = DynamoType(raw["ticket_id"]), None
        attrs = LimitedSizeDict.__new__(LimitedSizeDict)
        dict.__init__(attrs)
        for name, value in raw.items():
            dict.__setitem__(attrs, name, DynamoType(value))
        item.attrs = attrs
        table.items[item.hash_key] = item


def _sweep_requests(stack: Any, recorder: DynamoRecorder, closed: int) -> tuple[int, float]:
    import time

    from chalicelib.domain.ticket_sla import sweep

    stack.reset()
    started = time.perf_counter()
    _write_closed(closed)
    _write([_ticket(n, day_offset=-25 if n < 10 else 0) for n in range(40)])  # 10 past a deadline
    seeded = time.perf_counter() - started
    with recorder.window() as calls:
        out = sweep()
        requests = len(calls)
    assert out["past_deadline"] == 10 and out["escalated"] == 10, out
    return requests, round(seeded, 1)


def service_sla_sweep_ratio(stack: Any, recorder: DynamoRecorder) -> Result:
    small, _ = _sweep_requests(stack, recorder, 1_000)
    large, seed_s = _sweep_requests(stack, recorder, 100_000)
    ratio = round(large / small, 3)
    return Result("service_sla_sweep_requests_ratio", ratio, "x", "<= 1.1", ratio <= 1.1,
                  {"requests_1k_closed": small, "requests_100k_closed": large, "open": 40, "past_deadline": 10,
                   "seed_100k_s": seed_s})

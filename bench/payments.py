"""payment_notify_duplicates_payments and payment_flow_ddb_requests (issue 11 §2, docs/decisions/0028).

- ``payment_notify_duplicates_payments``: one order for two bills, paid at the provider, then its one
  signed notification delivered 1,000 times over real HTTP to the app behind Chalice's threaded local
  server, the first 100 released at once by a barrier, the other 900 from 8 threads. The value is the
  number of payments that paid the bills (target 1); the detail adds the vouchers made (S3 objects and
  distinct numbers), each bill's version (paid once: +1) and the answers.
- ``payment_flow_ddb_requests``: DynamoDB requests, counted at botocore, of creating an order
  (``POST /v1/me/payments``) and of settling its notification (``POST /v1/payments/wechat/notify``),
  over 10 orders; the value is the larger maximum of the two (target <= 3 each).

The provider is WeChat Pay as the payment simulator plays it (devstack/payments.py), reached through
the real adapter: the notification is signed with the simulator's platform key (SHA256withRSA) and its
resource sealed with AES-256-GCM, and every delivery is verified and decrypted again.
"""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.common import DynamoRecorder, Result

DELIVERIES, AT_ONCE, THREADS = 1000, 100, 8
ORDERS = 10


def _tenant(stack: Any, client: Any) -> tuple[Any, str]:
    from tests.applying import Citizen, register
    from tests.paying import subject

    person = Citizen(stack, "缴费测试")
    register(client, person)
    return person, subject(person)


def _order(client: Any, person: Any, bill_ids: list[str]) -> dict[str, Any]:
    response = client.http.post("/v1/me/payments", headers=person.headers(),
                                body=json.dumps({"bill_ids": bill_ids, "provider": "wechat"}))
    assert response.status_code == 201, response.body
    return dict(json.loads(response.body))


def notify_duplicates(stack: Any) -> Result:
    import requests
    from chalice.test import Client

    from app import app
    from chalicelib.deps import deps
    from devstack.__main__ import _local_server
    from tests.paying import Wallet, bill

    wallet = Wallet(stack.enable_payments())
    with Client(app) as client:
        person, owner = _tenant(stack, client)
        bills = [bill(owner, 45000), bill(owner, 45000)]
        made = _order(client, person, [b.bill_id for b in bills])
        wallet.pay(made)
        headers, body = wallet.notification(made["payment_id"])
        server = _local_server("127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server.server_port}/v1/payments/wechat/notify"
        barrier = threading.Barrier(AT_ONCE)
        local = threading.local()

        def deliver(at_once: bool) -> tuple[int, bytes]:
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            if at_once:
                barrier.wait(timeout=60)
            r = session.post(url, headers=headers, data=body, timeout=120)
            return r.status_code, r.content

        started = time.perf_counter()
        try:
            with ThreadPoolExecutor(AT_ONCE) as pool:
                answers = list(pool.map(lambda _: deliver(True), range(AT_ONCE)))
            with ThreadPoolExecutor(THREADS) as pool:
                answers += list(pool.map(lambda _: deliver(False), range(DELIVERIES - AT_ONCE)))
        finally:
            server.shutdown()
        seconds = time.perf_counter() - started
        paying = [p for p in deps().payments.of_owner(owner, 100, None)[0]
                  if p.status == "paid" and set(p.bill_ids) & {b.bill_id for b in bills}]
        listed = deps().storage.s3.list_objects_v2(Bucket=deps().settings.document_bucket, Prefix="payments/")
        vouchers = [o["Key"] for o in listed.get("Contents", []) if o["Key"].startswith(f"payments/{made['payment_id']}/")]
        numbers = {(p.receipt or {}).get("number") for p in paying}
        versions = {b.bill_id: deps().bills.get(b.bill_id).version - b.version for b in bills}
    tally: dict[str, int] = {}
    for status, content in answers:
        key = f"{status} {content.decode()[:20]}".strip()
        tally[key] = tally.get(key, 0) + 1
    ok = len(paying) == 1 and len(vouchers) == 1 and len(numbers) == 1 and set(versions.values()) == {1} \
        and tally == {"204": DELIVERIES} and not wallet.refunds(made["payment_id"])
    return Result("payment_notify_duplicates_payments", len(paying), "payments", "1 (and 1 voucher)", ok, {
        "deliveries": DELIVERIES, "at_once": AT_ONCE, "payments_paid": len(paying), "vouchers_stored": len(vouchers),
        "voucher_numbers": len(numbers), "bill_versions_moved": sorted(versions.values()), "answers": tally,
        "refunds": len(wallet.refunds(made["payment_id"])), "seconds": round(seconds, 1)})


def flow_requests(stack: Any, recorder: DynamoRecorder) -> Result:
    from chalice.test import Client

    from app import app
    from tests.paying import Wallet, bill

    wallet = Wallet(stack.enable_payments())
    create_counts: list[int] = []
    settle_counts: list[int] = []
    shapes: dict[str, list[str]] = {}
    with Client(app) as client:
        person, owner = _tenant(stack, client)
        for _ in range(ORDERS):
            bill_ids = [bill(owner, 45000).bill_id, bill(owner, 12000).bill_id]
            with recorder.window() as calls:
                made = _order(client, person, bill_ids)
                create_counts.append(len(calls))
                shapes["create"] = [c.operation for c in calls]
            wallet.pay(made)
            headers, body = wallet.notification(made["payment_id"])
            with recorder.window() as calls:
                response = client.http.post("/v1/payments/wechat/notify", headers=headers, body=body)
                assert response.status_code == 204, response.body
                settle_counts.append(len(calls))
                shapes["settle"] = [c.operation for c in calls]
    value = max(max(create_counts), max(settle_counts))
    return Result("payment_flow_ddb_requests", value, "requests", "<= 3 each", value <= 3, {
        "orders": ORDERS, "create_max": max(create_counts), "settle_max": max(settle_counts),
        "create_requests": shapes["create"], "settle_requests": shapes["settle"],
        "note": "creating: the real-name gate's GetItem, one BatchGetItem of the bills, one PutItem of the order "
                "(the provider's prepay is HTTPS); settling: one GetItem of the order, one TransactWriteItems "
                "(the order, each bill, the voucher's number and SHA-256); the voucher file goes to S3 after"})

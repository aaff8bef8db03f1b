"""`make run`: the local stack in one process.

moto's server on loopback is the local AWS (tables, bucket, queues, Cognito); the Chalice app is
served by Chalice's local server on http://HOST:PORT, seeded with the demo city. A background thread
runs the app's queue workers (document checks, notifications, billing runs' shards) every half
second, the scheduled functions every 15 s and the monthly billing run on the city's billing day;
notifications are recorded in .local/notifications.jsonl instead of being sent. Ctrl-C stops everything.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Where `make token`, `make walkthrough` and `make demo` find the running stack (DEVSTACK_STATE overrides).
STATE_FILE = Path(os.environ.get("DEVSTACK_STATE") or ROOT / ".local" / "stack.json")
OUTBOX_FILE = ROOT / ".local" / "notifications.jsonl"
DRAIN_INTERVAL_S = 0.5
SCHEDULE_INTERVAL_S = 15.0
#: The app's scheduled functions, run every SCHEDULE_INTERVAL_S instead of every 10-15 minutes.
SCHEDULES = ("close_publicity", "sweep_verification", "sweep_payments", "sweep_tickets")
SCHEDULES = SCHEDULES + ("recount_stats",)  # a statistics recount an admin started (docs/decisions/0037)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--aws-port", type=int, default=5100)
    parser.add_argument("--city", default="jiangmen")
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--no-verification", action="store_true",
                        help="do not run the verification state machine on submit")
    args = parser.parse_args(argv)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # EMF lines would drown the console
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("PUBLICITY_DEMO_MINUTES_ALLOWED", "1")  # the demo may shorten publicity periods
    # moto's server would print a line per request: the queue workers poll it twice a second.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    started = time.monotonic()
    from devstack.stack import LocalStack

    OUTBOX_FILE.parent.mkdir(exist_ok=True)
    OUTBOX_FILE.touch()  # so that `tail -f` works before the first notice
    stack = LocalStack(city=args.city, aws_port=args.aws_port, host=args.host,
                       local_outbox=str(OUTBOX_FILE), verification=not args.no_verification).start()
    stop_workers = threading.Event()
    try:
        counts = {}
        if not args.no_seed:
            from devstack.seed import seed

            counts = seed(args.city)
        stack.enable_payments(notify_base_url=f"http://{args.host}:{args.port}")  # WeChat Pay, Alipay
        _write_state(stack, f"http://{args.host}:{args.port}")
        server = _local_server(args.host, args.port)
        workers = threading.Thread(target=_run_workers, args=(stack, stop_workers), name="queue-workers",
                                   daemon=True)
        workers.start()
        _banner(stack, args, counts, time.monotonic() - started)

        def stop(*_: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("\n正在停止本地环境 (stopping)...", flush=True)
        finally:
            server.shutdown()
    finally:
        stop_workers.set()
        stack.stop()
        STATE_FILE.unlink(missing_ok=True)
    return 0


def _run_workers(stack, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    """What the SQS event source mappings do on AWS: feed the queues' messages to the workers."""
    from devstack.aws import MAX_RECEIVE_COUNT

    from app import app
    from devstack.stack import FakeLambdaContext

    last_schedule, billed_on = 0.0, None
    while not stop.wait(DRAIN_INTERVAL_S):
        try:
            if time.monotonic() - last_schedule >= SCHEDULE_INTERVAL_S:  # EventBridge's part, sped up
                last_schedule = time.monotonic()
                for name in SCHEDULES:
                    app.handler_map[name](_scheduled_event(name), FakeLambdaContext(name))
                billed_on = _monthly_billing(app, stack.city, billed_on)
            failed = stack.drain()["failed"]
            stack.drain_streams()  # the statistics' counters, as the stream event source mappings do
            if failed:
                print(f"queue workers: {failed} message(s) failed, offered again later (DLQ after"
                      f" {MAX_RECEIVE_COUNT} tries)", file=sys.stderr, flush=True)
        except Exception as exc:  # noqa: BLE001 - e.g. the stack stopping under us; keep polling
            if not stop.is_set():
                print(f"queue workers: {exc.__class__.__name__}: {exc}", file=sys.stderr, flush=True)


def _monthly_billing(app, city: str, billed_on: object) -> object:  # type: ignore[no-untyped-def]
    """EventBridge Scheduler's monthly billing run (infra/stack.py), locally: on the city's billing
    day (rent.json ``schedule``, China time), once that day, the same function the schedule invokes.
    The run's id is the month's, so restarting `make run` that day makes no second run."""
    from chalicelib.city_files import city_file
    from chalicelib.domain.common import now
    from devstack.stack import FakeLambdaContext

    when, today = city_file(city, "rent.json").schedule, now()
    if billed_on == today.date() or today.day != when.day_of_month or today.hour < when.hour:
        return billed_on
    app.handler_map["start_billing_run"]({"source": "schedule"}, FakeLambdaContext("start_billing_run"))
    return today.date()


def _scheduled_event(name: str) -> dict[str, object]:
    """What EventBridge hands a scheduled function."""
    import uuid
    from datetime import datetime, timezone

    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "cn-northwest-1", "resources": [f"local-schedule/{name}"], "detail": {}}


def _local_server(host: str, port: int):  # type: ignore[no-untyped-def]
    from chalice.cli.factory import CLIFactory

    factory = CLIFactory(str(ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name="dev")
    app = factory.load_chalice_app()
    from chalice import local

    from devstack.gateway import EdgeServer

    local.CustomLocalChalice.__bases__ = (local.LocalChalice, app.__class__)  # as create_local_server does
    app.__class__ = local.CustomLocalChalice
    return local.LocalDevServer(app, config, host, port, handler_cls=_request_handler(), server_cls=EdgeServer)


def _request_handler() -> type:
    """Chalice's request handler with an access log that carries no personal data: method, path
    (personal numbers masked) and status only. http.server's default line is the raw request line,
    query string included (``?reason=...``, ``?id_number=...``), and its error lines quote it too."""
    from http import HTTPStatus
    from urllib.parse import unquote, urlsplit

    from chalicelib.domain.idnumbers import mask_free_text
    from devstack.gateway import EdgeRequestHandler  # unknown routes and methods in the error envelope

    class AccessLogHandler(EdgeRequestHandler):  # type: ignore[misc]
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            status = code.value if isinstance(code, HTTPStatus) else code
            path = mask_free_text(unquote(urlsplit(getattr(self, "path", "") or "").path))
            self.log_message('"%s %s" %s', getattr(self, "command", None) or "-", path, status)

        def log_error(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
            code = args[0] if args and isinstance(args[0], int) else "-"
            self.log_message("request refused before routing (%s)", code)

    return AccessLogHandler


def _write_state(stack, api: str) -> None:  # type: ignore[no-untyped-def]
    STATE_FILE.parent.mkdir(exist_ok=True)
    STATE_FILE.write_text(json.dumps({
        "api": api,
        "city": stack.city,
        "endpoint": stack.endpoint,
        "pool_id": stack.identity.pool_id,
        "client_id": stack.identity.client_id,
        "users": stack.identity.users,
        "realname": stack.realname.base_url,  # the real-name check simulator (walkthrough, demo)
        "payments": stack.payments.base_url,  # the payment simulator: POST /control/pay ... (demo)
        # the department simulator: POST /control/person changes a person's records (demo)
        "departments": stack.departments.base_url if stack.departments else None,
        "table_prefix": stack.environment.get("TABLE_PREFIX"),  # the demo's one direct write (a lease's dates)
    }, ensure_ascii=False, indent=2))


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _banner(stack, args, counts, seconds: float) -> None:  # type: ignore[no-untyped-def]
    from devstack.aws import DEMO_PASSWORD

    api = f"http://{args.host}:{args.port}"
    lines = [
        "",
        f"公租房 local stack ({args.city}) ready in {seconds:.1f}s",
        f"  API         {api}/v1/health    OpenAPI: {api}/v1/openapi.json",
        f"  local AWS   {stack.endpoint}  (moto; region cn-northwest-1, Cognito in ap-southeast-1)",
        "  seeded      " + (", ".join(f"{k}={v}" for k, v in counts.items()) or "nothing (--no-seed)"),
        "  demo users  (password: " + DEMO_PASSWORD + ")",
    ]
    for role, username in stack.identity.users.items():
        lines.append(f"    {role:<10} {username}   token: make token ROLE={role}")
    lines += [
        "  example     curl -s " + api + "/v1/units?area=pengjiang\\&status=vacant",
        "              TOKEN=$(make -s token ROLE=staff); curl -s -H \"Authorization: Bearer $TOKEN\" "
        + api + "/v1/admin/policies",
        "  journeys    make walkthrough (applying)   make demo (verification, review, publicity, lottery, leases, rent, annual review, renewal, move-out)",
        "  departments " + (f"simulator {stack.departments.base_url} (devstack/seed_data/registry.json); submits"
                            " start the verification state machine" if stack.departments else "off (--no-verification)"),
        f"  real name   check simulator {stack.realname.base_url}: POST /v1/me answers real_name.face.sdk_url;"
        " POST {\"outcome\": \"pass\"} there, then POST /v1/me/real-name-check (docs/decisions/0016)",
        f"  payments    WeChat Pay + Alipay simulator {stack.payments.base_url}: POST /control/pay"
        " {\"order_id\": ...} pays an order and posts its notification (devstack/payments.py)",
        f"  notices     recorded, not sent: {_shown(OUTBOX_FILE)}  (tail -f; queue workers poll every"
        f" {DRAIN_INTERVAL_S}s)",
        "  Ctrl-C stops everything.",
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())

"""One process's local AWS: moto's server on loopback, provisioned for a city, app settings bound.

Used by `make run`, the tests and the benchmarks alike::

    with LocalStack() as stack:
        token = stack.token("staff")

The app's queue workers run here too, in-process: ``stack.drain()`` receives what the notifications
and documents queues hold and runs ``send_notifications`` / ``check_documents`` on it, as the SQS
event source mappings do on AWS (``make run`` calls it every half second; tests call it when they
want uploads checked or notifications sent). Notifications are recorded, not sent: see
``chalicelib.notify.RECORDED`` and the JSON-lines file ``LOCAL_OUTBOX``.
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from devstack import aws

#: Queue -> the app's Lambda function it feeds (documents first: a check may queue a notification;
#: a review campaign's shards queue notices too; billing runs' shard messages last).
WORKERS = (("documents", "check_documents"), ("reviews", "open_reviews"), ("notifications", "send_notifications"),
           ("billing", "issue_bills"))
WORKERS += (("imports", "run_imports"),)  # imports' split and chunks (docs/decisions/0036)
_log = logging.getLogger(__name__)
_PURGE_SETTING = "MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR"


@dataclass
class LocalStack:
    city: str = "jiangmen"
    city_name: str = "江门市"
    aws_port: int = 0  # 0: any free port
    host: str = "127.0.0.1"
    prefix: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    identity: aws.LocalIdentity | None = None
    local_outbox: str | None = None  # recorded notifications (JSON lines); None: a temporary file
    queues: dict[str, str] = field(default_factory=dict)  # "notifications", "documents", "billing", "reviews" (+ "-dlq") -> URL
    #: Run the verification state machine on submit (moto executes it; the department simulator
    #: answers through the real adapter). Off for most tests: they drive the steps directly.
    verification: bool = False
    departments: Any = None  # the DepartmentSimulator, when verification is on
    realname: Any = None  # the RealNameSimulator (always on: registration completes through it)
    payments: Any = None  # the PaymentSimulator (WeChat Pay, Alipay), once enable_payments() ran
    state_machine_arn: str | None = None
    _lambda: Any = None
    _server: Any = None
    _saved_env: dict[str, str | None] = field(default_factory=dict)
    _temp_outbox: str | None = None
    _arns: dict[str, str] = field(default_factory=dict)
    _visibility: dict[str, int] = field(default_factory=dict)  # queue url -> its visibility timeout (s)
    _processes: dict[str, list[Any]] = field(default_factory=dict)  # function -> its runtime processes
    _sqs: Any = None
    _drain_lock: Any = field(default_factory=threading.Lock)
    _streams: Any = None  # the StreamPoller, once drain_streams() ran
    #: moto's server in a process of its own (devstack/moto_process.py): the import benchmark, where
    #: DynamoDB should not share this interpreter's one core with the workers calling it
    own_process: bool = False

    @property
    def endpoint(self) -> str:
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def start(self) -> "LocalStack":
        from moto.server import ThreadedMotoServer

        from devstack import moto_speed

        moto_speed.install()  # transactions cost what they touch (see the module)

        # reset() purges the queues more often than SQS's once a minute (moto, in this process, reads it).
        self._saved_env.setdefault(_PURGE_SETTING, os.environ.get(_PURGE_SETTING))
        os.environ[_PURGE_SETTING] = "false"
        if self.own_process:
            from devstack.moto_process import MotoProcess

            self._server = MotoProcess(self.host, self.aws_port)
        else:
            self._server = ThreadedMotoServer(ip_address=self.host, port=self.aws_port, verbose=False)
            self._server.start()
        self.provision()
        return self

    def provision(self) -> None:
        """Create every table, the data key, the document bucket (SSE-KMS, uploads announced on the
        documents queue), the queues and the identity pool; bind the app to them."""
        prefix = self.prefix or f"{self.city}-"
        aws.create_tables(self.endpoint, prefix)
        key = aws.create_key(self.endpoint, self.city)
        bucket = f"{self.city}-documents"
        aws.create_bucket(self.endpoint, bucket, kms_key=key)
        for queue, _ in WORKERS:
            url, dlq_url = aws.create_queue(self.endpoint, f"{self.city}-{queue}", kms_key=key)
            self.queues[queue], self.queues[f"{queue}-dlq"] = url, dlq_url
        aws.notify_queue_on_upload(self.endpoint, bucket, self.queues["documents"])
        if self.local_outbox is None:
            handle, self._temp_outbox = tempfile.mkstemp(prefix=f"{self.city}-notifications-", suffix=".jsonl")
            os.close(handle)
        self.identity = aws.create_identity(self.endpoint, self.city)
        self.environment = aws.app_environment(
            self.endpoint, self.city, self.city_name, prefix, bucket, self.identity,
            document_kms_key=key, notify_queue_url=self.queues["notifications"],
            document_queue_url=self.queues["documents"], billing_queue_url=self.queues["billing"],
            reviews_queue_url=self.queues["reviews"], imports_queue_url=self.queues["imports"],
            local_outbox=self.outbox,
        )
        if self.realname is None:
            from devstack.realname import RealNameSimulator

            self.realname = RealNameSimulator().start()
        self.environment["REALNAME_BASE_URL"] = self.realname.base_url
        self._apply_environment()
        if self.verification:
            self.enable_verification()

    def enable_verification(self) -> None:
        """Submitting starts the verification state machine (moto runs it; the simulator answers)."""
        self.verification = True
        self.environment.update(self._start_verification())
        self._apply_environment()

    def enable_payments(self, notify_base_url: str | None = None) -> Any:
        """Start the payment simulator (devstack/payments.py): it writes its keys as the city's
        merchant secrets (``{city}/payments/wechat|alipay`` in moto's Secrets Manager) and the app's
        adapters point at it. ``notify_base_url`` is where the app is served (``make run``):
        notifications are posted there; without it (the Chalice test client) take
        ``stack.payments.notification(...)`` and post it through the client."""
        if self.payments is None:
            from devstack.payments import PaymentSimulator

            self.payments = PaymentSimulator(notify_base_url=notify_base_url).start()
        self.environment.update(self.payments.install(self.endpoint, self.city))
        # the notify URL the orders carry; 127.0.0.1:9 (discard) refuses at once when nothing serves the app
        self.environment["PAYMENT_NOTIFY_BASE_URL"] = notify_base_url or "http://127.0.0.1:9"
        self._apply_environment()
        return self.payments

    def disable_verification(self) -> None:
        """Back to no workflow: submits record a run that nothing executes (tests drive the steps)."""
        from chalicelib import deps

        self.verification = False
        for key in ("VERIFICATION_STATE_MACHINE_ARN", "DEPARTMENTS_BASE_URL"):
            self.environment.pop(key, None)
            os.environ.pop(key, None)
        deps.reset()

    def _start_verification(self) -> dict[str, str]:
        from devstack import workflows
        from devstack.departments import DepartmentSimulator

        if self.state_machine_arn is None:
            workflows.enable_execution(self.endpoint)
            self.state_machine_arn = workflows.create_verification(self.endpoint, self.city)
        if self.departments is None:
            self.departments = DepartmentSimulator(city=self.city).start()
        if self._lambda is None:
            self._lambda = workflows.InProcessLambda()
            self._lambda.install()
        _, port = self._server.get_host_and_port()
        return {"VERIFICATION_STATE_MACHINE_ARN": self.state_machine_arn,
                "DEPARTMENTS_BASE_URL": self.departments.base_url,
                "MOTO_PORT": str(port)}  # where moto's interpreter sends its (intercepted) Lambda calls

    def wait_for_runs(self, timeout_s: float = 60.0) -> list[dict[str, Any]]:
        """Wait until no verification execution is running; returns every execution's summary."""
        import time

        sfn = aws.client("stepfunctions", self.endpoint)
        deadline = time.monotonic() + timeout_s
        while True:
            runs = []
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=self.state_machine_arn):
                runs.extend(page["executions"])
            if all(r["status"] != "RUNNING" for r in runs) or time.monotonic() > deadline:
                return runs
            time.sleep(0.05)

    @property
    def outbox(self) -> str | None:
        """The file recorded notifications are appended to (one JSON object a line)."""
        return self.local_outbox or self._temp_outbox

    def reset(self) -> None:
        """Empty the city: drop and recreate every table and purge the queues (users and bucket stay)."""
        ddb = aws.client("dynamodb", self.endpoint)
        for name in ddb.list_tables()["TableNames"]:
            ddb.delete_table(TableName=name)
        aws.create_tables(self.endpoint, self.prefix or f"{self.city}-")
        with self._drain_lock:
            sqs = self._sqs_client()
            for url in self.queues.values():
                sqs.purge_queue(QueueUrl=url)
        from chalicelib.notify import RECORDED

        RECORDED.clear()

    # --- the queue workers ------------------------------------------------------------------------
    def drain(self, rounds: int = 3, only: tuple[str, ...] | None = None, workers: int = 1,
              processes: bool = False) -> dict[str, int]:
        """Run the app's queue workers on what the queues hold, as the event source mappings do.

        Each round empties the documents queue, then the notifications queue (a check may queue a
        notice); rounds stop early when one finds nothing. Messages a worker handled are deleted;
        failed ones stay and are offered again after the visibility timeout (after five receives
        SQS moves them to the DLQ). Returns how many were handled per queue, and how many failed.
        ``only``: just these queues (a benchmark that counts notices queued, not sent). ``workers``:
        invocations at once per queue, as the event source mapping's concurrency runs them on AWS.
        ``processes``: each invocation in a runtime process of its own (devstack/runtimes.py), as on
        AWS, not a thread of this one (a benchmark; a test's patches do not reach them).
        """
        counts = {queue: 0 for queue, _ in WORKERS} | {"failed": 0}
        with self._drain_lock:
            for _ in range(rounds):
                seen = 0
                for queue, function in WORKERS:
                    if only is not None and queue not in only:
                        continue
                    done, failed = self._drain_queue(self.queues[queue], function, workers, processes)
                    counts[queue] += done
                    counts["failed"] += failed
                    seen += done + failed
                if not seen:
                    break
        return counts

    def server_cpu_seconds(self) -> float:
        """moto's CPU time so far when it runs in its own process (``own_process``), else 0."""
        return self._server.cpu_seconds() if self.own_process else 0.0

    def _sqs_client(self) -> Any:
        """One SQS client for the workers (made under the drain lock: boto3 sessions are not thread-safe)."""
        if self._sqs is None:
            self._sqs = aws.client("sqs", self.endpoint)
        return self._sqs

    def _drain_queue(self, url: str, function: str, workers: int = 1, processes: bool = False) -> tuple[int, int]:
        """Invoke ``function`` until the queue is empty, ``workers`` invocations at once; one that finds
        the queue empty waits while another is still working (its work may queue more: an import's
        split queues its chunks). (handled, failed)"""
        import time

        self._sqs_client()  # made once, before any thread
        busy, lock = [0], threading.Lock()
        runtimes = self._runtimes(function, workers) if processes else []

        def worker(n: int) -> tuple[int, int]:
            done = failed = 0
            while True:
                with lock:
                    busy[0] += 1
                try:
                    d, f = self._invoke_once(url, function, runtimes[n] if runtimes else None)
                finally:
                    with lock:
                        busy[0] -= 1
                done, failed = done + d, failed + f
                if d + f:
                    continue
                with lock:
                    if not busy[0]:
                        return done, failed
                time.sleep(0.01)

        if workers <= 1:
            return worker(0)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers, thread_name_prefix=f"local-{function}") as pool:
            results = list(pool.map(worker, range(workers)))
        return sum(d for d, _ in results), sum(f for _, f in results)

    def _runtimes(self, function: str, count: int) -> list[Any]:
        """``count`` warm runtime processes of ``function`` (started once, kept until the stack stops)."""
        from devstack.runtimes import ProcessRuntime

        kept = self._processes.setdefault(function, [])
        kept += [ProcessRuntime(function) for _ in range(count - len(kept))]
        return kept[:count]

    def _invoke_once(self, url: str, function: str, runtime: Any = None) -> tuple[int, int]:
        """One receive (up to the function's batch size, as its event source mapping takes:
        infra/queues.py) and one invocation with what it got, here or in ``runtime``: (handled, failed)."""
        from app import app
        from infra.queues import batch_size

        sqs = self._sqs_client()
        arn = self._arns.get(url) or self._arns.setdefault(url, aws.queue_arn(self.endpoint, url))
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=batch_size(function), WaitTimeSeconds=0,
                                       AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return 0, 0
        event = {"Records": [_sqs_record(m, arn) for m in messages]}
        with self._kept_hidden(url, messages):
            try:
                if runtime is not None:
                    result = runtime.invoke(event)
                else:
                    result = app.handler_map[function](event, FakeLambdaContext(function))
                failures = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
            except Exception:  # the whole invocation failed: every message is offered again
                _log.exception("local worker %s failed", function)
                failures = {m["MessageId"] for m in messages}
        handled = [m for m in messages if m["MessageId"] not in failures]
        if handled:
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(handled)])
        return len(handled), len(messages) - len(handled)

    @contextmanager
    def _kept_hidden(self, url: str, messages: list[dict[str, Any]]) -> Iterator[None]:
        """The messages kept invisible while their invocation runs, as deployed (a queue's visibility
        timeout is six times its function's timeout there): locally the timeout is short, so a failed
        message comes back soon, and an invocation running longer than it (an import's split of a
        large file) had its message handed to a second worker meanwhile."""
        sqs = self._sqs_client()
        timeout = self._visibility.get(url) or self._visibility.setdefault(url, int(sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"]))
        done = threading.Event()

        def keep() -> None:
            while not done.wait(timeout / 2):
                try:
                    sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": timeout}
                        for i, m in enumerate(messages)])
                except Exception:  # the stack stopping: nothing left to keep
                    _log.debug("could not keep messages hidden", exc_info=True)
                    return
        keeper = threading.Thread(target=keep, name="local-visibility", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            done.set()
            keeper.join()

    # --- the streams (the statistics' counters, docs/decisions/0037) -------------------------------
    def drain_streams(self) -> dict[str, int]:
        """Feed what the streamed tables' streams hold to ``count_stats``, as the stream event
        source mappings do on AWS (devstack/streams.py); returns records and batches handled."""
        if self._streams is None:
            from devstack.streams import StreamPoller

            self._streams = StreamPoller(self.endpoint)
        return self._streams.drain()

    def token(self, role: str) -> str:
        assert self.identity is not None
        return aws.id_token(self.endpoint, self.identity.client_id, self.identity.users[role])

    def add_user(self, phone: str, role: str | None, city: str | None = None) -> str:
        """A further user (e.g. a second applicant, or staff of another city); returns the username."""
        assert self.identity is not None
        return aws.add_user(aws.client("cognito-idp", self.endpoint), self.identity, phone, role,
                            city or self.city)

    def token_for(self, username: str) -> str:
        assert self.identity is not None
        return aws.id_token(self.endpoint, self.identity.client_id, username)

    def _apply_environment(self) -> None:
        for key, value in self.environment.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        from chalicelib import auth, composition, deps

        composition.install()  # the stack's repositories: DynamoDB on the local moto (0023)
        deps.reset()
        auth.verifier.cache_clear()

    def stop(self) -> None:
        for runtime in [r for kept in self._processes.values() for r in kept]:
            runtime.close()
        self._processes.clear()
        if self._lambda is not None:
            self._lambda.uninstall()
            self._lambda = None
        if self.departments is not None:
            self.departments.stop()
            self.departments = None
        if self.realname is not None:
            self.realname.stop()
            self.realname = None
        if self.payments is not None:
            self.payments.stop()
            self.payments = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._sqs = None
        self._streams = None
        self._arns.clear()
        self._visibility.clear()
        if self._temp_outbox:
            try:
                os.unlink(self._temp_outbox)
            except FileNotFoundError:
                pass
            self._temp_outbox = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def __enter__(self) -> "LocalStack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FakeLambdaContext:
    """What the app's functions (and Powertools' ``inject_lambda_context``) read from a context; the
    time left counts down from the function's timeout, as Lambda's does."""

    def __init__(self, function_name: str, timeout_ms: int = 30_000) -> None:
        import time

        self._started = time.monotonic()
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws-cn:lambda:{aws.REGION}:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline_ms = timeout_ms

    def get_remaining_time_in_millis(self) -> int:
        import time

        return max(0, self._deadline_ms - int((time.monotonic() - self._started) * 1000))


def _sqs_record(message: dict[str, Any], arn: str) -> dict[str, Any]:
    """An SQS message as Lambda's event source mapping hands it to a function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {"stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
                   "stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": aws.REGION,
    }

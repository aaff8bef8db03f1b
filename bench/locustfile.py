"""Locust users for `make bench`'s load phase (bench/load.py runs this headless against the local
stack it starts); by hand, against a running `make run`:

    .venv/bin/python -m locust -f bench/locustfile.py --headless -u 16 -r 16 -t 60s --host http://127.0.0.1:8000

Each user picks its next task by ``bench.load_journeys.MIX`` (browse 39 : apply 1 : staff 1, from the
seeds' ratios) with no think time, so the figures are what the single-process local stack gives at
saturation. Requests are named by route template (``/v1/units/{unit_id}``); a non-2xx answer is a
failure recorded by status and error code only (never the body: it may carry personal data).
The stack's addresses come from `make run`'s state file (``DEVSTACK_STATE``, else .local/stack.json).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from locust import HttpUser, constant, events, task

from bench.load_journeys import MIX, Journeys, Refused, Target

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("DEVSTACK_STATE") or ROOT / ".local" / "stack.json")


class Resident(HttpUser):
    """A person of the city (or a member of staff, for a staff round): any task of ``MIX``."""

    wait_time = constant(0)

    def on_start(self) -> None:
        state = json.loads(STATE.read_text())
        self.host = self.host or state["api"]
        # a phone polls its application about once a second while the uploads are checked
        self.journeys = Journeys(Target.from_state(state), self._send, settle=lambda: time.sleep(1.0),
                                 timed=self._timed)

    @task(MIX["browse"])
    def browse(self) -> None:
        self._play(self.journeys.browse)

    @task(MIX["apply"])
    def apply(self) -> None:
        self._play(self.journeys.apply)

    @task(MIX["staff"])
    def staff(self) -> None:
        self._play(self.journeys.staff_round)

    def _play(self, journey: Any) -> None:
        try:
            journey()
        except Refused:
            pass  # recorded as the failing request; the user goes on with its next task

    def _send(self, method: str, path: str, *, name: str, token: str | None = None, body: Any = None,
              headers: dict[str, str] | None = None) -> tuple[int, Any]:
        h = {"Content-Type": "application/json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        with self.client.request(method, path, name=name, headers=h, data=data, catch_response=True) as r:
            try:
                got = r.json() if r.content else None
            except ValueError:
                got = None
            if not 200 <= r.status_code < 300:
                code = got.get("error", {}).get("code") if isinstance(got, dict) else None
                r.failure(f"{r.status_code} {code or ''}".strip())
            else:
                r.success()
        return r.status_code, got

    def _timed(self, name: str, fn: Any) -> Any:
        """A call outside the API (Cognito's sign-in) in the statistics under its own name."""
        started, error = time.perf_counter(), None
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - reported to locust, then raised
            error = exc
            raise
        finally:
            events.request.fire(request_type="AWS", name=name, response_time=(time.perf_counter() - started) * 1000,
                                response_length=0, exception=error, context={})

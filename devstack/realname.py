"""A simulator of the city's real-name check provider (实名核验 + 活体人脸核身), on loopback, speaking
the adapter's contract (``chalicelib/realname.py``; docs/decisions/0016-real-name.md).

It answers from the seeded registry (``devstack/seed_data/registry.json``: its persons, the people
no department knows, and its ``real_name`` block of extra people and edge cases), and tests or the
demo add people::

    with RealNameSimulator() as sim:
        sim.enrol("440703199001011234", "张三明")              # a living person with this name
        sim.enrol("440703199001011234", "张三明", status="deceased")  # the check answers "invalid"
        sim.set_mode("down")                                  # 503 on every call
        sim.set_face("440703199001011234", "fail")            # the face check of this person fails

The phone's face SDK is simulated by ``POST {base}/face/{biz_token}`` with ``{"outcome": "pass"|"fail"}``
(the ``sdk_url`` a started check hands out); without it a check stays ``pending``. ``POST {base}/registry``
with ``{"id_number", "name"}`` enrols someone (the walkthrough and the demo run in another process).
Only the two contract calls are signed; the simulator-only calls are loopback conveniences.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from devstack.simulator import LoopbackSimulator, SimulatorHandler
from pathlib import Path
from typing import Any

REGISTRY = Path(__file__).resolve().parent / "seed_data" / "registry.json"
MAX_SKEW_S = 300
MAX_BODY = 65_536
MODES = ("ok", "down", "garbage")
STATUSES = ("alive", "deceased", "cancelled")


@dataclass
class _Check:
    check_id: str
    biz_token: str
    name: str
    id_number: str
    status: str = "pending"  # pending | passed | failed


class RealNameSimulator(LoopbackSimulator):
    thread_name = "realname-simulator"

    def __init__(self, registry_path: str | None = None, key: str = "local-simulator-key", host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.key, self.host, self.port = key, host, port
        self.people: dict[str, tuple[str, str]] = {}  # id_number -> (name, status)
        self.faces: dict[str, str] = {}  # id_number -> "pass" | "fail": what the face SDK will do
        self.checks: dict[str, _Check] = {}
        self.by_token: dict[str, str] = {}
        self.mode = "ok"
        self.calls: list[str] = []  # paths of signed calls (tests: the server asked, not the client)
        self._lock = threading.Lock()
        self.load(registry_path or str(REGISTRY))

    # --- the registry --------------------------------------------------------------------------------
    def load(self, path: str) -> None:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        for id_number, person in data.get("persons", {}).items():
            self.enrol(id_number, person["name"])
        for person in data.get("not_registered", []):
            self.enrol(person["id_number"], person["name"])
        for id_number, person in data.get("real_name", {}).get("persons", {}).items():
            self.enrol(id_number, person["name"], status=person.get("status", "alive"))
            if person.get("face"):
                self.set_face(id_number, person["face"])

    def enrol(self, id_number: str, name: str, status: str = "alive") -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        with self._lock:
            self.people[id_number.upper()] = (name, status)

    def set_face(self, id_number: str, outcome: str) -> None:
        with self._lock:
            self.faces[id_number.upper()] = outcome

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode

    def face(self, biz_token: str, outcome: str | None = None) -> None:
        """What the phone's face SDK does: pass or fail the live face against the ID photo."""
        with self._lock:
            check = self.checks[self.by_token[biz_token]]
            outcome = outcome or self.faces.get(check.id_number, "pass")
            check.status = "passed" if outcome == "pass" else "failed"

    # --- one request -------------------------------------------------------------------------------------
    def _handle(self, h: SimulatorHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            h.reply(400, {"error": "bad_request"})
            return
        body = h.rfile.read(length)
        try:
            request = json.loads(body)
            assert isinstance(request, dict)
        except (ValueError, AssertionError):
            h.reply(400, {"error": "bad_request"})
            return
        path = h.path.rstrip("/")
        if path == "/registry":  # simulator-only: enrol someone
            self.enrol(str(request["id_number"]), str(request["name"]), str(request.get("status", "alive")))
            h.reply(200, {"ok": True})
            return
        if path.startswith("/face/"):  # simulator-only: the phone's face SDK
            token = path.removeprefix("/face/")
            if token not in self.by_token:
                h.reply(404, {"error": "not_found"})
                return
            self.face(token, request.get("outcome"))
            h.reply(200, {"ok": True})
            return
        if path not in ("/checks", "/checks/result"):
            h.reply(404, {"error": "not_found"})
            return
        if not self._signed(h.headers.get("X-Timestamp") or "", h.headers.get("X-Signature") or "", body):
            h.reply(401, {"error": "bad_signature"})
            return
        self.calls.append(path)
        if self.mode == "down":
            h.reply(503, {"error": "service_unavailable"})
            return
        if self.mode == "garbage":
            h.reply(200, b"<html>502 Bad Gateway</html>")
            return
        h.reply(200, self._start(request) if path == "/checks" else self._result(request))

    def _start(self, request: dict[str, Any]) -> dict[str, Any]:
        id_number, name = str(request.get("id_number", "")).upper(), str(request.get("name", ""))
        check_id = "rnc_" + secrets.token_hex(8)
        with self._lock:
            known = self.people.get(id_number)
        if known is None:
            return {"check_id": check_id, "result": "not_found", "face": None}
        if known[1] != "alive":
            return {"check_id": check_id, "result": "invalid", "face": None}
        if known[0] != name:
            return {"check_id": check_id, "result": "name_mismatch", "face": None}
        if not request.get("face"):
            return {"check_id": check_id, "result": "match", "face": None}
        token = secrets.token_hex(12)
        with self._lock:
            self.checks[check_id] = _Check(check_id, token, name, id_number)
            self.by_token[token] = check_id
        return {"check_id": check_id, "result": "match",
                "face": {"provider": "simulator", "biz_token": token, "sdk_url": f"{self.base_url}/face/{token}"}}

    def _result(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            check = self.checks.get(str(request.get("check_id")))
        if check is None:
            return {"check_id": request.get("check_id"), "status": "failed", "name": "", "id_number": ""}
        return {"check_id": check.check_id, "status": check.status, "name": check.name, "id_number": check.id_number}

    def _signed(self, timestamp: str, signature: str, body: bytes) -> bool:
        try:
            if abs(time.time() - int(timestamp)) > MAX_SKEW_S:
                return False
        except ValueError:
            return False
        expected = hmac.new(self.key.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

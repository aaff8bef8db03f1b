"""A simulator of the eight government departments, on loopback, serving the adapters' HTTP contract.

The local stack and the tests point ``DEPARTMENTS_BASE_URL`` at it, so verification goes through
the real adapter code (``chalicelib/departments``): signing, timeouts, validation. It answers from
a registry of fictional citizens keyed by ID number (``devstack/seed_data/registry.json``, with the
edge cases and the recommendation each household should get), and can be told to misbehave per
department::

    with DepartmentSimulator() as sim:
        sim.add_default("440703199001011234", vehicles={"vehicles": [{"value": 12000000}]})
        sim.set_mode("real_estate", "down")          # 503
        sim.set_mode("vehicles", "slow", delay_s=2)  # answers after 2 s
        sim.set_mode("business", "garbage")          # 200 with a body that is not JSON

Modes: ``ok``, ``down`` (503), ``throttled`` (429), ``reject`` (401), ``slow`` (sleeps ``delay_s``
first), ``garbage`` (not JSON), ``garbage:missing_member`` (the last person asked is left out),
``garbage:wrong_types`` (``found`` as a string, facts of the wrong types), ``garbage:wrong_query``
(an answer for another query). The signature (``X-Signature``: hex HMAC-SHA256 of ``X-Timestamp``
+ "\\n" + body) is checked on every request: 401 when wrong or more than 5 minutes off.
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from devstack.simulator import LoopbackSimulator, SimulatorHandler
from pathlib import Path
from typing import Any

DEPARTMENTS = ("public_security", "real_estate", "civil_affairs", "vehicles", "social_insurance", "business",
               "veterans", "provident_fund")
REGISTRY = Path(__file__).resolve().parent / "seed_data" / "registry.json"
MODES = ("ok", "down", "throttled", "reject", "slow", "garbage", "garbage:missing_member", "garbage:wrong_types",
         "garbage:wrong_query")
MAX_SKEW_S = 300
MAX_BODY = 1_048_576
CST = timezone(timedelta(hours=8))


def default_facts(city: str) -> dict[str, dict[str, Any]]:
    """A clean local citizen: local hukou, no home, car or company, 60 months of insurance in the
    city, a provident fund deposit base of 1,800 yuan (money in fen)."""
    return {
        "public_security": {"identity_valid": True, "hukou_city": city, "residence_permit_city": None},
        "real_estate": {"properties": []},
        "civil_affairs": {"subsistence_allowance": False, "extreme_poverty": False, "marital_status": "married"},
        "vehicles": {"vehicles": []},
        "social_insurance": {"months_in_city": 60, "employer_in_city": True},
        "business": {"companies": []},
        "veterans": {"veteran": False, "entitled_group": False},
        "provident_fund": {"monthly_deposit_base": 180000, "loans": 0},
    }


class DepartmentSimulator(LoopbackSimulator):
    thread_name = "department-simulator"

    def __init__(self, registry_path: str | None = None, key: str = "local-simulator-key", city: str = "jiangmen",
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.key, self.city, self.host, self.port = key, city, host, port
        self.people: dict[str, dict[str, dict[str, Any]]] = {}
        self.names: dict[str, str] = {}
        self.modes: dict[str, tuple[str, float]] = {}
        self.calls: list[tuple[str, str]] = []  # (department, query_id) of every signed request
        self.requests: list[dict[str, Any]] = []  # their bodies (tests look at the consent sent)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.load(registry_path or str(REGISTRY))

    # --- the registry ------------------------------------------------------------------------------
    def load(self, path: str) -> None:
        """Register everyone in a registry file (facts naming its city are rewritten to ours)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        their_city = data.get("city", self.city)

        def local(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: local(v) for k, v in value.items()}
            if isinstance(value, list):
                return [local(v) for v in value]
            return self.city if value == their_city else value

        for id_number, person in data.get("persons", {}).items():
            self.add(id_number, local(person.get("facts", {})))
            self.names[id_number] = person.get("name", "")

    def add(self, id_number: str, facts: dict[str, dict[str, Any]]) -> None:
        """Register a person: facts per department; a department left out has no record of them."""
        unknown = set(facts) - set(DEPARTMENTS)
        if unknown:
            raise ValueError(f"unknown departments: {sorted(unknown)}")
        with self._lock:
            self.people[id_number.upper()] = copy.deepcopy(facts)

    def add_default(self, id_number: str, **overrides: dict[str, Any] | None) -> None:
        """Register a clean local citizen; ``overrides`` per department are merged into the defaults
        (``vehicles={"vehicles": [...]}``), and ``None`` means that department has no record."""
        facts: dict[str, dict[str, Any]] = {}
        for dept, base in default_facts(self.city).items():
            if dept in overrides and overrides[dept] is None:
                continue
            facts[dept] = {**base, **(overrides.get(dept) or {})}
        unknown = set(overrides) - set(DEPARTMENTS)
        if unknown:
            raise ValueError(f"unknown departments: {sorted(unknown)}")
        self.add(id_number, facts)

    def update(self, id_number: str, **changes: dict[str, Any] | None) -> None:
        """A person's records change (a new income at the provident fund, a home bought): each
        department's facts are merged with ``changes`` (``None``: that department has no record now).
        Over HTTP: ``POST /control/person {"id_number", "facts": {department: {...} | null}}``."""
        unknown = set(changes) - set(DEPARTMENTS)
        if unknown:
            raise ValueError(f"unknown departments: {sorted(unknown)}")
        with self._lock:
            person = self.people.setdefault(id_number.upper(), {})
            for dept, facts in changes.items():
                if facts is None:
                    person.pop(dept, None)
                else:
                    person[dept] = {**person.get(dept, {}), **copy.deepcopy(facts)}

    # --- behaviour ----------------------------------------------------------------------------------
    def set_mode(self, department: str, mode: str, delay_s: float = 0) -> None:
        if department not in DEPARTMENTS:
            raise ValueError(f"unknown department {department!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        with self._lock:
            self.modes[department] = (mode, delay_s)

    def reset_modes(self) -> None:
        with self._lock:
            self.modes.clear()

    def start(self) -> DepartmentSimulator:
        self._stopping.clear()
        return super().start()

    def stop(self) -> None:
        self._stopping.set()  # wakes "slow" answers
        super().stop()

    # --- one request -------------------------------------------------------------------------------------
    def _handle(self, h: SimulatorHandler) -> None:
        parts = h.path.strip("/").split("/")
        if parts == ["control", "person"]:  # loopback only: the demo changes a household's records
            try:
                request = json.loads(h.rfile.read(int(h.headers.get("Content-Length") or 0)))
                self.update(str(request["id_number"]), **dict(request["facts"]))
            except (ValueError, KeyError, TypeError):
                h.reply(400, {"error": "bad_request"})
                return
            h.reply(200, {"ok": True})
            return
        if len(parts) != 2 or parts[0] not in DEPARTMENTS or parts[1] != "query":
            h.reply(404, {"error": "not_found"})
            return
        department = parts[0]
        length = int(h.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            h.reply(400, {"error": "bad_request"})
            return
        body = h.rfile.read(length)
        if not self._signed(h.headers.get("X-Timestamp") or "", h.headers.get("X-Signature") or "", body):
            h.reply(401, {"error": "bad_signature"})
            return
        try:
            request = json.loads(body)
            query_id = request["query_id"]
            persons = request["persons"]
            assert request.get("department") == department and isinstance(persons, list)
            for p in persons:
                assert isinstance(p["member_id"], str) and isinstance(p["id_number"], str)
                assert isinstance(p.get("consent"), dict) and p["consent"].get("method")  # no consent, no query
        except (ValueError, KeyError, TypeError, AssertionError):
            h.reply(400, {"error": "bad_request"})
            return
        with self._lock:
            self.calls.append((department, query_id))
            self.requests.append(request)
            mode, delay = self.modes.get(department, ("ok", 0.0))
        if mode == "down":
            h.reply(503, {"error": "service_unavailable"})
            return
        if mode == "throttled":
            h.reply(429, {"error": "too_many_requests"})
            return
        if mode == "reject":
            h.reply(401, {"error": "bad_signature"})
            return
        if mode == "slow" and self._stopping.wait(delay):
            return  # stopping: the client has long given up
        if mode == "garbage":
            h.reply(200, b"<html><body>502 Bad Gateway</body></html>")
            return
        h.reply(200, self.answer(department, query_id, persons, mode))

    def _signed(self, timestamp: str, signature: str, body: bytes) -> bool:
        try:
            if abs(time.time() - int(timestamp)) > MAX_SKEW_S:
                return False
        except ValueError:
            return False
        expected = hmac.new(self.key.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    def answer(self, department: str, query_id: str, persons: list[dict[str, Any]], mode: str = "ok") -> dict[str, Any]:
        out = []
        with self._lock:
            for p in persons:
                facts = (self.people.get(p["id_number"].upper()) or {}).get(department)
                out.append({"member_id": p["member_id"], "found": facts is not None,
                            "facts": copy.deepcopy(facts) if facts is not None else {}})
        if mode == "garbage:missing_member":
            out = out[:-1]
        elif mode == "garbage:wrong_types":
            for p in out:
                p["found"] = "yes"
                p["facts"] = {k: str(v) for k, v in p["facts"].items()}
        elif mode == "garbage:wrong_query":
            query_id = "q_" + query_id[::-1]
        return {"query_id": query_id, "department": department,
                "answered_at": datetime.now(CST).isoformat(timespec="seconds"), "persons": out}


def main() -> None:  # python -m devstack.departments [port]: serve the seeded registry until Ctrl-C
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    with DepartmentSimulator(port=port) as sim:
        print(f"DEPARTMENTS_BASE_URL={sim.base_url}  ({len(sim.people)} people registered)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

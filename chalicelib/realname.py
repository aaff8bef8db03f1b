"""The real-name check (实名核验) adapter: does this name belong to this ID number, and is the person
holding the phone that person (活体人脸核身, the face check the city's provider offers)?

A contract of two signed HTTPS calls (docs/decisions/0016-real-name.md)::

    POST {base}/checks         {"name", "id_number", "face": bool, "request_id"}
        -> {"check_id", "result": "match" | "name_mismatch" | "not_found" | "invalid",
            "face": {"provider", "biz_token", "sdk_url"} | null}
    POST {base}/checks/result  {"check_id"}
        -> {"check_id", "status": "pending" | "passed" | "failed", "name", "id_number"}

The first is 二要素 (name + ID number against the population registry) and, where the face check is
required, opens a face session whose token the app hands to the provider's SDK. The second is asked
by the SERVER when the app says the SDK finished: the client's word is never the result. Requests are
signed like the departments' (``X-Timestamp``, ``X-Signature``: hex HMAC-SHA256 of timestamp + "\\n"
+ body). The key: the secret ``settings().realname_secret_arn`` (Secrets Manager), else env
``REALNAME_KEY``, else ``local-simulator-key`` for a loopback URL only. Any transport failure, 5xx or
answer outside the contract is :class:`RealNameCheckUnavailable` (503, retry later), never a 500.
The local stack and tests run ``devstack/realname.py``, a simulator speaking this contract.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib import errors

if TYPE_CHECKING:
    from chalicelib.config import Settings

LOCAL_KEY = "local-simulator-key"
RESULTS = ("match", "name_mismatch", "not_found", "invalid")


class CheckStatus(StrEnum):
    """The provider's answer about a check (its value, not a lifecycle of ours)."""

    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"


STATUSES = tuple(CheckStatus)
MAX_ANSWER = 64 * 1024


@dataclass(frozen=True)
class CheckStarted:
    check_id: str
    result: str  # one of RESULTS
    face: dict[str, str] | None  # what the app hands the provider's face SDK; None: no face check


@dataclass(frozen=True)
class CheckResult:
    check_id: str
    status: CheckStatus
    name: str
    id_number: str


class RealNameCheck(Protocol):
    """What the domain needs from a real-name provider."""

    def start(self, name: str, id_number: str, *, face: bool, request_id: str) -> CheckStarted: ...

    def result(self, check_id: str) -> CheckResult: ...


class HttpRealNameCheck:
    """The provider over HTTPS (or the loopback simulator), per the contract above."""

    def __init__(self, base_url: str, secret_arn: str | None, timeout_s: float) -> None:
        self.base_url, self.secret_arn, self.timeout_s = base_url.rstrip("/"), secret_arn, timeout_s

    def start(self, name: str, id_number: str, *, face: bool, request_id: str) -> CheckStarted:
        answer = self._post("/checks", {"name": name, "id_number": id_number, "face": face,
                                        "request_id": request_id})
        check_id, result, face_info = answer.get("check_id"), answer.get("result"), answer.get("face")
        if not isinstance(check_id, str) or result not in RESULTS:
            raise errors.RealNameCheckUnavailable("answer outside the contract")
        if result == "match" and face and not (isinstance(face_info, dict) and face_info.get("biz_token")):
            raise errors.RealNameCheckUnavailable("no face session in the answer")
        face_out = {k: str(v) for k, v in face_info.items()} if isinstance(face_info, dict) else None
        return CheckStarted(check_id, str(result), face_out)

    def result(self, check_id: str) -> CheckResult:
        answer = self._post("/checks/result", {"check_id": check_id})
        status = answer.get("status")
        if answer.get("check_id") != check_id or status not in STATUSES:
            raise errors.RealNameCheckUnavailable("answer outside the contract")
        return CheckResult(check_id, CheckStatus(status), str(answer.get("name") or ""), str(answer.get("id_number") or ""))

    # --- the wire ----------------------------------------------------------------------------------
    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        import urllib.error
        import urllib.request

        from chalicelib.departments import is_loopback
        from chalicelib.departments.contract import sign

        url = self.base_url + path
        body = json.dumps(payload, ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Timestamp": timestamp,
            "X-Signature": sign(self._key(url), timestamp, body)})
        handlers: list[Any] = [urllib.request.ProxyHandler({})] if is_loopback(url) else []
        try:
            with urllib.request.build_opener(*handlers).open(request, timeout=self.timeout_s) as response:
                raw = response.read(MAX_ANSWER + 1)
        except urllib.error.HTTPError as exc:
            raise errors.RealNameCheckUnavailable(f"provider answered {exc.code}") from None
        except (OSError, ValueError) as exc:  # refused, reset, timed out, a broken status line
            raise errors.RealNameCheckUnavailable(f"provider unreachable ({type(exc).__name__})") from None
        if len(raw) > MAX_ANSWER:
            raise errors.RealNameCheckUnavailable("answer too large")
        try:
            answer = json.loads(raw)
        except ValueError:
            raise errors.RealNameCheckUnavailable("answer is not JSON") from None
        if not isinstance(answer, dict):
            raise errors.RealNameCheckUnavailable("answer is not an object")
        return answer

    def _key(self, url: str) -> str:
        if self.secret_arn:
            from chalicelib.departments import _secret
            from chalicelib.departments.contract import DepartmentError

            try:
                return _secret(self.secret_arn)
            except DepartmentError:
                raise errors.RealNameCheckUnavailable("signing key unavailable") from None
        key = os.environ.get("REALNAME_KEY")
        if key:
            return key
        from chalicelib.departments import is_loopback

        if is_loopback(url):
            return LOCAL_KEY
        raise errors.RealNameCheckUnavailable("no signing key configured for the real-name check")


def check(config: Settings) -> RealNameCheck:
    """The configured provider (no provider configured: every check is unavailable, a 503)."""
    if not config.realname_base_url:
        raise errors.RealNameCheckUnavailable("no real-name check provider configured")
    return HttpRealNameCheck(config.realname_base_url, config.realname_secret_arn, config.realname_timeout_s)

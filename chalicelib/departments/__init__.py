"""Government department adapters (数据共享): ask one department about a household's members.

One function, one HTTP contract for all eight departments (docs/decisions/0011-departments.md)::

    answer = query("real_estate", persons, query_id="app_1-run_2-real_estate")

``persons`` are what the verification's Start step hands over (member_id, id_number, name, consent).
The answer is ``{"department", "status": "answered", "answered_at", "persons": [{"member_id",
"found", "facts"}]}``; "no record" is ``found: false``, an answer (what it means for the rules is
the city's ``no_record``: docs/decisions/0019-no-record.md). Failures raise a
``DepartmentError`` whose class NAME the state machine acts on: ``DepartmentUnavailable`` (retried),
``DepartmentTimeout``, ``DepartmentGarbage`` and ``DepartmentRejected``.

Where: ``settings().departments_base_url + "/{department}/query"`` when set (the local simulator),
else the city's ``chalicelib/cities/<city>/departments.json`` (department -> {"url", "secret_arn"};
a top-level ``"secret_arn"`` serves every department that names none). Key: the secret (Secrets
Manager, cached per process), else env ``DEPARTMENTS_KEY``, else ``local-simulator-key`` only for
a loopback URL. Stdlib only; boto3 is imported only to read a secret.
"""
from __future__ import annotations

import ipaddress
import json
import os
import threading
import time
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.departments.contract import (
    DEPARTMENTS,
    FACTS,
    MAX_ANSWER_BYTES,
    DepartmentError,
    DepartmentGarbage,
    DepartmentRejected,
    DepartmentTimeout,
    DepartmentUnavailable,
    check_facts,
    parse_answer,
    sign,
)

if TYPE_CHECKING:
    import urllib.request

__all__ = [
    "DEPARTMENTS", "FACTS", "DepartmentError", "DepartmentGarbage", "DepartmentRejected", "DepartmentTimeout",
    "DepartmentUnavailable", "check_facts", "endpoint", "parse_answer", "query", "sign",
]

CITIES_DIR = Path(__file__).resolve().parent.parent / "cities"
LOCAL_KEY = "local-simulator-key"
SECRET_TTL_S = 3600.0  # a rotated key is picked up within the hour
CONSENT_KEYS = ("method", "at", "text_version", "document_id")
MAX_READ = MAX_ANSWER_BYTES + 1  # one byte past the contract's limit, so an oversized answer is seen as such

_secrets: dict[str, tuple[float, str]] = {}
_secrets_lock = threading.Lock()
_city_configs: dict[str, dict[str, Any]] = {}


# --- where and with which key --------------------------------------------------------------------
def is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def city_config(city: str) -> dict[str, Any]:
    """The city's department endpoints (read once per process)."""
    if city not in _city_configs:
        path = CITIES_DIR / city / "departments.json"
        if path.is_file():
            from chalicelib.city_files import parse_file  # validated by its model, file and field named

            _city_configs[city] = parse_file(path).model_dump(exclude_none=True)
        else:
            _city_configs[city] = {}
    return _city_configs[city]


def endpoint(department: str) -> tuple[str, str | None]:
    """The department's URL and the ARN of the secret holding the signing key (None: env/local)."""
    from chalicelib.config import settings

    if department not in DEPARTMENTS:
        raise DepartmentError(f"unknown department {department!r}")
    config = settings()
    if config.departments_base_url:
        return f"{config.departments_base_url.rstrip('/')}/{department}/query", None
    city = city_config(config.city_code)
    entry = city.get(department)
    if not isinstance(entry, dict) or not entry.get("url"):
        raise DepartmentError(f"{department}: no endpoint configured for city {config.city_code}")
    url = str(entry["url"])
    if urllib.parse.urlsplit(url).scheme != "https" and not is_loopback(url):
        raise DepartmentError(f"{department}: the endpoint must use https")
    return url, entry.get("secret_arn") or city.get("secret_arn") or None


def signing_key(url: str, secret_arn: str | None) -> str:
    if secret_arn:
        return _secret(secret_arn)
    key = os.environ.get("DEPARTMENTS_KEY")
    if key:
        return key
    if is_loopback(url):
        return LOCAL_KEY
    raise DepartmentError("no signing key configured for the departments")


def _secret(arn: str) -> str:
    with _secrets_lock:
        cached = _secrets.get(arn)
        if cached and time.monotonic() - cached[0] < SECRET_TTL_S:
            return cached[1]
    import boto3  # only here: most department calls find the key cached

    from chalicelib.config import settings

    config = settings()
    region = arn.split(":")[3] if arn.count(":") >= 6 else config.region
    try:
        client = boto3.client("secretsmanager", region_name=region or config.region,
                              endpoint_url=config.endpoint_url)
        value = client.get_secret_value(SecretId=arn)["SecretString"]
    except Exception as exc:  # botocore's errors: the key is unreachable now, maybe not later
        raise DepartmentUnavailable(f"signing key unavailable ({type(exc).__name__})") from None
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    key = parsed.get("key") if isinstance(parsed, dict) else parsed
    if not isinstance(key, str) or not key:
        raise DepartmentError("the departments' secret holds no key (a string, or JSON with \"key\")")
    with _secrets_lock:
        _secrets[arn] = (time.monotonic(), key)
    return key


def clear_caches() -> None:
    """Forget cached keys and city configs (tests; a rotated key)."""
    with _secrets_lock:
        _secrets.clear()
    _city_configs.clear()


def _timeout() -> float:
    from chalicelib.config import settings

    return float(getattr(settings(), "department_timeout_s", None) or os.environ.get("DEPARTMENT_TIMEOUT_S", 5))


# --- the call ----------------------------------------------------------------------------------------
_openers: dict[bool, urllib.request.OpenerDirector] = {}


def _opener(loopback: bool) -> urllib.request.OpenerDirector:
    """urllib (~25 ms of imports) is loaded on the first call, not when the app imports this."""
    import urllib.request

    if loopback not in _openers:  # loopback never goes through an HTTP(S)_PROXY from the environment
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            """A signed POST is never replayed elsewhere: a redirect is an error (DepartmentRejected)."""

            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        handlers: list[Any] = [NoRedirect()] + ([urllib.request.ProxyHandler({})] if loopback else [])
        _openers[loopback] = urllib.request.build_opener(*handlers)
    return _openers[loopback]


def request_body(department: str, persons: list[dict[str, Any]], query_id: str, city: str) -> bytes:
    """The request: each person with their recorded consent (never asked about without one)."""
    if not persons:
        raise DepartmentError(f"{department}: nobody to ask about")
    seen: set[str] = set()
    out = []
    for i, p in enumerate(persons):
        member_id = p.get("member_id")
        if not isinstance(member_id, str) or not member_id or member_id in seen:
            raise DepartmentError(f"{department}: persons[{i}] has no member_id, or a repeated one")
        seen.add(member_id)
        consent = p.get("consent")
        if not isinstance(consent, dict) or not consent.get("method") or not consent.get("at"):
            raise DepartmentError(f"{department}: member {member_id} has no recorded consent")
        if not p.get("id_number"):
            raise DepartmentError(f"{department}: member {member_id} has no ID number")
        out.append({"member_id": member_id, "id_number": p["id_number"], "name": p.get("name") or "",
                    "consent": {k: consent.get(k) for k in CONSENT_KEYS}})
    return json.dumps({"query_id": query_id, "department": department, "city": city, "persons": out},
                      ensure_ascii=False, separators=(",", ":")).encode()


def _post(department: str, url: str, body: bytes, headers: dict[str, str], timeout: float) -> bytes:
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener(is_loopback(url)).open(request, timeout=timeout) as response:
            chunks, size = [], 0
            while size < MAX_READ and (chunk := response.read(65536)):
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks)
    except urllib.error.HTTPError as exc:
        code = exc.code
        exc.close()
        if code >= 500 or code in (408, 429):
            raise DepartmentUnavailable(f"{department}: HTTP {code}") from None
        raise DepartmentRejected(f"{department}: HTTP {code}") from None
    except TimeoutError:
        raise DepartmentTimeout(f"{department}: no answer within {timeout:g} s") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise DepartmentTimeout(f"{department}: no answer within {timeout:g} s") from None
        raise DepartmentUnavailable(f"{department}: {type(exc.reason).__name__}") from None
    except (OSError, http.client.HTTPException) as exc:  # reset, refused mid-way, a broken status line
        raise DepartmentUnavailable(f"{department}: {type(exc).__name__}") from None


def query(department: str, persons: list[dict[str, Any]], *, query_id: str) -> dict[str, Any]:
    """Ask ``department`` about ``persons`` (each with consent); the validated answer or an error."""
    from chalicelib.config import settings

    started = time.monotonic()
    url, secret_arn = endpoint(department)
    body = request_body(department, persons, query_id, settings().city_code)
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json",
               "X-Query-Id": query_id, "X-Timestamp": timestamp,
               "X-Signature": sign(signing_key(url, secret_arn), timestamp, body)}
    timeout = _timeout()
    try:
        raw = _post(department, url, body, headers, timeout)
        answer = parse_answer(department, query_id, [p["member_id"] for p in persons], raw)
    except DepartmentError as exc:
        _log("warning", "department query failed", department=department, query_id=query_id,
             persons=len(persons), error=type(exc).__name__, detail=str(exc),
             duration_ms=round((time.monotonic() - started) * 1000))
        _measure(department, started, failed=True)
        raise
    _log("info", "department answered", department=department, query_id=query_id, persons=len(persons),
         found=sum(1 for p in answer["persons"] if p["found"]),
         duration_ms=round((time.monotonic() - started) * 1000))
    _measure(department, started, failed=False)
    return answer


def _measure(department: str, started: float, failed: bool) -> None:
    """One data point per call (the dashboard's error rate and latency per department)."""
    from chalicelib.metric_names import DEPARTMENT_ERRORS, DEPARTMENT_LATENCY
    from chalicelib.observability import emit_now

    emit_now({DEPARTMENT_ERRORS: ("Count", 1 if failed else 0),
              DEPARTMENT_LATENCY: ("Milliseconds", round((time.monotonic() - started) * 1000, 1))},
             department=department)


def _log(level: str, message: str, **extra: Any) -> None:
    """Counts and ids of the query only: never an ID number or a name (the formatter masks anyway)."""
    from chalicelib.observability import logger

    getattr(logger, level)(message, extra=extra)

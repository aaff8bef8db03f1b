"""Helpers for the applying tests: citizens with real tokens and valid ID numbers, uploads."""
from __future__ import annotations

import itertools
import json
from typing import Any

import requests

from chalicelib.domain.idnumbers import credit_check_char, id_check_digit

_seq = itertools.count(1)


JIANGMEN_REGIONS = ("440703", "440704", "440705", "440781", "440783", "440784", "440785")


def id_number(born: str = "19900101", region: str | None = None, male: bool = True) -> str:
    """A valid 18-digit ID, unique per process: 500 sequence numbers per district and birth date,
    then the next Jiangmen district (the first 500 are all 440703)."""
    n = next(_seq)
    k = n % 500
    seq = f"{k // 5:02d}{2 * (k % 5) + (1 if male else 0)}"
    first = f"{region or JIANGMEN_REGIONS[(n // 500) % len(JIANGMEN_REGIONS)]}{born}{seq}"
    return first + id_check_digit(first)


def credit_code(body: str = "91440700MA4U") -> str:
    n = next(_seq)
    first = f"{body}{n:05d}"[:17].replace("I", "1").replace("O", "0")
    return first + credit_check_char(first)


class Citizen:
    """A logged-in citizen (role applicant) with a unique mobile number."""

    _mobiles = itertools.count(13900000000 + (hash("applying") % 1000) * 1000)

    def __init__(self, stack: Any, name: str = "张三明", role: str = "applicant", born: str = "19900101") -> None:
        self.stack = stack  # its real-name simulator vouches for the citizen (register() below)
        self.mobile = str(next(self._mobiles))
        self.username = stack.add_user(self.mobile, role)
        self.token = stack.token_for(self.username)
        self.name = name
        self.id_number = id_number(born)

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}", **extra}

    def member(self, relation: str = "self", **kw: Any) -> dict[str, Any]:
        return {"relation": relation, "name": self.name, "id_number": self.id_number, "hukou": "local",
                "monthly_income": 300000, **kw}


def call(client: Any, method: str, path: str, headers: dict[str, str], data: Any = None) -> tuple[int, Any]:
    payload = None if data is None else (data if isinstance(data, (str, bytes)) else json.dumps(data, ensure_ascii=False))
    response = getattr(client.http, method.lower())(path, headers=headers, body=payload) if payload is not None \
        else getattr(client.http, method.lower())(path, headers=headers)
    if not response.body:
        return response.status_code, None
    content_type = next((v for k, v in (response.headers or {}).items() if k.lower() == "content-type"), "")
    if content_type.startswith("text/"):  # a provider's answer (Alipay's "success"), not the app's JSON
        return response.status_code, response.body.decode()
    return response.status_code, json.loads(response.body)


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.7\n" + b"0" * 200
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200


def upload(client: Any, headers: dict[str, str], application_id: str, doc_type: str, content: bytes = JPEG,
           content_type: str = "image/jpeg", **extra: Any) -> dict[str, Any]:
    """Reserve a document, then POST the file straight to (moto's) S3 as the phone would."""
    status, body = call(client, "POST", f"/v1/applications/{application_id}/documents", headers,
                        {"type": doc_type, "content_type": content_type, **extra})
    assert status == 201, body
    form = body["upload"]
    response = requests.post(form["url"], data=form["fields"], files={"file": ("f", content, content_type)},
                             timeout=10)
    assert response.status_code == 204, response.text  # S3's answer to a POST upload without success_action_status
    return body["document"]


def register(client: Any, person: "Citizen", name: str | None = None, id_number: str | None = None) -> dict[str, Any]:
    """Real-name registration of a test citizen (POST /v1/me) until it is complete: the one way tests
    register a person, so a change in how registration completes is made here once.

    The person is enrolled in the real-name simulator's registry (the population registry vouches
    for them), registers (pending), passes the face check as the phone's SDK would, and the app
    asks the server to complete the check (docs/decisions/0016)."""
    name, id_number = name or person.name, id_number or person.id_number
    person.stack.realname.enrol(id_number, name)
    status, body = call(client, "POST", "/v1/me", person.headers(), {"name": name, "id_number": id_number})
    assert status == 201, body
    if body["real_name"]["status"] == "pending":
        face = body["real_name"]["face"]
        assert requests.post(face["sdk_url"], json={"outcome": "pass"}, timeout=10).status_code == 200
        status, body = call(client, "POST", "/v1/me/real-name-check", person.headers(),
                            {"check_id": body["real_name"]["check_id"]})
        assert status == 200, body
    assert body["real_name"]["status"] == "verified", body
    return body

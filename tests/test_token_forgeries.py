"""Every malformed or mismatched token is a 401 INVALID_TOKEN, never a 500 (issue 9 §3).

The forgeries are built from a real token of this stack (its kid, issuer, audience), so each one
gets as far into verification as its defect allows.
"""
from __future__ import annotations

import base64
import json
from typing import Any, Callable

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ROUTE = "/v1/admin/policies"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _j(value: Any) -> str:
    return _b64(json.dumps(value).encode())


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    head, payload, sig = token.split(".")
    return (json.loads(base64.urlsafe_b64decode(head + "==")), json.loads(base64.urlsafe_b64decode(payload + "==")),
            sig)


def _es256(header: dict[str, Any], claims: dict[str, Any]) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims, key, algorithm="ES256", headers={k: v for k, v in header.items() if k != "alg"})


def _hs256_with_public_key(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """The classic: HS256 signed with bytes of some public key (here a fresh RSA one)."""
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    head = {**header, "alg": "HS256"}
    import hashlib
    import hmac
    signing = f"{_j(head)}.{_j(claims)}".encode()
    return f"{signing.decode()}.{_b64(hmac.new(pem, signing, hashlib.sha256).digest())}"


FORGERIES: dict[str, Callable[[dict[str, Any], dict[str, Any], str], str]] = {
    "ES256 header with the RSA kid": lambda h, c, s: _es256(h, c),
    "ES256 header, RSA signature": lambda h, c, s: f"{_j({**h, 'alg': 'ES256'})}.{_j(c)}.{s}",
    "PS256 header with the RSA kid": lambda h, c, s: f"{_j({**h, 'alg': 'PS256'})}.{_j(c)}.{s}",
    "HS256 with a public key": lambda h, c, s: _hs256_with_public_key(h, c),
    "alg none": lambda h, c, s: f"{_j({**h, 'alg': 'none'})}.{_j(c)}.",
    "alg a list": lambda h, c, s: f"{_j({**h, 'alg': ['RS256']})}.{_j(c)}.{s}",
    "alg null": lambda h, c, s: f"{_j({**h, 'alg': None})}.{_j(c)}.{s}",
    "kid a list": lambda h, c, s: f"{_j({**h, 'kid': [h['kid']]})}.{_j(c)}.{s}",
    "kid a dict": lambda h, c, s: f"{_j({**h, 'kid': {'k': 1}})}.{_j(c)}.{s}",
    "kid huge": lambda h, c, s: f"{_j({**h, 'kid': 'k' * 100_000})}.{_j(c)}.{s}",
    "kid unknown": lambda h, c, s: f"{_j({**h, 'kid': 'not-a-key'})}.{_j(c)}.{s}",
    "huge header": lambda h, c, s: f"{_j({**h, 'x': 'a' * 200_000})}.{_j(c)}.{s}",
    "header not base64": lambda h, c, s: f"!!!$$$.{_j(c)}.{s}",
    "header not JSON": lambda h, c, s: f"{_b64(b'not json at all')}.{_j(c)}.{s}",
    "header a JSON list": lambda h, c, s: f"{_j([h])}.{_j(c)}.{s}",
    "header not UTF-8": lambda h, c, s: f"{_b64(bytes([0xff, 0xfe, 0x80]))}.{_j(c)}.{s}",
    "header deeply nested": lambda h, c, s: f"{_b64(('[' * 5000 + ']' * 5000).encode())}.{_j(c)}.{s}",
    "payload not JSON": lambda h, c, s: f"{_j(h)}.{_b64(b'{nope')}.{s}",
    "payload a list": lambda h, c, s: f"{_j(h)}.{_j([c])}.{s}",
    "payload swapped, signature kept": lambda h, c, s: f"{_j(h)}.{_j({**c, 'cognito:groups': ['admin']})}.{s}",
    "exp a string": lambda h, c, s: f"{_j(h)}.{_j({**c, 'exp': 'never'})}.{s}",
    "signature not base64": lambda h, c, s: f"{_j(h)}.{_j(c)}.***",
    "signature empty": lambda h, c, s: f"{_j(h)}.{_j(c)}.",
    "signature truncated": lambda h, c, s: f"{_j(h)}.{_j(c)}.{s[:10]}",
    "two parts": lambda h, c, s: f"{_j(h)}.{_j(c)}",
    "four parts": lambda h, c, s: f"{_j(h)}.{_j(c)}.{s}.{s}",
    "only dots": lambda h, c, s: "....",
    "non-ASCII": lambda h, c, s: f"{_j(h)}.{_j(c)}.签名",
    "crit header": lambda h, c, s: f"{_j({**h, 'crit': ['exp']})}.{_j(c)}.{s}",
    "jwk embedded": lambda h, c, s: f"{_j({**h, 'jwk': {'kty': 'oct', 'k': 'AA'}})}.{_j(c)}.{s}",
    "whole token huge": lambda h, c, s: f"{_j(h)}.{_j(c)}.{s}" + "A" * 300_000,
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_or_malformed_token_is_401(client: Any, tokens: Any, forgery: str) -> None:
    header, claims, signature = _parts(tokens("admin"))
    token = FORGERIES[forgery](header, claims, signature)
    response = client.http.get(ROUTE, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, (forgery, response.status_code, response.body[:300])
    err = json.loads(response.body)["error"]
    assert err["code"] == "INVALID_TOKEN", (forgery, err)
    assert token[:40] not in response.body.decode()  # the answer never echoes the token


def test_the_real_token_still_passes(client: Any, tokens: Any) -> None:
    """The sweep's control: the same route admits the untouched token."""
    response = client.http.get(ROUTE, headers={"Authorization": f"Bearer {tokens('admin')}"})
    assert response.status_code == 200

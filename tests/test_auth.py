"""Tokens are verified in every environment: real Cognito tokens pass, forgeries never do."""
from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import body

pytestmark = pytest.mark.usefixtures("catalogue")
ADMIN_ROUTE = "/v1/admin/policies"
STAFF_ROUTE = "/v1/units/fuzeyuan.b1.100/history"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _call(client: Any, path: str, token: str | None, scheme: str = "Bearer") -> Any:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    return client.http.get(path, headers=headers)


# --- Cognito (moto) ----------------------------------------------------------------------------
def test_missing_token_is_401(client: Any) -> None:
    r = _call(client, ADMIN_ROUTE, None)
    assert r.status_code == 401
    assert body(r)["error"]["code"] == "NOT_AUTHENTICATED"
    assert body(r)["error"]["message"] == "请先登录"


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer    ", "token-without-scheme"])
def test_malformed_authorization_header_is_401(client: Any, header: str) -> None:
    r = client.http.get(ADMIN_ROUTE, headers={"Authorization": header})
    assert r.status_code == 401
    assert body(r)["error"]["code"] == "INVALID_TOKEN"


def test_real_cognito_token_with_role_passes(client: Any, tokens: Any) -> None:
    assert _call(client, ADMIN_ROUTE, tokens("admin")).status_code == 200
    assert _call(client, STAFF_ROUTE, tokens("staff")).status_code == 200
    assert _call(client, STAFF_ROUTE, tokens("auditor")).status_code == 200


@pytest.mark.parametrize("role", ["applicant", "employer", "staff", "auditor"])
def test_wrong_role_is_403(client: Any, tokens: Any, role: str) -> None:
    r = _call(client, ADMIN_ROUTE, tokens(role))
    assert r.status_code == 403
    assert body(r)["error"]["code"] == "FORBIDDEN"


def test_unsigned_alg_none_token_is_refused(client: Any, tokens: Any) -> None:
    claims = _claims(tokens("applicant"))
    claims["cognito:groups"] = ["admin"]
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'dummy'})}.{_b64(claims)}."
    r = _call(client, ADMIN_ROUTE, forged)
    assert r.status_code == 401 and body(r)["error"]["code"] == "INVALID_TOKEN"


def test_tampered_payload_is_refused(client: Any, tokens: Any) -> None:
    header, _, signature = tokens("applicant").split(".")
    claims = _claims(tokens("applicant"))
    claims["cognito:groups"] = ["admin"]
    r = _call(client, ADMIN_ROUTE, f"{header}.{_b64(claims)}.{signature}")
    assert r.status_code == 401 and body(r)["error"]["code"] == "INVALID_TOKEN"


def test_token_signed_by_another_key_with_the_same_kid_is_refused(client: Any, tokens: Any) -> None:
    claims = _claims(tokens("admin"))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other, algorithm="RS256", headers={"kid": "dummy"})
    assert _call(client, ADMIN_ROUTE, forged).status_code == 401


def test_hmac_signed_token_is_refused(client: Any, tokens: Any) -> None:
    claims = _claims(tokens("admin"))
    forged = jwt.api_jws.PyJWS(algorithms=["HS256"]).encode(
        json.dumps(claims).encode(), key="an-hmac-secret-that-is-at-least-32-bytes", algorithm="HS256", headers={"kid": "dummy"})
    assert _call(client, ADMIN_ROUTE, forged).status_code == 401


def test_staff_of_another_city_is_403(client: Any, stack: Any) -> None:
    username = stack.add_user("13900000031", "admin", city="xining")
    r = _call(client, ADMIN_ROUTE, stack.token_for(username))
    assert r.status_code == 403 and body(r)["error"]["code"] == "FORBIDDEN"


# --- a test OIDC issuer (the China-partition path) ---------------------------------------------
class Issuer:
    """A government identity platform stand-in: a key pair and its JWKS served on loopback."""

    def __init__(self, iss: str) -> None:
        self.iss = iss
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = f"k-{int(time.time() * 1000)}"
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwks = json.dumps({"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(jwks)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.jwks_url = f"http://127.0.0.1:{self.server.server_port}/.well-known/jwks.json"

    def token(self, **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": self.iss, "sub": "gov-user-1", "aud": "gzf-app", "iat": now, "exp": now + 600,
                  "roles": ["staff"], "city": "jiangmen", **overrides}
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


@pytest.fixture()
def oidc(monkeypatch: pytest.MonkeyPatch) -> Iterator[Issuer]:
    from chalicelib import auth, config

    issuer = Issuer("https://sso.gd.gov.cn/oidc")
    for key, value in {"AUTH_ISSUER": issuer.iss, "AUTH_JWKS_URL": issuer.jwks_url, "AUTH_AUDIENCE": "gzf-app",
                       "AUTH_TOKEN_USE": "", "AUTH_ROLES_CLAIM": "roles", "AUTH_CITY_CLAIM": "city"}.items():
        monkeypatch.setenv(key, value)
    config.settings.cache_clear()
    auth.verifier.cache_clear()
    yield issuer
    issuer.server.shutdown()
    monkeypatch.undo()
    config.settings.cache_clear()
    auth.verifier.cache_clear()


def test_oidc_token_from_the_configured_issuer_passes(client: Any, oidc: Issuer) -> None:
    assert _call(client, STAFF_ROUTE, oidc.token()).status_code == 200


@pytest.mark.parametrize("overrides, status, code", [
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, 401, "INVALID_TOKEN"),  # expired
    ({"aud": "another-app"}, 401, "INVALID_TOKEN"),  # another audience
    ({"iss": "https://sso.other-province.gov.cn/oidc"}, 401, "INVALID_TOKEN"),  # another issuer
    ({"exp": None}, 401, "INVALID_TOKEN"),  # no expiry at all
    ({"city": "xining"}, 403, "FORBIDDEN"),  # a valid token, but staff of another city: not this city's staff
], ids=["expired", "audience", "issuer", "no-exp", "other-city"])
def test_oidc_bad_tokens_are_refused(client: Any, oidc: Issuer, overrides: dict[str, Any], status: int,
                                     code: str) -> None:
    r = _call(client, STAFF_ROUTE, oidc.token(**overrides))
    assert (r.status_code, body(r)["error"]["code"]) == (status, code)


def test_oidc_token_from_an_impostor_issuer_is_refused(client: Any, oidc: Issuer) -> None:
    impostor = Issuer(oidc.iss)  # same iss and kid scheme, different key, own JWKS
    impostor.kid = oidc.kid
    try:
        assert _call(client, STAFF_ROUTE, impostor.token()).status_code == 401
    finally:
        impostor.server.shutdown()


def test_citizen_without_role_claim_is_an_applicant(oidc: Issuer) -> None:
    from chalicelib.auth import verifier
    from chalicelib.identity import Role

    actor = verifier().verify(oidc.token(roles=None, city=None))
    assert actor.roles == frozenset({Role.APPLICANT})
    assert actor.subject == "gov-user-1"

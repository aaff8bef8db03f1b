"""Identity: one verification path for every provider (Cognito, a government OIDC platform).

A bearer token is checked against the city's configured issuer: signature against the issuer's
published keys (JWKS, cached), issuer, audience/client, expiry and token use. Roles and city come
from configurable claims. This runs inside the app, so it is enforced identically in Lambda, in
``chalice local`` and in tests (Chalice does not enforce API Gateway authorizers locally).
"""
from __future__ import annotations

from functools import cache
from typing import Any, Iterable

import jwt

from chalicelib import errors
from chalicelib.config import IdentitySettings, settings
from chalicelib.identity import CITY_BOUND_ROLES, Actor, Role

ALGORITHMS = ["RS256", "ES256"]  # asymmetric only: "none" and HMAC tokens never verify
#: The one algorithm each key type verifies (JWK ``kty``).
KEY_ALGORITHM = {"RSA": "RS256", "EC": "ES256"}
#: Longer than any real ID token (Cognito's are ~1-2 KB, a government platform's a few KB).
MAX_TOKEN_CHARS = 16_384


class TokenVerifier:
    def __init__(self, config: IdentitySettings, city: str) -> None:
        if not (config.issuer and config.jwks_url and config.audience):
            raise RuntimeError("identity is not configured (AUTH_ISSUER, AUTH_JWKS_URL, AUTH_AUDIENCE)")
        self.config = config
        self.city = city
        # PyJWT caches the key set for its lifespan and refetches once (after a cooldown) when a
        # token names an unknown kid, which is how issuers rotate keys.
        self.keys = jwt.PyJWKClient(config.jwks_url, lifespan=config.jwks_cache_seconds, timeout=5)

    def verify(self, token: str) -> Actor:
        """The verified caller; any token that does not verify, however malformed, is InvalidToken."""
        if len(token) > MAX_TOKEN_CHARS:
            raise errors.InvalidToken("token too long")
        try:
            return self._verify(token)
        except errors.DomainError:
            raise
        except Exception as exc:  # a token PyJWT or cryptography chokes on is still only a bad token
            raise errors.InvalidToken(f"malformed token ({type(exc).__name__})") from None

    def _verify(self, token: str) -> Actor:
        cfg = self.config
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise errors.InvalidToken("malformed token") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in ALGORITHMS or not isinstance(kid, str) or not kid:
            raise errors.InvalidToken("unsupported token")
        try:
            jwk = self.keys.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError:
            raise errors.ServiceUnavailable("identity keys unavailable") from None
        except jwt.PyJWKClientError:
            raise errors.InvalidToken("unknown signing key") from None
        # The header's algorithm must be the one the key is for (an RSA kid with ES256 is a forgery).
        if KEY_ALGORITHM.get(jwk.key_type) != alg:
            raise errors.InvalidToken("algorithm does not match the key")
        key = jwk.key
        # Cognito access tokens carry client_id instead of aud; everything else must name us in aud.
        check_aud = cfg.token_use != "access"
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                issuer=cfg.issuer,
                audience=cfg.audience if check_aud else None,
                leeway=cfg.leeway_seconds,
                options={"require": ["exp", "iat", "sub", "iss"], "verify_aud": check_aud},
            )
        except jwt.ExpiredSignatureError:
            raise errors.InvalidToken("expired") from None
        except jwt.PyJWTError as exc:
            raise errors.InvalidToken(type(exc).__name__) from None
        if cfg.token_use and claims.get("token_use") != cfg.token_use:
            raise errors.InvalidToken("wrong token use")
        if not check_aud and claims.get("client_id") != cfg.audience:
            raise errors.InvalidToken("wrong client")
        return Actor(
            subject=str(claims["sub"]),
            roles=self._roles(claims),
            city=claims.get(cfg.city_claim),
            claims=claims,
        )

    def _roles(self, claims: dict[str, Any]) -> frozenset[Role]:
        raw = claims.get(self.config.roles_claim)
        names = raw.split() if isinstance(raw, str) else list(raw or [])
        roles = {Role(n) for n in names if n in Role._value2member_map_}
        if not roles and self.config.default_role:
            roles.add(Role(self.config.default_role))
        return frozenset(roles)


@cache
def verifier() -> TokenVerifier:
    s = settings()
    return TokenVerifier(s.identity, s.city_code)


def authenticate(authorization: str | None, allowed: Iterable[str]) -> Actor:
    """Verify the bearer token and that the caller holds one of ``allowed`` roles (empty: any)."""
    if not authorization:
        raise errors.NotAuthenticated()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.InvalidToken("expected a Bearer token")
    actor = verifier().verify(token.strip())
    wanted = {Role(r) for r in allowed}
    if wanted and not (actor.roles & wanted):
        raise errors.Forbidden("role")
    if actor.roles & wanted & CITY_BOUND_ROLES and actor.city != verifier().city:
        # Staff of another city's stack (or a token without a city) cannot act here.
        if not (actor.roles & wanted - CITY_BOUND_ROLES):
            raise errors.Forbidden("city")
    return actor

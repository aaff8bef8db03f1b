"""Per-city deployment settings: infra/cities/<code>.json, validated when loaded.

A city file says where the city's stack runs (region, hence partition) and who issues its users'
tokens. Everything else in the stack is the same for every city. See
docs/decisions/0005-per-city-infra.md.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CITIES_DIR = Path(__file__).resolve().parent / "cities"

#: CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)
#: 等级保护 2.0: audit trails of a government system are kept at least six months.
MIN_LOG_RETENTION_DAYS_CN = 180

_CODE = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
_REGION = re.compile(r"^(cn|us|eu|ap|ca|sa|me|af|il|mx)-[a-z]+-\d$")
_TOP_KEYS = {"code", "name", "region", "identity", "limits", "departments", "observability", "notifications",
             "real_name", "api_base_url", "operations"}
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_LIMIT_DEFAULTS: dict[str, int] = {
    "log_retention_days": 365,
    "document_retention_days": 180,
    "lambda_memory_mb": 512,
    "lambda_timeout_s": 30,
}
_OBSERVABILITY_DEFAULTS: dict[str, Any] = {
    "log_level": "INFO",
    "xray_sdk": False,  # Powertools Tracer in the function (costs ~200 ms of cold start, 0007)
}
_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR"}


class CityConfigError(ValueError):
    """A city file is missing, malformed, or says something the stack cannot build."""


@dataclass(frozen=True)
class Identity:
    provider: str  # "oidc" | "cognito"
    issuer: str | None = None
    jwks_url: str | None = None
    audience: str | None = None
    roles_claim: str = "cognito:groups"
    city_claim: str = "custom:city"
    token_use: str | None = "id"
    # real-name claims the provider vouches for (实名, docs/decisions/0016); None: it does not
    name_claim: str | None = None
    id_number_claim: str | None = None


@dataclass(frozen=True)
class RealName:
    """The real-name check provider (实名核验 + 人脸核身) for logins whose token carries no real name;
    its credentials in the Secrets Manager secret ``{city}/real-name`` (written by the operator)."""

    endpoint: str | None = None
    face: bool = True


@dataclass(frozen=True)
class Notifications:
    """How citizens get their SMS: ``sns`` (Amazon SNS, global regions only) or ``http_sms`` (the
    city's SMS provider; its credentials in a Secrets Manager secret the stack creates, or an
    existing one named by ``sms_secret_name``)."""

    channel: str = "sns"
    sms_endpoint: str | None = None
    sms_secret_name: str | None = None


@dataclass(frozen=True)
class AlarmSubscription:
    """Who hears the ops topic's alarms: ``email`` or ``https`` (a webhook of the city's duty
    system) everywhere, ``sms`` only outside China (no SNS SMS in the China partition)."""

    protocol: str
    endpoint: str


#: WAF rate-based rules count a client IP's requests over this window (seconds).
WAF_WINDOW_S = 300
#: WAF sees at most the first 16 KB of a request body to a regional API Gateway stage (the default
#: inspection limit): a body limit above it could not be checked.
WAF_MAX_BODY_KB = 16


@dataclass(frozen=True)
class Operations:
    """Alarms and the edge (infra/operations.py, infra/edge.py; docs/decisions/0038).

    ``waf_rate_limit``: requests one client IP may make in five minutes before WAF answers 429
    (generous: mobile carriers put many citizens behind one address). ``waf_max_body_kb``: larger
    bodies are refused at the edge (413), except on the bulk routes (infra/edge.py)."""

    alarm_subscriptions: tuple[AlarmSubscription, ...] = ()
    waf_rate_limit: int = 2000
    waf_max_body_kb: int = WAF_MAX_BODY_KB


@dataclass(frozen=True)
class CityConfig:
    code: str
    name: str
    region: str
    identity: Identity
    limits: dict[str, int]
    departments: dict[str, Any] = field(default_factory=dict)
    observability: dict[str, Any] = field(default_factory=dict)
    notifications: Notifications = field(default_factory=Notifications)
    real_name: RealName = field(default_factory=RealName)
    # The API's public https base (the city's domain in front of API Gateway): the payment providers'
    # notify URLs hang off it. Unset: orders carry none, and the payments sweep settles them by query.
    api_base_url: str | None = None
    operations: Operations = field(default_factory=Operations)

    @property
    def partition(self) -> str:
        return "aws-cn" if self.region.startswith("cn-") else "aws"

    @property
    def in_china(self) -> bool:
        return self.partition == "aws-cn"


def available_cities() -> list[str]:
    return sorted(p.stem for p in CITIES_DIR.glob("*.json"))


def load_city(code: str, directory: Path | None = None) -> CityConfig:
    """Load and validate ``<directory>/<code>.json`` (infra/cities by default)."""
    directory = directory or CITIES_DIR
    path = directory / f"{code}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.json"))) or "none"
        raise CityConfigError(f"no city config {path} (known cities: {known})")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CityConfigError(f"{path}: not valid JSON: {exc}") from None
    return parse_city(raw, source=str(path), expected_code=code)


def parse_city(raw: Any, source: str = "<city>", expected_code: str | None = None) -> CityConfig:
    """Validate a city document; every problem found is reported in one error."""
    errors: list[str] = []

    def err(where: str, message: str) -> None:
        errors.append(f"{where}: {message}")

    if not isinstance(raw, dict):
        raise CityConfigError(f"{source}: the top level must be an object")
    for key in sorted(set(raw) - _TOP_KEYS):
        err(key, f"unknown key (allowed: {', '.join(sorted(_TOP_KEYS))})")

    code = raw.get("code")
    if not isinstance(code, str) or not _CODE.match(code):
        err("code", "required: lowercase letters, digits and hyphens, 3-32 characters")
    elif expected_code is not None and code != expected_code:
        err("code", f"{code!r} does not match the file name {expected_code!r}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        err("name", "required: the city's name, e.g. 江门市")
    region = raw.get("region")
    if not isinstance(region, str) or not _REGION.match(region):
        err("region", "required: an AWS region code such as cn-northwest-1 or ap-southeast-1")
        region = None
    in_china = bool(region and region.startswith("cn-"))

    identity = _parse_identity(raw.get("identity"), in_china, err)
    limits = _parse_limits(raw.get("limits", {}), in_china, err)
    observability = _parse_observability(raw.get("observability", {}), err)
    notifications = _parse_notifications(raw.get("notifications"), in_china, err)
    real_name = _parse_real_name(raw.get("real_name"), err)
    operations = _parse_operations(raw.get("operations"), in_china, err)
    api_base_url = raw.get("api_base_url")
    if api_base_url is not None and not _https_url(api_base_url):
        err("api_base_url", "must be the API's public https:// base URL")

    departments = raw.get("departments", {})
    if not isinstance(departments, dict):
        err("departments", "must be an object (department code -> settings)")
        departments = {}

    if errors:
        raise CityConfigError(f"{source}: invalid city config:\n  " + "\n  ".join(errors))
    assert identity is not None and region is not None
    return CityConfig(
        code=code,  # type: ignore[arg-type]
        name=name.strip(),  # type: ignore[union-attr]
        region=region,
        identity=identity,
        limits=limits,
        departments=departments,
        observability=observability,
        notifications=notifications,
        real_name=real_name,
        api_base_url=api_base_url,
        operations=operations,
    )


def _https_url(value: Any) -> bool:
    return isinstance(value, str) and re.match(r"^https://[^\s/]+(/\S*)?$", value) is not None


def _parse_identity(value: Any, in_china: bool, err: Any) -> Identity | None:
    if not isinstance(value, dict):
        err("identity", 'required: {"provider": "oidc", ...} or {"provider": "cognito"}')
        return None
    provider = value.get("provider")
    if provider == "cognito":
        allowed = {"provider", "roles_claim", "city_claim"}
        for key in sorted(set(value) - allowed):
            err(f"identity.{key}", "not used with Cognito (the stack creates the pool and its client)")
        if in_china:
            err("identity.provider", "Cognito user pools do not exist in the China partition: use oidc")
        return Identity(
            provider="cognito",
            roles_claim=value.get("roles_claim", "cognito:groups"),
            city_claim=value.get("city_claim", "custom:city"),
            token_use="id",
        )
    if provider == "oidc":
        required = ("issuer", "jwks_url", "audience", "roles_claim", "city_claim", "token_use")
        allowed = {"provider", "realname_claims", *required}
        for key in sorted(set(value) - allowed):
            err(f"identity.{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in value:
                err(f"identity.{key}", "required for an OIDC issuer")
        for key in ("issuer", "jwks_url"):
            if key in value and not _https_url(value[key]):
                err(f"identity.{key}", "must be an https:// URL")
        for key in ("audience", "roles_claim", "city_claim"):
            if key in value and (not isinstance(value[key], str) or not value[key].strip()):
                err(f"identity.{key}", "must be a non-empty string")
        token_use = value.get("token_use")
        if token_use is not None and (not isinstance(token_use, str) or not token_use):
            err("identity.token_use", "must be null (the issuer sets no token_use claim) or a string")
        claims = value.get("realname_claims")
        if claims is not None and (not isinstance(claims, dict) or set(claims) != {"name", "id_number"}
                                   or not all(isinstance(v, str) and v.strip() for v in claims.values())):
            err("identity.realname_claims", 'an object {"name": claim, "id_number": claim} (the provider vouches)')
            claims = None
        return Identity(
            name_claim=claims["name"] if claims else None,
            id_number_claim=claims["id_number"] if claims else None,
            provider="oidc",
            issuer=value.get("issuer"),
            jwks_url=value.get("jwks_url"),
            audience=value.get("audience"),
            roles_claim=value.get("roles_claim", ""),
            city_claim=value.get("city_claim", ""),
            token_use=token_use,
        )
    err("identity.provider", 'must be "oidc" or "cognito"')
    return None


def _parse_limits(value: Any, in_china: bool, err: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        err("limits", "must be an object")
        return dict(_LIMIT_DEFAULTS)
    limits = dict(_LIMIT_DEFAULTS)
    for key, item in value.items():
        if key not in _LIMIT_DEFAULTS:
            err(f"limits.{key}", f"unknown limit (known: {', '.join(sorted(_LIMIT_DEFAULTS))})")
        elif not isinstance(item, int) or isinstance(item, bool) or item <= 0:
            err(f"limits.{key}", "must be a positive integer")
        else:
            limits[key] = item
    days = limits["log_retention_days"]
    if days not in LOG_RETENTION_DAYS:
        err("limits.log_retention_days", f"CloudWatch Logs accepts only {', '.join(map(str, LOG_RETENTION_DAYS))}")
    elif in_china and days < MIN_LOG_RETENTION_DAYS_CN:
        err(
            "limits.log_retention_days",
            f"at least {MIN_LOG_RETENTION_DAYS_CN} in China (等级保护: audit trails >= 6 months)",
        )
    if not 128 <= limits["lambda_memory_mb"] <= 10240:
        err("limits.lambda_memory_mb", "between 128 and 10240")
    if not 1 <= limits["lambda_timeout_s"] <= 900:
        err("limits.lambda_timeout_s", "between 1 and 900")
    return limits


def _parse_observability(value: Any, err: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        err("observability", "must be an object")
        return dict(_OBSERVABILITY_DEFAULTS)
    result = dict(_OBSERVABILITY_DEFAULTS)
    for key, item in value.items():
        if key == "log_level":
            if item not in _LOG_LEVELS:
                err("observability.log_level", f"one of {', '.join(sorted(_LOG_LEVELS))}")
            result[key] = item
        elif key == "xray_sdk":
            if not isinstance(item, bool):
                err("observability.xray_sdk", "true or false")
            result[key] = item
        else:
            err(f"observability.{key}", "unknown key (known: log_level, xray_sdk)")
    return result


def _parse_notifications(value: Any, in_china: bool, err: Any) -> Notifications:
    if value is None:
        if in_china:
            err("notifications", 'required in China (no SNS SMS there): {"channel": "http_sms", "sms_endpoint": ...}')
        return Notifications()
    if not isinstance(value, dict):
        err("notifications", "must be an object")
        return Notifications()
    allowed = {"channel", "sms_endpoint", "sms_secret_name"}
    for key in sorted(set(value) - allowed):
        err(f"notifications.{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
    channel = value.get("channel")
    endpoint, secret = value.get("sms_endpoint"), value.get("sms_secret_name")
    if channel == "sns":
        if in_china:
            err("notifications.channel", "SNS SMS does not exist in the China partition: use http_sms")
        for key in ("sms_endpoint", "sms_secret_name"):
            if key in value:
                err(f"notifications.{key}", "only with the http_sms channel")
        return Notifications("sns")
    if channel == "http_sms":
        if not _https_url(endpoint):
            err("notifications.sms_endpoint", "required: the SMS provider's https:// URL")
        if secret is not None and (not isinstance(secret, str) or not _SECRET_NAME.match(secret)
                                   or secret.startswith("arn:")):
            err("notifications.sms_secret_name", "a Secrets Manager secret name (not an ARN)")
        return Notifications("http_sms", endpoint, secret)
    err("notifications.channel", 'must be "sns" or "http_sms"')
    return Notifications()


def _parse_real_name(value: Any, err: Any) -> RealName:
    if value is None:
        return RealName()
    if not isinstance(value, dict):
        err("real_name", "must be an object")
        return RealName()
    for key in sorted(set(value) - {"endpoint", "face"}):
        err(f"real_name.{key}", "unknown key (allowed: endpoint, face)")
    if not _https_url(value.get("endpoint")):
        err("real_name.endpoint", "required: the real-name check provider's https:// URL")
    if not isinstance(value.get("face", True), bool):
        err("real_name.face", "must be true or false")
    return RealName(value.get("endpoint"), bool(value.get("face", True)))


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
_PHONE = re.compile(r"^\+\d{8,15}$")


def _parse_operations(value: Any, in_china: bool, err: Any) -> Operations:
    if value is None:
        return Operations()
    if not isinstance(value, dict):
        err("operations", "must be an object")
        return Operations()
    allowed = {"alarm_subscriptions", "waf_rate_limit", "waf_max_body_kb"}
    for key in sorted(set(value) - allowed):
        err(f"operations.{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
    subscriptions: list[AlarmSubscription] = []
    raw_subscriptions = value.get("alarm_subscriptions", [])
    if not isinstance(raw_subscriptions, list):
        err("operations.alarm_subscriptions", 'a list of {"protocol": "email"|"https"|"sms", "endpoint": ...}')
        raw_subscriptions = []
    for i, item in enumerate(raw_subscriptions):
        where = f"operations.alarm_subscriptions[{i}]"
        if not isinstance(item, dict) or set(item) != {"protocol", "endpoint"}:
            err(where, 'an object {"protocol": ..., "endpoint": ...}')
            continue
        protocol, endpoint = item["protocol"], item["endpoint"]
        if protocol == "email" and not (isinstance(endpoint, str) and _EMAIL.match(endpoint)):
            err(f"{where}.endpoint", "an email address")
        elif protocol == "https" and not _https_url(endpoint):
            err(f"{where}.endpoint", "an https:// URL (the duty system's webhook)")
        elif protocol == "sms" and in_china:
            err(f"{where}.protocol", "SNS SMS does not exist in the China partition: use email or https")
        elif protocol == "sms" and not (isinstance(endpoint, str) and _PHONE.match(endpoint)):
            err(f"{where}.endpoint", "a phone number in E.164 form (+8613800000000)")
        elif protocol not in ("email", "https", "sms"):
            err(f"{where}.protocol", 'must be "email", "https" or "sms"')
        else:
            subscriptions.append(AlarmSubscription(protocol, endpoint))
    limits = {"waf_rate_limit": (10, 2_000_000_000, Operations.waf_rate_limit),
              "waf_max_body_kb": (1, WAF_MAX_BODY_KB, Operations.waf_max_body_kb)}
    numbers: dict[str, int] = {}
    for key, (low, high, default) in limits.items():
        number = value.get(key, default)
        if not isinstance(number, int) or isinstance(number, bool) or not low <= number <= high:
            err(f"operations.{key}", f"an integer between {low} and {high}")
            number = default
        numbers[key] = number
    return Operations(tuple(subscriptions), **numbers)

"""Typed settings, read once from the environment the stage (Chalice config / CDK) provides."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

#: Logical table names; each is deployed as one DynamoDB table whose real name the stage passes
#: in the environment variable ``TABLE_<LOGICAL>`` (e.g. ``TABLE_UNITS``).
TABLES = (
    "areas", "estates", "units", "unit_history", "facilities", "policies", "idempotency",
    "people", "households", "applications", "events", "person_locks", "consents", "grants", "audit",
    "rule_versions", "groups",
    "publicity_batches", "objections", "waiting_list",
    "selections", "leases", "bills", "billing_runs", "payments",
    "rounds", "registrations",
    "arrears", "reconciliations", "reconciliation_mismatches", "reconciliation_pending", "reviews",
    "renewals",
    "move_outs",
    "review_campaigns",
    "holiday_calendars",
    "tickets", "ticket_counters",
    "stats",
    "audit_seals",
    "imports",
)


@dataclass(frozen=True)
class IdentitySettings:
    """How bearer tokens are verified: the same path for Cognito and a government OIDC issuer."""

    issuer: str
    jwks_url: str
    audience: str
    token_use: str | None = "id"  # Cognito puts token_use in tokens; OIDC issuers do not
    roles_claim: str = "cognito:groups"
    city_claim: str = "custom:city"
    mobile_claim: str = "phone_number"  # the verified mobile the identity provider vouches for
    default_role: str | None = "applicant"  # a real-name citizen with no role claim
    leeway_seconds: int = 30
    jwks_cache_seconds: int = 3600
    # Real-name claims (实名): set where the identity provider vouches for the person's name and ID
    # number (the provincial government platform); unset, registration waits for a RealNameCheck.
    name_claim: str | None = None
    id_number_claim: str | None = None


@dataclass(frozen=True)
class Settings:
    city_code: str
    city_name: str
    region: str
    table_names: dict[str, str]
    identity: IdentitySettings
    endpoint_url: str | None = None  # a local AWS (moto) stands in when set
    max_body_bytes: int = 1_048_576
    nearby_radius_m: int = 2000  # facilities an estate lists as nearby
    document_bucket: str = ""  # private bucket of uploaded documents (SSE-KMS)
    document_kms_key: str | None = None  # the city's key; None: the bucket's default encryption
    max_document_bytes: int = 10 * 1024 * 1024
    document_url_seconds: int = 300  # presigned upload/download links live this long
    notify_queue_url: str | None = None  # status-change notices go through this queue
    billing_queue_url: str | None = None  # billing runs' shard messages (docs/decisions/0027)
    reviews_queue_url: str | None = None  # review campaigns' shard messages (docs/decisions/0032)
    imports_queue_url: str | None = None  # imports' split and chunk messages (docs/decisions/0036)
    max_import_bytes: int = 512 * 1024 * 1024  # an export file (a million rows is ~150 MB of CSV)
    notify_channel: str = "local"  # sns | http_sms | local
    sms_endpoint: str | None = None  # the city's SMS provider (China partition)
    sms_secret_arn: str | None = None  # its credentials in Secrets Manager
    local_outbox: str | None = None  # local stack: where recorded notices are appended (JSON lines)
    verification_state_machine_arn: str | None = None  # the joint verification workflow (issue 4)
    departments_base_url: str | None = None  # overrides every department endpoint (local simulator)
    department_timeout_s: float = 3.0  # one department HTTP call
    realname_base_url: str | None = None  # the real-name check provider (RealNameCheck); local simulator
    realname_secret_arn: str | None = None  # its credentials in Secrets Manager
    realname_face: bool = True  # the provider's face check (活体人脸核身) is required to complete
    realname_timeout_s: float = 5.0
    # Payment providers (docs/decisions/0026): one Secrets Manager secret per provider holds the
    # city's merchant keys (e.g. "jiangmen/payments/wechat"); no secret: the city does not offer it.
    wechat_pay_secret_arn: str | None = None
    alipay_secret_arn: str | None = None
    wechat_pay_base_url: str | None = None  # None: https://api.mch.weixin.qq.com (local simulator overrides)
    alipay_gateway_url: str | None = None  # None: https://openapi.alipay.com/gateway.do
    payment_notify_base_url: str | None = None  # this stack's public API base; notify URLs hang off it
    payment_timeout_s: float = 5.0  # one provider HTTP call
    receipt_service_url: str | None = None  # the city's e-receipt service (非税电子票据); None: built-in voucher
    receipt_secret_arn: str | None = None  # its signing key in Secrets Manager
    cursor_secret: str | None = None  # signs pagination cursors (local stack: made at start)
    cursor_secret_arn: str | None = None  # deployed: the per-stack secret in Secrets Manager

    def table(self, logical: str) -> str:
        return self.table_names[logical]


class _Env:
    """Reads named settings from one environment mapping."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, name: str, default: str | None = None) -> str:
        value = self.env.get(name, default)
        if value is None:
            raise RuntimeError(f"missing setting {name}")
        return value


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from an environment mapping (os.environ by default)."""
    env = dict(os.environ if environ is None else environ)
    get = _Env(env)
    city = get("CITY_CODE", "jiangmen")
    prefix = get("TABLE_PREFIX", f"{city}-")
    tables = {t: env.get(f"TABLE_{t.upper()}", f"{prefix}{t}") for t in TABLES}
    identity = IdentitySettings(
        issuer=get("AUTH_ISSUER", ""),
        jwks_url=get("AUTH_JWKS_URL", ""),
        audience=get("AUTH_AUDIENCE", ""),
        token_use=get("AUTH_TOKEN_USE", "id") or None,
        roles_claim=get("AUTH_ROLES_CLAIM", "cognito:groups"),
        city_claim=get("AUTH_CITY_CLAIM", "custom:city"),
        mobile_claim=get("AUTH_MOBILE_CLAIM", "phone_number"),
        default_role=get("AUTH_DEFAULT_ROLE", "applicant") or None,
        leeway_seconds=int(get("AUTH_LEEWAY_SECONDS", "30")),
        jwks_cache_seconds=int(get("AUTH_JWKS_CACHE_SECONDS", "3600")),
        name_claim=env.get("AUTH_NAME_CLAIM") or None,
        id_number_claim=env.get("AUTH_ID_NUMBER_CLAIM") or None,
    )
    return Settings(
        city_code=city,
        city_name=get("CITY_NAME", "江门市"),
        region=get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "cn-northwest-1")),
        table_names=tables,
        identity=identity,
        endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        max_body_bytes=int(get("MAX_BODY_BYTES", "1048576")),
        document_bucket=get("DOCUMENT_BUCKET", ""),
        document_kms_key=env.get("DOCUMENT_KMS_KEY") or None,
        max_document_bytes=int(get("MAX_DOCUMENT_BYTES", str(10 * 1024 * 1024))),
        document_url_seconds=int(get("DOCUMENT_URL_SECONDS", "300")),
        notify_queue_url=env.get("NOTIFY_QUEUE_URL") or None,
        billing_queue_url=env.get("BILLING_QUEUE_URL") or None,
        reviews_queue_url=env.get("REVIEWS_QUEUE_URL") or None,
        imports_queue_url=env.get("IMPORTS_QUEUE_URL") or None,
        max_import_bytes=int(get("MAX_IMPORT_BYTES", str(512 * 1024 * 1024))),
        notify_channel=get("NOTIFY_CHANNEL", "local"),
        sms_endpoint=env.get("SMS_ENDPOINT") or None,
        sms_secret_arn=env.get("SMS_SECRET_ARN") or None,
        local_outbox=env.get("LOCAL_OUTBOX") or None,
        verification_state_machine_arn=env.get("VERIFICATION_STATE_MACHINE_ARN") or None,
        departments_base_url=env.get("DEPARTMENTS_BASE_URL") or None,
        department_timeout_s=float(get("DEPARTMENT_TIMEOUT_S", "3")),
        realname_base_url=env.get("REALNAME_BASE_URL") or None,
        realname_secret_arn=env.get("REALNAME_SECRET_ARN") or None,
        realname_face=get("REALNAME_FACE", "true").lower() != "false",
        realname_timeout_s=float(get("REALNAME_TIMEOUT_S", "5")),
        wechat_pay_secret_arn=env.get("WECHAT_PAY_SECRET_ARN") or None,
        alipay_secret_arn=env.get("ALIPAY_SECRET_ARN") or None,
        wechat_pay_base_url=env.get("WECHAT_PAY_BASE_URL") or None,
        alipay_gateway_url=env.get("ALIPAY_GATEWAY_URL") or None,
        payment_notify_base_url=env.get("PAYMENT_NOTIFY_BASE_URL") or None,
        payment_timeout_s=float(get("PAYMENT_TIMEOUT_S", "5")),
        receipt_service_url=env.get("RECEIPT_SERVICE_URL") or None,
        receipt_secret_arn=env.get("RECEIPT_SECRET_ARN") or None,
        cursor_secret=env.get("CURSOR_SECRET") or None,
        cursor_secret_arn=env.get("CURSOR_SECRET_ARN") or None,
    )


@cache
def settings() -> Settings:
    """The process's settings, read on first use (never at import: tests swap the environment)."""
    return load_settings()

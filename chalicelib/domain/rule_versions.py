"""Eligibility rules versions admins publish (准入条件修订), merged with the versions the city ships.

The shipped versions live in ``chalicelib/cities/<city>/eligibility.json``; an admin publishes a new
one with a future effective date through the API. A published version is validated by the same
parser as the file (with the file's facts and rule sets), stored, and joins the city's rule book
when its date arrives. An application keeps the id of the version in force when it was submitted.
The merged book is cached per process for ``CACHE_SECONDS``, so a self-assessment costs no
DynamoDB request on most calls.
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import eligibility
from chalicelib.domain.common import CHINA_TZ, now, now_iso
from chalicelib.domain.eligibility import InvalidRules, RuleBook, RuleVersion
from chalicelib.identity import Actor

CACHE_SECONDS = 60.0
#: A new version's date must be at least this far ahead: several cache lifetimes, so that every
#: process judges the same moment by the same version.
MIN_NOTICE_SECONDS = 600
MAX_DOCUMENT_CHARS = 100_000
_cache: dict[str, tuple[float, RuleBook, frozenset[str]]] = {}


@cache
def _shipped_data(city: str) -> dict[str, Any]:
    from chalicelib.city_files import city_file  # the shipped file, validated once by its model

    return dict(city_file(city, "eligibility.json").model_dump())


def parse_version(city: str, document: dict[str, Any]) -> RuleVersion:
    """One version checked against the city's facts and rule sets (any problem: InvalidRules)."""
    data = {**_shipped_data(city), "versions": [document]}
    try:
        return eligibility.parse(data).versions[0]
    except InvalidRules:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidRules(f"malformed version: {type(exc).__name__} {exc}") from None


def book(city: str) -> tuple[RuleBook, frozenset[str]]:
    """The city's rule book with every published version merged in; and which ids were published."""
    hit = _cache.get(city)
    if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1], hit[2]
    shipped = eligibility.rule_book(city)
    versions = {v.version: v for v in shipped.versions}
    published = set()
    for stored in deps().rule_versions.list(city):
        try:
            version = parse_version(city, json.loads(stored["document"]))
        except (InvalidRules, ValueError) as exc:  # a bad stored version never takes the app down
            from chalicelib.observability import logger

            logger.error("ignoring an invalid published rules version",
                         extra={"version": stored.get("version"), "error": str(exc)[:300]})
            continue
        if version.version not in versions:
            versions[version.version] = version
            published.add(version.version)
    merged = replace(shipped, versions=tuple(sorted(versions.values(), key=lambda v: v.effective_from)))
    _cache[city] = (time.monotonic(), merged, frozenset(published))
    return merged, frozenset(published)


def clear_cache() -> None:
    _cache.clear()


def rules_in_force(city: str, at: datetime | None = None) -> tuple[RuleBook, RuleVersion]:
    merged, _ = book(city)
    return merged, merged.in_force(at or now())


def rules_version(city: str, version_id: str) -> tuple[RuleBook, RuleVersion]:
    """A specific version (an application is judged by the one it was submitted under)."""
    merged, _ = book(city)
    for version in merged.versions:
        if version.version == version_id:
            return merged, version
    raise errors.NotFound(f"rules version {version_id}", field="version")


def publish(actor: Actor, body: dict[str, Any]) -> RuleVersion:
    """Validate and store a new version; it takes effect at its (future) effective date."""
    city = deps().settings.city_code
    if len(json.dumps(body, ensure_ascii=False)) > MAX_DOCUMENT_CHARS:
        raise errors.BodyTooLarge(f"a rules version is at most {MAX_DOCUMENT_CHARS} characters")
    for name in ("version", "effective_from", "rules"):
        if name not in body:
            raise errors.InvalidInput("required", field=name,
                                      message=f"{ {'version': '版本号', 'effective_from': '生效时间'}.get(name, '准入规则') }为必填项")
    if not isinstance(body["version"], str) or not body["version"].strip() or len(body["version"]) > 32:
        raise errors.InvalidInput("1-32 characters", field="version", message="版本号应为 1-32 个字符")
    try:
        effective = datetime.fromisoformat(str(body["effective_from"]))
    except ValueError:
        raise errors.InvalidInput("ISO 8601 with an offset, e.g. 2027-01-01T00:00:00+08:00",
                                  field="effective_from",
                                  message="生效时间应为带时区的 ISO 8601 时间，如 2027-01-01T00:00:00+08:00") from None
    if effective.tzinfo is None:
        raise errors.InvalidInput("needs an offset (+08:00)", field="effective_from", message="生效时间应带时区，如 +08:00")
    if effective <= now() + timedelta(seconds=MIN_NOTICE_SECONDS):
        raise errors.InvalidInput(
            f"at least {MIN_NOTICE_SECONDS // 60} minutes ahead: a version in force is never changed, and every "
            "process must have seen a new one before it takes effect", field="effective_from",
            message=f"生效时间至少应在 {MIN_NOTICE_SECONDS // 60} 分钟之后（施行中的版本不能修改）")
    try:
        version = parse_version(city, body)
    except InvalidRules as exc:
        raise errors.InvalidInput(str(exc), field="rules", message="准入规则不正确（原因见 detail）") from None
    merged, _ = book(city)
    if any(v.version == version.version for v in merged.versions):
        raise errors.AlreadyExists(f"version {version.version}", field="version")
    if any(v.effective_from == version.effective_from for v in merged.versions):
        raise errors.AlreadyExists("another version takes effect at that moment", field="effective_from")
    deps().rule_versions.create(city, version.version, json.dumps(body, ensure_ascii=False),
                                version.effective_from.astimezone(CHINA_TZ).isoformat(), now_iso(),
                                actor.subject)
    clear_cache()
    return version


def overview(city: str) -> list[dict[str, Any]]:
    merged, published = book(city)
    at = now()
    in_force = merged.in_force(at).version
    stored = {s["version"]: s for s in deps().rule_versions.list(city)} if published else {}
    return [{
        "version": v.version, "effective_from": v.effective_from.isoformat(), "policy": v.policy,
        "params": v.params, "rules": [r.id for r in v.rules],
        "source": "published" if v.version in published else "shipped",
        "state": "in_force" if v.version == in_force else ("scheduled" if v.effective_from > at else "superseded"),
        "published_at": stored.get(v.version, {}).get("published_at"),
        "published_by": stored.get(v.version, {}).get("published_by"),
    } for v in merged.versions]

"""Personal data over time (PIPL, docs/decisions/0040): what the bureau holds about me (``my_data``),
withdrawing a consent to the departments' queries, closing an account (what the law keeps is kept, and
the answer says so with the period). The retention job is in ``retention.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

from chalicelib import errors
from chalicelib.deps import deps
from chalicelib.domain import common
from chalicelib.domain import households as hh
from chalicelib.domain.application_status import ACTIVE, CONSENTS, EDITABLE, ConsentStatus, S
from chalicelib.domain.application_types import Access, Application, Event
from chalicelib.identity import Actor

if TYPE_CHECKING:
    from chalicelib.bodies import VersionIn

#: One page of each kind read at a time while gathering a citizen's data (bounded by the city's
#: ``export_max_items``; what is cut is named in ``truncated``).
PAGE = 100
#: Audit records read per target (an application, a lease, a payment, ...): who read it and why.
AUDIT_PER_TARGET = 100


def config() -> Any:
    from chalicelib.city_files import city_file

    return city_file(deps().settings.city_code, "privacy.json")


# --- what you hold about me -----------------------------------------------------------------------------
@dataclass(frozen=True)
class MyData:
    person: hh.Person
    household: hh.Household | None
    applications: list[Application]
    leases: list[Any]
    payments: list[Any]
    consents: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    truncated: list[str] = field(default_factory=list)
    generated_at: str = ""


def _pages(fetch: Callable[[str | None], tuple[list[Any], str | None]], bound: int) -> tuple[list[Any], bool]:
    """Every item, page by page, up to ``bound`` (True when more were left)."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        page, cursor = fetch(cursor)
        items.extend(page)
        if not cursor or len(items) >= bound:
            return items[:bound], bool(cursor) or len(items) > bound


def my_data(actor: Actor) -> MyData:
    """Person, household, applications (owned), leases, payments, consents, and the audit records about
    them: who read my data, when and why. Each kind at most the city's ``export_max_items``."""
    person = hh.me(actor)
    bound = int(config().export_max_items)
    truncated = []
    household = deps().households.get_household(person.household_id) if person.household_id else None
    apps: list[Application] = []
    consents: list[dict[str, Any]] = []
    if person.person_key:
        def page(cursor: str | None) -> tuple[list[Any], str | None]:
            p = deps().applications.by_owner(person.person_key, cursor, PAGE)  # type: ignore[arg-type]
            return p.items, p.next_cursor

        summaries, cut = _pages(page, bound)
        apps = [deps().applications.get(a.application_id) for a in summaries]
        if cut:
            truncated.append("applications")
        consents = deps().applications.consents_of(person.person_key)[:bound]
    leases = deps().leases.of_owner(actor.subject)[:bound]
    payments, cut = _pages(lambda c: deps().payments.of_owner(actor.subject, PAGE, c), bound)
    if cut:
        truncated.append("payments")
    targets = [f"application#{a.application_id}" for a in apps] + [f"lease#{x.lease_id}" for x in leases]
    targets += [f"payment#{p.payment_id}" for p in payments]
    targets += [f"review#{r.review_id}" for r in deps().reviews.of_owner(actor.subject)]
    if person.person_key:
        targets.append(f"person#{person.person_key[1:17]}")
    audit: list[dict[str, Any]] = []
    for target in targets:
        audit.extend(deps().audit.of_target(target, limit=AUDIT_PER_TARGET))
    audit.sort(key=lambda r: str(r["at"]), reverse=True)
    if len(audit) > bound:
        audit = audit[:bound]
        truncated.append("audit")
    return MyData(person, household, apps, leases, payments, consents, audit, truncated, common.now_iso())


def kept() -> list[dict[str, str]]:
    """What the bureau keeps (and for how long) whatever the citizen does: said in every answer."""
    cfg = config()
    years = int(cfg.financial_retention_years)
    return [
        {"kind": "leases", "name": "租赁合同", "period": f"合同终止后保存 {years} 年",
         "basis": "合同及财务档案，依法保存"},
        {"kind": "payments", "name": "账单、缴费记录与缴费凭证", "period": f"保存 {years} 年",
         "basis": "会计档案，依《会计档案管理办法》保存"},
        {"kind": "audit", "name": "个人信息查阅审计记录", "period": f"保存 {int(cfg.audit_retention_days)} 天",
         "basis": "网络安全等级保护要求审计记录至少保存 6 个月"},
        {"kind": "applications", "name": "未通过、已撤回或过期的申请及其材料",
         "period": f"未通过或撤回后保存 {int(cfg.application_retention_days)} 天，草稿 "
                   f"{int(cfg.draft_expiry_days)} 天未修改视为过期，期满删除",
         "basis": "仅在保存期限内保留，期满删除并记录删除"},
    ]


# --- withdrawing a consent ------------------------------------------------------------------------------
#: What a withdrawal means for the application, by where it stands (said to the citizen).
def effect_of(status: S) -> str:
    if status in EDITABLE:
        return "已撤回个人信息查询授权。在您重新授权之前，该申请不能提交。"
    if status in (S.SUBMITTED, S.VERIFYING, S.UNDER_REVIEW):
        return ("已撤回个人信息查询授权。相关部门将不再查询您的信息，该申请无法完成联合审查（核查），"
                "因此不能审核通过；如需继续办理，请重新授权，或撤回该申请。")
    return "已撤回个人信息查询授权。该申请的核查已经完成，今后不再向相关部门查询您的信息；已形成的核查结果依法保存。"


def withdraw_consent(actor: Actor, application_id: str, body: VersionIn) -> tuple[Application, str, str]:
    """A member takes back their consent (their own login only). The application, the member and
    what it means for the application (zh-CN)."""
    from chalicelib.domain.access import mutate

    person = hh.me(actor)
    app = deps().applications.get(application_id)
    member = next((m for m in app.members if m["person_key"] == person.person_key), None)
    if member is None or member["member_id"] not in app.consents:
        raise errors.ConsentNotFound(application_id)  # not a member: nothing to withdraw here
    member_id = member["member_id"]

    def change(current: Application, _: Access) -> tuple[Application, list[Event]]:
        common.expect_version(current.version, body.version)
        consent = current.consents[member_id]
        CONSENTS.move(ConsentStatus(consent.get("status") or CONSENTS.initial), ConsentStatus.WITHDRAWN)
        withdrawn = {**consent, "status": ConsentStatus.WITHDRAWN.value, "withdrawn_at": common.now_iso()}
        return replace(current, consents={**current.consents, member_id: withdrawn}, version=current.version + 1), [
            Event("consent_withdrawn", actor.subject, "member", note=f"{consent.get('name') or ''} 撤回个人信息查询授权",
                  changes={"member_id": member_id})]

    updated = mutate(application_id, None, change, consent_of=member_id)
    return updated, member_id, effect_of(updated.status)


def require_consents(app: Application) -> None:
    """The verification refuses to (re)start while a member's consent is withdrawn."""
    if any(c.get("status") == ConsentStatus.WITHDRAWN for c in app.consents.values()):
        raise errors.ConsentWithdrawn(field="consents")


# --- closing an account ------------------------------------------------------------------------------
def close_account(actor: Actor, body: VersionIn) -> tuple[hh.Person, list[dict[str, str]]]:
    """The login is closed for good: every token of it is refused from now on (403 ACCOUNT_CLOSED).
    Refused while an application is in progress or a lease not ended (withdraw or move out first).
    Live grants the citizen gave are revoked. What the law requires is kept (``kept``)."""
    from chalicelib.domain.leases import ENDED

    person = hh.me(actor)
    common.expect_version(person.version, body.version)
    if person.person_key:
        page = deps().applications.by_owner(person.person_key, None, PAGE)
        if any(a.status in ACTIVE and a.status != S.HOUSED for a in page.items):
            raise errors.AccountInUse("an application in progress", field="applications")
    if any(lease.status != ENDED for lease in deps().leases.of_owner(actor.subject)):
        raise errors.AccountInUse("a lease not ended", field="leases")
    at = common.now_iso()
    deps().households.close(person, at)
    for grant in deps().grants.by_grantor(actor.subject):
        if not grant.get("revoked_at"):
            deps().grants.revoke(actor.subject, grant["grant_id"], at)
    return replace(person, closed_at=at, updated_at=at, version=person.version + 1), kept()

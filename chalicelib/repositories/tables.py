"""DynamoDB tables as PynamoDB models: the one definition the app, the local stack and infra/ use.

Each city runs its own stack, so no key carries the city; ``city`` appears only as the constant
partition of the few small, city-wide indexes (areas, estates on the map). Key choices are
explained in docs/decisions/0003-table-keys.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.attributes import BooleanAttribute  # holiday calendars' complete flag

from chalicelib.config import Settings


class _Table(Model):
    """Base: table name, region and endpoint are bound from settings before first use."""

    logical_name = ""

    class Meta:
        abstract = True
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"


def _gsi(name: str, hash_attr: str, range_attr: str, projection: Any = None) -> type[GlobalSecondaryIndex]:
    meta = type("Meta", (), {"index_name": name, "projection": projection or AllProjection()})
    attrs = {
        "Meta": meta,
        hash_attr: UnicodeAttribute(hash_key=True),
        range_attr: UnicodeAttribute(range_key=True),
    }
    return type(f"Index_{name}", (GlobalSecondaryIndex,), attrs)


# --- areas (片区) and their streets (街道): one small partition per city --------------------------
class AreaRecord(_Table):
    logical_name = "areas"
    city = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)  # "A#{area}" or "S#{street}"
    kind = UnicodeAttribute()  # area | street
    area_id = UnicodeAttribute()
    street_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute()
    district = UnicodeAttribute(null=True)  # 行政区, e.g. 蓬江区
    units_total = NumberAttribute(default=0)
    units_vacant = NumberAttribute(default=0)


# --- estates (项目/小区) ---------------------------------------------------------------------
class EstateRecord(_Table):
    logical_name = "estates"
    estate_id = UnicodeAttribute(hash_key=True)
    city = UnicodeAttribute()
    name = UnicodeAttribute()
    area_id = UnicodeAttribute()
    street_id = UnicodeAttribute()
    address = UnicodeAttribute()
    lat = NumberAttribute()
    lng = NumberAttribute()
    description = UnicodeAttribute(null=True)
    manager = MapAttribute(null=True)  # property manager: company, contact, phone, office
    buildings = ListAttribute(of=MapAttribute, default=list)
    unit_mix = MapAttribute(default=dict)  # layout -> {"total": n, "vacant": n}
    units_total = NumberAttribute(default=0)
    units_vacant = NumberAttribute(default=0)
    nearby = ListAttribute(of=MapAttribute, default=list)  # facilities within reach, nearest first
    photos = ListAttribute(default=list)
    list_key = UnicodeAttribute()  # "{area}#{street}#{estate}"
    lng_key = UnicodeAttribute()  # sortable longitude, for the map's bounding-box query
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    # Checked by hand on descriptive edits only: unit writes move the counters above concurrently
    # and must not make an admin's edit stale (PynamoDB's VersionAttribute bumps on every update).
    version = NumberAttribute(default=0)
    # imported from the national system (docs/decisions/0036): the hash of the row it came from
    import_hash = UnicodeAttribute(null=True)

    by_city = _gsi("by_city", "city", "list_key")()
    by_area = _gsi("by_area", "area_id", "list_key")()
    by_street = _gsi("by_street", "street_id", "list_key")()
    by_lng = _gsi(
        "by_lng",
        "city",
        "lng_key",
        IncludeProjection(["name", "lat", "lng", "area_id", "street_id", "units_total", "units_vacant", "address"]),
    )()


# --- units (房源) ------------------------------------------------------------------------------
class UnitRecord(_Table):
    """A unit. Every search index sorts by ``search_key`` = "{status}#{rent:09d}#{unit_id}", so a
    status (and rent ceiling) narrows the key range and results come cheapest first."""

    logical_name = "units"
    unit_id = UnicodeAttribute(hash_key=True)
    city = UnicodeAttribute()
    estate_id = UnicodeAttribute()
    building_id = UnicodeAttribute()
    area_id = UnicodeAttribute()
    street_id = UnicodeAttribute()
    number = UnicodeAttribute()  # 房号, e.g. 1203
    layout = UnicodeAttribute()
    floor_area = NumberAttribute()  # m², 2 decimals
    floor = NumberAttribute()
    rent = NumberAttribute()  # fen per month
    status = UnicodeAttribute()
    orientation = UnicodeAttribute(null=True)
    photos = ListAttribute(default=list)
    area_layout = UnicodeAttribute()  # "{area}#{layout}"
    search_key = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()
    import_hash = UnicodeAttribute(null=True)  # imported (docs/decisions/0036): the hash of its row

    by_area_layout = _gsi("by_area_layout", "area_layout", "search_key")()
    by_area = _gsi("by_area", "area_id", "search_key")()
    by_layout = _gsi("by_layout", "layout", "search_key")()
    by_estate = _gsi("by_estate", "estate_id", "search_key")()
    by_city = _gsi("by_city", "city", "search_key")()


class UnitHistoryRecord(_Table):
    """Status changes of a unit, oldest first."""

    logical_name = "unit_history"
    unit_id = UnicodeAttribute(hash_key=True)
    at = UnicodeAttribute(range_key=True)  # "{iso time}#{random}"
    from_status = UnicodeAttribute(null=True)
    to_status = UnicodeAttribute()
    actor = UnicodeAttribute()
    actor_role = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)


# --- facilities (配套) -------------------------------------------------------------------------
class FacilityRecord(_Table):
    """Bus/metro stops, schools, shops, hospitals, parks. Indexed by 0.1° latitude band and
    longitude, so a search radius of up to 5 km is at most two key-range queries."""

    logical_name = "facilities"
    facility_id = UnicodeAttribute(hash_key=True)
    city = UnicodeAttribute()
    type = UnicodeAttribute()
    name = UnicodeAttribute()
    lat = NumberAttribute()
    lng = NumberAttribute()
    address = UnicodeAttribute(null=True)
    band = UnicodeAttribute()
    type_band = UnicodeAttribute()
    lng_key = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    by_band = _gsi("by_band", "band", "lng_key")()
    by_type_band = _gsi("by_type_band", "type_band", "lng_key")()


# --- policy documents (政策文件) -----------------------------------------------------------------
class PolicyRecord(_Table):
    logical_name = "policies"
    policy_id = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute()
    summary = UnicodeAttribute(null=True)
    body = UnicodeAttribute()
    category = UnicodeAttribute()
    issuer = UnicodeAttribute(null=True)  # 发文机关
    doc_number = UnicodeAttribute(null=True)  # 文号
    attachments = ListAttribute(of=MapAttribute, default=list)
    status = UnicodeAttribute()  # draft | published | withdrawn
    published_at = UnicodeAttribute(null=True)
    sort_key = UnicodeAttribute()  # "{published_at or created_at}#{policy_id}"
    category_status = UnicodeAttribute()  # "{category}#{status}"
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    by_status = _gsi("by_status", "status", "sort_key")()
    by_category = _gsi("by_category", "category_status", "sort_key")()


# --- idempotency (Powertools' DynamoDB persistence layer owns the items) -----------------------
class IdempotencyRecord(_Table):
    """Declared here only so infra/ and the local stack create the table Powertools writes to."""

    logical_name = "idempotency"
    id = UnicodeAttribute(hash_key=True)
    expiration = TTLAttribute(null=True)


# --- people (registered citizens and employer accounts, by login subject) ---------------------
class PersonRecord(_Table):
    """Who a login is: real name and ID number (registration), contact mobile, their household."""

    logical_name = "people"
    subject = UnicodeAttribute(hash_key=True)  # the identity provider's stable subject
    kind = UnicodeAttribute()  # citizen | employer
    name = UnicodeAttribute()
    id_number = UnicodeAttribute(null=True)  # citizens: 18-digit resident ID
    person_key = UnicodeAttribute(null=True)  # keyed hash of the ID number (never the number itself)
    mobile = UnicodeAttribute(null=True)
    mobile_key = UnicodeAttribute(null=True)  # keyed hash of the mobile: how a grantor finds a delegate
    credit_code = UnicodeAttribute(null=True)  # employers: 统一社会信用代码
    household_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)
    # real-name (实名, docs/decisions/0016): pending | verified | disputed; None = registered before
    # the check existed (legacy). Until verified, person_key is unset (nothing bound to the ID
    # number) and claim_key holds the claimed ID number's key.
    real_name = UnicodeAttribute(null=True)
    claim_key = UnicodeAttribute(null=True)
    check_id = UnicodeAttribute(null=True)  # the provider's pending check
    verified_by = UnicodeAttribute(null=True)  # token | check: what vouched for the name and ID number
    verified_at = UnicodeAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)  # the citizen closed the account (docs/decisions/0040): refused from then on
    # An item "id#{person_key}" (kind "id_claim", name = the holder's subject) is the one binding of
    # an ID number to a login: written with a does-not-exist condition, so two claims never both bind.
    # An item "conflict#{id}" (kind "identity_conflict") is a case for staff: two verified logins claim
    # one ID number (holder, claimant, the evidence); open ones are listed through by_conflict.
    conflict_status = UnicodeAttribute(null=True)  # open | resolved (conflict items only)
    opened_at = UnicodeAttribute(null=True)
    holder = UnicodeAttribute(null=True)
    claimant = UnicodeAttribute(null=True)
    evidence = MapAttribute(null=True)
    resolution = MapAttribute(null=True)  # {"winner", "reason", "by", "at"}

    by_mobile = _gsi("by_mobile", "mobile_key", "subject", IncludeProjection(["name", "kind"]))()
    by_person = _gsi("by_person", "person_key", "subject", IncludeProjection(["name", "kind"]))()
    by_conflict = _gsi("by_conflict", "conflict_status", "opened_at")()


# --- households (家庭) ---------------------------------------------------------------------------
class HouseholdRecord(_Table):
    logical_name = "households"
    household_id = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute(null=True)  # the main applicant's subject (None until claimed: 代办)
    main_key = UnicodeAttribute()  # person_key of the main applicant
    members = ListAttribute(of=MapAttribute, default=list)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)
    # imported (docs/decisions/0036): the hash of its rows, and the leases the tenant claims with it
    import_hash = UnicodeAttribute(null=True)
    leases = ListAttribute(null=True)

    by_main = _gsi("by_main", "main_key", "household_id")()


# --- applications (申请) -------------------------------------------------------------------------
class ApplicationRecord(_Table):
    """One application with everything a decision needs on the item itself (household snapshot,
    documents, consents), so reading or submitting it is one GetItem."""

    logical_name = "applications"
    application_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()  # individual | graduate | group
    status = UnicodeAttribute()
    owner_key = UnicodeAttribute()  # person_key of the main applicant: "my applications"
    owner = UnicodeAttribute(null=True)  # their subject, once known
    household_id = UnicodeAttribute(null=True)
    household = MapAttribute(default=dict)  # snapshot: {"members": [...]}
    contact_mobile = UnicodeAttribute(null=True)
    documents = MapAttribute(default=dict)  # document_id -> {type, status, reason, ...}
    consents = MapAttribute(default=dict)  # member_id -> {method, at, text_version, ...}
    supplement = MapAttribute(null=True)  # the open 补正 request
    assisted = MapAttribute(null=True)  # 代办: staff, at, confirmation
    group_id = UnicodeAttribute(null=True)  # 团租: the employer's group application
    employer = MapAttribute(null=True)  # {subject, credit_code, name}
    data = MapAttribute(default=dict)  # declared facts and free fields of the kind
    rules_version = UnicodeAttribute(null=True)
    street_id = UnicodeAttribute(null=True)  # 街道 of residence: what a street office filters by
    verification = MapAttribute(null=True)  # the joint verification run: departments, recommendation
    review_key = UnicodeAttribute(null=True)  # while under review with a recommendation: "review" (sparse index)
    review_sort = UnicodeAttribute(null=True)  # "{rank}#{submitted_at}#{application_id}": passes first, oldest first
    submitted_at = UnicodeAttribute(null=True)
    submitted_from = NumberAttribute(null=True)  # the version a submit started from (double taps)
    sort_key = UnicodeAttribute()  # "{created_at}#{application_id}"
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)  # what the client sends back (optimistic locking)
    rev = NumberAttribute(default=0)  # every write bumps it, the system's too: the write condition
    approved_at = UnicodeAttribute(null=True)  # staff's approval (statistics: days from submit to approval)

    by_owner = _gsi("by_owner", "owner_key", "sort_key")()
    by_group = _gsi("by_group", "group_id", "sort_key")()
    by_status = _gsi("by_status", "status", "sort_key")()
    by_review = _gsi("by_review", "review_key", "review_sort")()


class EventRecord(_Table):
    """What happened, oldest first, per stream ("app#{id}", "household#{id}", "grant#{id}")."""

    logical_name = "events"
    stream = UnicodeAttribute(hash_key=True)
    at = UnicodeAttribute(range_key=True)  # "{iso time}#{random}"
    type = UnicodeAttribute()
    actor = UnicodeAttribute()
    actor_role = UnicodeAttribute()
    from_status = UnicodeAttribute(null=True)
    to_status = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    changes = MapAttribute(null=True)
    grant_id = UnicodeAttribute(null=True)  # set when a delegate acted: the grantor sees it

    by_grant = _gsi("by_grant", "grant_id", "at")()


class PersonLockRecord(_Table):
    """One active application per person: a member's person_key points at the application."""

    logical_name = "person_locks"
    person_key = UnicodeAttribute(hash_key=True)
    application_id = UnicodeAttribute()
    since = UnicodeAttribute()
    # Live-locks share this table (issue 9 §4): "draft#{household}#{kind}" -> the one live draft,
    # "grant#{grantor}#{delegate}" -> the one live grant (application_id holds its id) until expires_at;
    # "regno#{round}#{registration_no}" -> the one registration holding a lottery number (docs/decisions/0014).
    expires_at = UnicodeAttribute(null=True)


class ConsentRecord(_Table):
    """个人信息查询授权 per adult member and application: who, when, how, which text."""

    logical_name = "consents"
    person_key = UnicodeAttribute(hash_key=True)
    application_id = UnicodeAttribute(range_key=True)
    member_id = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | given
    method = UnicodeAttribute(null=True)  # app | paper
    text_version = UnicodeAttribute(null=True)
    given_at = UnicodeAttribute(null=True)
    given_by = UnicodeAttribute(null=True)  # subject of the consenting person, or the staff member
    document_id = UnicodeAttribute(null=True)  # the signed form (paper)
    masked_name = UnicodeAttribute(null=True)
    requested_at = UnicodeAttribute()


class GrantRecord(_Table):
    """授权委托: a grantor lets a delegate view or act until a date."""

    logical_name = "grants"
    grantor = UnicodeAttribute(hash_key=True)
    grant_id = UnicodeAttribute(range_key=True)
    delegate = UnicodeAttribute()
    delegate_name = UnicodeAttribute(null=True)  # masked
    grantor_name = UnicodeAttribute(null=True)  # masked
    scopes = ListAttribute(default=list)  # view | act
    expires_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()

    by_delegate = _gsi("by_delegate", "delegate", "grant_id")()


class AuditRecord(_Table):
    """Every staff read of personal data (等保 2.0): append-only, the app's role cannot rewrite it."""

    logical_name = "audit"
    target = UnicodeAttribute(hash_key=True)  # "application#{id}", "document#{id}", ...
    at = UnicodeAttribute(range_key=True)  # "{iso time}#{random}"
    actor = UnicodeAttribute()
    actor_role = UnicodeAttribute()
    action = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    day = UnicodeAttribute()  # YYYY-MM-DD: what an auditor browses by
    digest = UnicodeAttribute()  # sha256 of the record's content: alteration shows
    # DynamoDB deletes the record after the city's audit_retention_days (privacy.json, >= 180 days):
    expires_at = TTLAttribute(null=True)  # not in the digest (a record from before it existed verifies)

    by_actor = _gsi("by_actor", "actor", "at")()
    by_day = _gsi("by_day", "day", "at")()


class RuleVersionRecord(_Table):
    """Eligibility rules versions an admin published (the shipped versions live in the code)."""

    logical_name = "rule_versions"
    city = UnicodeAttribute(hash_key=True)
    version = UnicodeAttribute(range_key=True)
    document = UnicodeAttribute()  # the version as JSON, validated before it is stored
    effective_from = UnicodeAttribute()
    published_at = UnicodeAttribute()
    published_by = UnicodeAttribute()


# --- group rental (团租): an employer's group; each employee's application carries its group_id ----
class GroupRecord(_Table):
    """A group application of an employer (单位); the employees' applications point at it."""

    logical_name = "groups"
    group_id = UnicodeAttribute(hash_key=True)
    employer_subject = UnicodeAttribute()  # the employer account's login subject
    credit_code = UnicodeAttribute()  # 统一社会信用代码, as registered when the group was made
    employer_name = UnicodeAttribute()
    name = UnicodeAttribute()
    note = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)

    by_employer = _gsi("by_employer", "employer_subject", "created_at")()


MODELS: tuple[type[_Table], ...] = (
    AreaRecord,
    EstateRecord,
    UnitRecord,
    UnitHistoryRecord,
    FacilityRecord,
    PolicyRecord,
    IdempotencyRecord,
    PersonRecord,
    HouseholdRecord,
    ApplicationRecord,
    EventRecord,
    PersonLockRecord,
    ConsentRecord,
    GrantRecord,
    AuditRecord,
    RuleVersionRecord,
    GroupRecord,
)

_bound_to: tuple[Any, ...] | None = None


def bind(settings: Settings) -> None:
    """Point every model at this stack's tables (idempotent; rebinding resets connections)."""
    global _bound_to
    target = (settings.region, settings.endpoint_url, tuple(sorted(settings.table_names.items())))
    if _bound_to == target:
        return
    for model in MODELS:
        # Each model gets a Meta of its own (subclasses would otherwise share the base's).
        model.Meta = type("Meta", (model.Meta,), {  # type: ignore[misc]
            "table_name": settings.table(model.logical_name),
            "region": settings.region,
            "host": settings.endpoint_url,
        })
        model._connection = None
        for index in model._indexes.values():
            index._connection = None  # type: ignore[attr-defined]
    _bound_to = target


@dataclass(frozen=True)
class TableSpec:
    """A table as infra/ and the local stack create it, derived from the model."""

    logical_name: str
    hash_key: tuple[str, str]
    range_key: tuple[str, str] | None
    indexes: tuple[dict[str, Any], ...]  # {name, hash: (attr, type), range: (attr, type)|None, projection}
    ttl_attribute: str | None = None  # items expire by this epoch-seconds attribute
    stream: str | None = None  # the stream's view type where statistics count the table's changes


def table_specs() -> list[TableSpec]:
    specs = []
    for model in MODELS:
        schema = model._get_schema()
        types = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}

        def keys(key_schema: list[dict[str, str]]) -> tuple[tuple[str, str], tuple[str, str] | None]:
            h = next(k["AttributeName"] for k in key_schema if k["KeyType"] == "HASH")
            r = next((k["AttributeName"] for k in key_schema if k["KeyType"] == "RANGE"), None)
            return (h, types[h]), ((r, types[r]) if r else None)

        h, r = keys(schema["key_schema"])
        indexes = []
        for gsi in schema.get("global_secondary_indexes", []):
            ih, ir = keys(gsi["key_schema"])
            proj = gsi["projection"]
            indexes.append(
                {
                    "name": gsi["index_name"],
                    "hash": ih,
                    "range": ir,
                    "projection": proj["ProjectionType"],
                    "non_key_attributes": tuple(proj.get("NonKeyAttributes", ())),
                }
            )
        ttl = model._ttl_attribute()
        specs.append(TableSpec(model.logical_name, h, r, tuple(indexes), ttl.attr_name if ttl else None,
                               _stream_view(model.logical_name)))
    return specs


# --- publicity (公示), objections and the waiting list (轮候): docs/decisions/0012 -------------------
class PublicityRecord(_Table):
    """A publicity batch and its entries in one item collection: ``item`` = "batch" for the batch
    itself, "e#{entry_id}" for each application listed (masked data only). Reading a batch with its
    entries is one Query; only the batch item carries ``status`` (the sparse ``by_status`` index)."""

    logical_name = "publicity_batches"
    batch_id = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True)  # "batch" | "e#{entry_id}"
    # the batch item
    status = UnicodeAttribute(null=True)  # open | closed
    list_sort = UnicodeAttribute(null=True)  # "{starts_at}#{batch_id}"
    title = UnicodeAttribute(null=True)
    starts_at = UnicodeAttribute(null=True)
    ends_at = UnicodeAttribute(null=True)
    days = NumberAttribute(null=True)
    demo = NumberAttribute(null=True)  # 1: the period was shortened in demo mode
    size = NumberAttribute(null=True)
    created_by = UnicodeAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)
    # an entry
    entry_id = UnicodeAttribute(null=True)
    application_id = UnicodeAttribute(null=True)
    entry_status = UnicodeAttribute(null=True)  # in_publicity | removed | qualified | dropped
    masked_name = UnicodeAttribute(null=True)
    masked_id = UnicodeAttribute(null=True)
    household_size = NumberAttribute(null=True)
    kind = UnicodeAttribute(null=True)
    street_id = UnicodeAttribute(null=True)
    street_name = UnicodeAttribute(null=True)
    objections_open = NumberAttribute(null=True)
    objections_upheld = NumberAttribute(null=True)
    objections_total = NumberAttribute(null=True)
    settled_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)

    by_status = _gsi("by_status", "status", "list_sort")()


class ObjectionRecord(_Table):
    """An objection (异议) to an entry of a publicity batch, and how staff resolved it."""

    logical_name = "objections"
    objection_id = UnicodeAttribute(hash_key=True)
    batch_id = UnicodeAttribute()
    entry_id = UnicodeAttribute()
    application_id = UnicodeAttribute()
    filer = UnicodeAttribute()  # the filer's login subject (told the result)
    filer_role = UnicodeAttribute()
    reason = UnicodeAttribute()
    contact = UnicodeAttribute(null=True)
    filer_mobile = UnicodeAttribute(null=True)  # the verified mobile of the login: where the result goes
    status = UnicodeAttribute()  # open | upheld | dismissed
    decision_reason = UnicodeAttribute(null=True)
    resolved_by = UnicodeAttribute(null=True)
    resolved_at = UnicodeAttribute(null=True)
    list_sort = UnicodeAttribute()  # "{created_at}#{objection_id}"
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)

    by_status = _gsi("by_status", "status", "list_sort")()
    by_batch = _gsi("by_batch", "batch_id", "list_sort")()


class WaitingRecord(_Table):
    """The waiting list (轮候): one item per qualified application. ``queue`` is the kind (each city
    has its own stack); ``sort_key`` orders the queue, so a position is a COUNT of the keys before
    it on the KEYS_ONLY ``by_queue`` index."""

    logical_name = "waiting_list"
    application_id = UnicodeAttribute(hash_key=True)
    queue = UnicodeAttribute()  # the kind: individual | graduate | group
    sort_key = UnicodeAttribute()  # "{period end}#{9999 - points:04d}#{submitted_at}#{application_id}"
    owner_key = UnicodeAttribute()
    owner = UnicodeAttribute(null=True)
    household_size = NumberAttribute()
    priority_points = NumberAttribute(default=0)
    batch_id = UnicodeAttribute()
    period_end = UnicodeAttribute()
    qualified_at = UnicodeAttribute()

    by_queue = _gsi("by_queue", "queue", "sort_key", KeysOnlyProjection())()
    by_owner = _gsi("by_owner", "owner_key", "sort_key")()


MODELS = MODELS + (PublicityRecord, ObjectionRecord, WaitingRecord)


# --- lottery rounds (摇号) and their registrations: docs/decisions/0014 ------------------------------
class RoundRecord(_Table):
    """A lottery round over a set of vacant units. ``seq`` is the registration counter (atomic ADD,
    only while open); the commitment and the result are S3 objects whose SHA-256 the round keeps."""

    logical_name = "rounds"
    round_id = UnicodeAttribute(hash_key=True)
    city = UnicodeAttribute()
    list_sort = UnicodeAttribute()  # "{created_at}#{round_id}"
    title = UnicodeAttribute()
    status = UnicodeAttribute()
    unit_ids = ListAttribute(default=list)
    layout_mix = MapAttribute(default=dict)  # layout -> count
    layouts_by_size = MapAttribute(default=dict)  # "1".."5+" -> [layout]
    priority_groups = ListAttribute(default=list)
    randomness_source = UnicodeAttribute()
    slot_minutes = NumberAttribute()
    slot_size = NumberAttribute()
    registration_opens_at = UnicodeAttribute()
    registration_closes_at = UnicodeAttribute()
    seq = NumberAttribute(default=0)  # registration numbers handed out
    burned = NumberAttribute(default=0)  # numbers handed out to a registration that lost a race
    close_reason = UnicodeAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)
    cancel_reason = UnicodeAttribute(null=True)
    commitment_key = UnicodeAttribute(null=True)
    commitment_sha256 = UnicodeAttribute(null=True)
    committed_at = UnicodeAttribute(null=True)
    registrants = NumberAttribute(null=True)  # fixed at commit
    public_value = UnicodeAttribute(null=True)
    result_key = UnicodeAttribute(null=True)
    result_sha256 = UnicodeAttribute(null=True)
    drawn_at = UnicodeAttribute(null=True)
    published_at = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)

    by_city = _gsi("by_city", "city", "list_sort")()


class RegistrationRecord(_Table):
    """One application's registration in a round (the key makes it one per application); ``rank_key``
    appears with the draw (the sparse ``by_rank`` index is the published list, in rank order)."""

    logical_name = "registrations"
    round_id = UnicodeAttribute(hash_key=True)
    application_id = UnicodeAttribute(range_key=True)
    registration_no = UnicodeAttribute(null=True)
    owner = UnicodeAttribute()
    owner_key = UnicodeAttribute()
    mobile = UnicodeAttribute(null=True)
    household_size = NumberAttribute()
    priority_group = UnicodeAttribute()
    allowed_layouts = ListAttribute(default=list)
    masked_name = UnicodeAttribute()
    masked_id = UnicodeAttribute()
    rank = NumberAttribute(null=True)
    rank_key = UnicodeAttribute(null=True)  # f"{rank:07d}"
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()

    by_owner = _gsi("by_owner", "owner", "round_id")()
    by_rank = _gsi("by_rank", "round_id", "rank_key")()


MODELS = MODELS + (RoundRecord, RegistrationRecord)


# --- online unit selection (选房) and leases (租赁合同): docs/decisions/0015 ---------------------------
class SelectionRecord(_Table):
    """A round's selection: ``item`` = "meta" (slots, phase) or "r#{rank:07d}" per household, so the
    households of a round come in rank order from one Query; ``by_owner`` finds mine."""

    logical_name = "selections"
    round_id = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True)  # "meta" | "r#{rank:07d}"
    # meta
    phase = UnicodeAttribute(null=True)  # starting | first | reinvite | finished
    starts_at = UnicodeAttribute(null=True)
    slot_minutes = NumberAttribute(null=True)
    slot_size = NumberAttribute(null=True)
    slots = NumberAttribute(null=True)
    first_ends_at = UnicodeAttribute(null=True)
    reinvite_base = UnicodeAttribute(null=True)
    finished_at = UnicodeAttribute(null=True)
    released = ListAttribute(null=True)  # unit ids left vacant when the round finished
    # a household
    rank = NumberAttribute(null=True)
    registration_no = UnicodeAttribute(null=True)
    application_id = UnicodeAttribute(null=True)
    owner = UnicodeAttribute(null=True)
    owner_key = UnicodeAttribute(null=True)
    mobile = UnicodeAttribute(null=True)
    household_size = NumberAttribute(null=True)
    allowed_layouts = ListAttribute(null=True)
    masked_name = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)  # invited | chosen | passed | confirmed
    slot = NumberAttribute(null=True)
    slot_start = UnicodeAttribute(null=True)
    slot_end = UnicodeAttribute(null=True)
    reinvited = NumberAttribute(null=True)  # 1: the extra slot at the end
    passed_once = NumberAttribute(null=True)  # 1: passed over in its first slot (kept)
    unit_id = UnicodeAttribute(null=True)
    lease_id = UnicodeAttribute(null=True)
    chosen_at = UnicodeAttribute(null=True)
    confirmed_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)

    by_owner = _gsi("by_owner", "owner", "round_id")()
    by_phase = _gsi("by_phase", "phase", "round_id", KeysOnlyProjection())()  # sparse: meta items only


class LeaseRecord(_Table):
    """A lease (租赁合同): a draft when a unit is chosen, confirmed by the tenant; the signed PDF is
    a private S3 object (``contract_key``)."""

    logical_name = "leases"
    lease_id = UnicodeAttribute(hash_key=True)
    round_id = UnicodeAttribute()
    application_id = UnicodeAttribute()
    owner = UnicodeAttribute(null=True)  # absent for an imported lease not yet claimed (docs/decisions/0036)
    owner_key = UnicodeAttribute()
    tenant_name = UnicodeAttribute()
    tenant_id_masked = UnicodeAttribute()
    household_size = NumberAttribute()
    unit_id = UnicodeAttribute()
    estate_id = UnicodeAttribute()
    estate_name = UnicodeAttribute()
    address = UnicodeAttribute()
    building_id = UnicodeAttribute()
    building_name = UnicodeAttribute()
    number = UnicodeAttribute()
    layout = UnicodeAttribute()
    floor_area = NumberAttribute()
    base_rent = NumberAttribute()  # fen per month, the unit's rent
    monthly_rent = NumberAttribute()  # fen per month, after the reduction
    reduction = MapAttribute(null=True)  # {key, percent, note}
    deposit = NumberAttribute()
    term_months = NumberAttribute()
    start_date = UnicodeAttribute()
    end_date = UnicodeAttribute()
    manager = MapAttribute(null=True)
    landlord = UnicodeAttribute()
    clauses = ListAttribute(default=list)
    status = UnicodeAttribute()  # draft | confirmed
    confirmed_at = UnicodeAttribute(null=True)
    confirmed_device = UnicodeAttribute(null=True)
    contract_key = UnicodeAttribute(null=True)
    renews = UnicodeAttribute(null=True)  # a renewal's new lease: the lease it renews (docs/decisions/0033)
    renewed_by = UnicodeAttribute(null=True)  # a renewed lease: its confirmed successor

    # rent from a month on (a review's higher rent); billing reads it from the active index (bills.rent_for)
    rent_changes = ListAttribute(default=list)
    list_sort = UnicodeAttribute()  # "{created_at}#{lease_id}"
    # "00".."31" while the lease is confirmed (domain/bills.shard_of): billing's sparse index of the
    # active leases, read shard by shard (docs/decisions/0027); absent on a draft
    active_shard = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)

    by_owner = _gsi("by_owner", "owner", "list_sort")()
    by_round = _gsi("by_round", "round_id", "list_sort")()
    active_leases = _gsi("active_leases", "active_shard", "lease_id", IncludeProjection([
        "owner", "status", "monthly_rent", "base_rent", "reduction", "start_date", "end_date", "estate_id", "unit_id",
        "estate_name", "building_name", "number", "rent_changes"]))()


MODELS = MODELS + (SelectionRecord, LeaseRecord)



# --- rent (租金): bills (账单), issue 11; docs/decisions/0027 --------------------------------------
class BillRecord(_Table):
    """A bill: rent for one lease and month, or a lease's deposit. ``bill_id`` is derived from the
    lease and the month (domain/bills.bill_key), so a bill can be written once only (conditional put).
    ``owner_sort`` = "0#{due_date}#{bill_id}" while unpaid, "1#{inverted due_date}#{bill_id}" after
    (always set): ``by_owner`` lists a tenant's bills unpaid first, then the history newest first;
    ``by_estate`` an estate's unpaid bills oldest due first (arrears, reminders: begins_with "0#");
    ``by_lease`` a lease's."""

    logical_name = "bills"
    bill_id = UnicodeAttribute(hash_key=True)
    lease_id = UnicodeAttribute()
    owner = UnicodeAttribute(null=True)  # absent for an imported lease not yet claimed: not in by_owner
    owner_sort = UnicodeAttribute()
    kind = UnicodeAttribute()  # rent | deposit
    month = UnicodeAttribute(null=True)
    lease_sort = UnicodeAttribute()  # "{month or 0000-00}#{kind}"
    period_start = UnicodeAttribute(null=True)
    period_end = UnicodeAttribute(null=True)
    base_amount = NumberAttribute()
    amount = NumberAttribute()
    due_date = UnicodeAttribute()
    estate_id = UnicodeAttribute()
    unit_id = UnicodeAttribute()
    unit_label = UnicodeAttribute()
    reduction = MapAttribute(null=True)
    proration = MapAttribute(null=True)
    status = UnicodeAttribute()  # unpaid | paid | cancelled
    run_id = UnicodeAttribute(null=True)
    payment_id = UnicodeAttribute(null=True)
    paid_at = UnicodeAttribute(null=True)
    cancel_reason = UnicodeAttribute(null=True)
    extra = MapAttribute(default=dict)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)

    by_owner = _gsi("by_owner", "owner", "owner_sort")()
    by_lease = _gsi("by_lease", "lease_id", "lease_sort")()
    by_estate = _gsi("by_estate", "estate_id", "owner_sort")()


MODELS = MODELS + (BillRecord,)


class _JobTable(_Table):
    """A sharded job's table (repositories/fanout.py): the job and its shards in one item collection,
    ``item`` = "run" for the job, "s#{shard}" for each shard's progress (pages recorded as ``seq``, the
    index cursor after them, the counts: one number attribute each, declared by the kind's table)."""

    run_id = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True)  # "run" | "s#{shard}" (a kind may add its own items)
    # the job
    started_by = UnicodeAttribute(null=True)
    started_at = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)  # running | finished | failed
    shards = NumberAttribute(null=True)
    shards_done = NumberAttribute(null=True)
    shards_failed = NumberAttribute(null=True)
    enqueued = NumberAttribute(null=True)  # 1: every shard's first message sent
    reason = UnicodeAttribute(null=True)  # why the job failed to start
    finished_at = UnicodeAttribute(null=True)
    # a shard
    seq = NumberAttribute(null=True)  # pages recorded
    cursor = UnicodeAttribute(null=True)  # the active-leases index key after them (JSON)
    failed_reason = UnicodeAttribute(null=True)
    failures = ListAttribute(of=MapAttribute, null=True)  # the first leases that could not be worked on
    updated_at = UnicodeAttribute(null=True)
    # counts every kind has: a shard's; on the job, the finished shards'
    seen = NumberAttribute(null=True)
    created = NumberAttribute(null=True)
    existing = NumberAttribute(null=True)
    failed = NumberAttribute(null=True)


class BillingRunRecord(_JobTable):
    """A billing run and its shards (the sharded jobs' layout, _JobTable). Only the run item carries
    ``list_key``: the sparse ``by_started`` index lists runs."""

    logical_name = "billing_runs"
    month = UnicodeAttribute(null=True)
    trigger = UnicodeAttribute(null=True)  # admin | schedule
    list_key = UnicodeAttribute(null=True)  # "run"
    started_sort = UnicodeAttribute(null=True)  # "{started_at}#{run_id}"
    not_active = NumberAttribute(null=True)
    exempt = NumberAttribute(null=True)

    by_started = _gsi("by_started", "list_key", "started_sort")()


MODELS = MODELS + (BillingRunRecord,)


# --- payments (缴费, issue 11 §2-3): docs/decisions/0028 ----------------------------------------------
class PaymentRecord(_Table):
    """A payment: an order at a provider (WeChat Pay, Alipay) for one or several bills of one tenant, or
    a counter payment staff recorded. ``payment_id`` is our out_trade_no (``pay_`` + 16 hex digits: 20
    characters, unguessable), so a notification finds its order with one GetItem; the bills it pays are
    a snapshot (``bills``: id, kind, month, unit, amount). Settling writes this item and every bill in
    one transaction (repositories/payments.py). ``by_owner`` lists a tenant's payments newest first;
    ``by_task`` (sparse, keys only) holds only the payments with work left for the sweep: an order
    still open to query at the provider (``task`` = query), a duplicate to refund (refund), an external
    e-receipt to fetch (receipt), each from ``task_at``. A settled payment leaves it, so the sweep's
    cost does not grow with the history."""

    logical_name = "payments"
    payment_id = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute(null=True)  # the bills' tenant; absent: a counter payment of an unclaimed lease
    list_sort = UnicodeAttribute()  # "{created_at}#{payment_id}"
    payer = UnicodeAttribute()  # who paid or recorded it: the tenant, a delegate, staff (login subject)
    payer_role = UnicodeAttribute()  # tenant | delegate | staff
    payer_masked = UnicodeAttribute(null=True)  # 张*明: what the voucher shows
    grant_id = UnicodeAttribute(null=True)  # a delegate's grant
    provider = UnicodeAttribute()  # wechat | alipay | counter
    method = UnicodeAttribute()  # wechat | alipay | cash | bank_transfer
    bills = ListAttribute(of=MapAttribute, default=list)
    amount = NumberAttribute()  # fen: the sum of the bills, nothing else
    description = UnicodeAttribute()
    status = UnicodeAttribute()  # created | paid | closed | refunding | refunded
    merchant_id = UnicodeAttribute(null=True)
    transaction_id = UnicodeAttribute(null=True)  # the provider's
    prepay = MapAttribute(null=True)  # what the app's SDK was given
    expires_at = UnicodeAttribute(null=True)
    paid_at = UnicodeAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)
    counter = MapAttribute(null=True)  # {receipt_no, reason}: a counter payment
    refund = MapAttribute(null=True)  # {refund_id, amount, reason, duplicate_of, requested_at, provider_refund_id, ...}
    receipt = MapAttribute(null=True)  # {number, key, sha256, issued_at, external_provider, external_no, external_url}
    task = UnicodeAttribute(null=True)  # query | refund | receipt: only while there is work left
    task_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)

    by_owner = _gsi("by_owner", "owner", "list_sort")()
    by_task = _gsi("by_task", "task", "task_at", KeysOnlyProjection())()
    # reconciliation (docs/decisions/0029): an online payment paid, and a refund made, on a China day,
    # "{provider}#{day}#{shard}" (64 shards by payment id: a day's rent payments are not one hot
    # partition), sorted by payment id; sparse (set by repositories/reconciliation.day_keys)
    paid_day = UnicodeAttribute(null=True)
    refund_day = UnicodeAttribute(null=True)
    by_paid_day = _gsi("by_paid_day", "paid_day", "payment_id",
                       IncludeProjection(["amount", "status", "paid_at", "transaction_id"]))()
    by_refund_day = _gsi("by_refund_day", "refund_day", "payment_id",
                         IncludeProjection(["status", "paid_at", "transaction_id", "refund"]))()


MODELS = MODELS + (PaymentRecord,)


# --- arrears (欠租) and reconciliation (对账), issue 11 §4: docs/decisions/0029 ---------------------
class ArrearsRecord(_Table):
    """What a lease owes past its due dates (``lease_id`` = the lease; kept while it owes anything),
    and each estate's totals over them (``lease_id`` = "estate#{estate_id}", moved by every lease
    write in the same transaction). ``by_estate`` lists an estate's leases most months first
    (``estate_sort`` = "{999 - months:03d}#{since}#{lease_id}", lease items only); ``by_summary``
    every estate's totals (``summary_key`` on the totals only)."""

    logical_name = "arrears"
    lease_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()  # lease | estate
    estate_id = UnicodeAttribute()
    estate_sort = UnicodeAttribute(null=True)
    summary_key = UnicodeAttribute(null=True)  # "estates" on the totals
    owner = UnicodeAttribute(null=True)
    unit_label = UnicodeAttribute(null=True)
    tenant = UnicodeAttribute(null=True)  # masked name
    months = NumberAttribute(default=0)  # a lease's unpaid overdue rent bills; an estate's sum of them
    amount = NumberAttribute(default=0)  # fen
    since = UnicodeAttribute(null=True)
    bill_ids = ListAttribute(null=True)
    flagged_at = UnicodeAttribute(null=True)
    estate_name = UnicodeAttribute(null=True)
    leases = NumberAttribute(null=True)  # an estate's leases in arrears
    flagged = NumberAttribute(null=True)  # of which flagged
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)

    by_estate = _gsi("by_estate", "estate_id", "estate_sort")()
    by_summary = _gsi("by_summary", "summary_key", "estate_id")()


class ReconciliationRecord(_Table):
    """One reconciliation of a provider's statement for one China day: ``run_id`` =
    "rec_{provider}_{yyyymmdd}", so a day is one run however often it is started (a rerun
    recomputes it); its counts are progress while running and the result after."""

    logical_name = "reconciliations"
    run_id = UnicodeAttribute(hash_key=True)
    provider = UnicodeAttribute()
    day = UnicodeAttribute()
    status = UnicodeAttribute()  # running | completed | failed
    counts = MapAttribute(default=dict)
    runs = NumberAttribute(default=0)  # how many times it was started
    started_at = UnicodeAttribute()
    heartbeat_at = UnicodeAttribute()
    finished_at = UnicodeAttribute(null=True)
    started_by = UnicodeAttribute()
    error = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)


class MismatchRecord(_Table):
    """A difference between a provider's statement and our payments, for staff to resolve. The id is
    derived from provider, kind, order (and refund) and day, so a rerun finds the same one."""

    logical_name = "reconciliation_mismatches"
    mismatch_id = UnicodeAttribute(hash_key=True)
    run_id = UnicodeAttribute()
    provider = UnicodeAttribute()
    day = UnicodeAttribute()
    kind = UnicodeAttribute()  # missing_at_provider | missing_here | amount_mismatch | status_mismatch
    order_id = UnicodeAttribute()  # our payment_id (the provider's out_trade_no)
    refund_id = UnicodeAttribute(null=True)
    transaction_id = UnicodeAttribute(null=True)
    here = MapAttribute(null=True)  # our side: {amount, state, at}
    there = MapAttribute(null=True)  # the provider's: {amount, state, at, transaction_id}
    detail = UnicodeAttribute(null=True)
    status = UnicodeAttribute()  # open | resolved
    list_sort = UnicodeAttribute()  # "{day}#{mismatch_id}"
    reason = UnicodeAttribute(null=True)
    action = UnicodeAttribute(null=True)
    resolved_by = UnicodeAttribute(null=True)
    resolved_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)

    by_status = _gsi("by_status", "status", "list_sort")()


class PendingRecord(_Table):
    """The pending pool: a payment near midnight found on one side only, waiting for the adjacent
    day's run (``await_key`` = "{provider}#{day}") to be matched or counted as a mismatch. The id is
    the item itself, so a rerun finds it; ``outcome`` is set by the run that decided it."""

    logical_name = "reconciliation_pending"
    pending_id = UnicodeAttribute(hash_key=True)  # "{provider}|{side}|{kind}|{order_id}|{refund_id}"
    provider = UnicodeAttribute()
    side = UnicodeAttribute()  # ours | provider
    from_day = UnicodeAttribute()
    await_day = UnicodeAttribute()
    await_key = UnicodeAttribute()
    from_key = UnicodeAttribute()
    item = MapAttribute()
    outcome = UnicodeAttribute(null=True)  # matched | a mismatch kind (None: still waiting)
    decided_by = UnicodeAttribute(null=True)  # the run that decided it
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()

    by_await = _gsi("by_await", "await_key", "pending_id")()
    by_origin = _gsi("by_origin", "from_key", "pending_id")()


MODELS = MODELS + (ArrearsRecord, ReconciliationRecord, MismatchRecord, PendingRecord)


# --- the annual review (年审), issue 12 ----------------------------------------------------------------
class ReviewRecord(_Table):
    """One lease's review in one campaign: ``review_id`` = "rev-{campaign_id}-{lease_id}"
    (domain/reviews.review_key), written once (conditional put). ``by_lease`` a lease's reviews newest
    first (renewal reads the latest); ``by_owner`` a tenant's; ``by_campaign`` a campaign's by status
    (``campaign_sort`` = "{status}#{lease_id}": the staff's queues, the deadline's sweep, bulk confirm)."""

    logical_name = "reviews"
    review_id = UnicodeAttribute(hash_key=True)
    campaign_id = UnicodeAttribute()
    lease_id = UnicodeAttribute()
    owner = UnicodeAttribute(null=True)  # absent for an imported lease not yet claimed: not in by_owner
    estate_id = UnicodeAttribute()
    unit_id = UnicodeAttribute()
    unit_label = UnicodeAttribute()
    deadline = UnicodeAttribute()
    kind = UnicodeAttribute()  # campaign | renewal
    status = UnicodeAttribute()
    answer = MapAttribute(null=True)
    answered_at = UnicodeAttribute(null=True)
    answered_by = UnicodeAttribute(null=True)
    recommendation = MapAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    decided_at = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    notices = MapAttribute(default=dict)
    consents = MapAttribute(default=dict)  # member_id -> the renewed consent
    documents = MapAttribute(default=dict)  # a changed household's documents
    assisted = MapAttribute(null=True)  # staff answered for the household (代办/上门)
    verification = MapAttribute(null=True)  # the departments' run and its facts
    exempt = UnicodeAttribute(null=True)
    objection = MapAttribute(null=True)
    lease_sort = UnicodeAttribute()  # "{created_at}#{review_id}"
    campaign_sort = UnicodeAttribute()  # "{status}#{lease_id}"
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)

    by_lease = _gsi("by_lease", "lease_id", "lease_sort")()
    by_owner = _gsi("by_owner", "owner", "lease_sort")()
    by_campaign = _gsi("by_campaign", "campaign_id", "campaign_sort")()


MODELS = MODELS + (ReviewRecord,)


# --- renewal (续签), issue 12 §2: docs/decisions/0033 -----------------------------------------------
class RenewalRecord(_Table):
    """A lease's renewal: ``renewal_id`` = "rnw-{lease_id}" (domain/renewals.renewal_key), one per lease,
    written with a condition (absent, or cancelled and unchanged) so two applications cannot both win.
    Read by its key only (the lease's screen, the review's answer, the new lease's confirmation)."""

    logical_name = "renewals"
    renewal_id = UnicodeAttribute(hash_key=True)
    lease_id = UnicodeAttribute()
    owner = UnicodeAttribute()
    status = UnicodeAttribute()  # requested | awaiting_review | approved | renewed | refused | cancelled
    via = UnicodeAttribute()  # tenant | delegate | staff
    requested_by = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)  # staff's, masked
    review_id = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    monthly_rent = NumberAttribute(null=True)
    reasons = ListAttribute(default=list)
    leave_by = UnicodeAttribute(null=True)
    new_lease_id = UnicodeAttribute(null=True)
    requested_at = UnicodeAttribute()
    decided_at = UnicodeAttribute(null=True)
    renewed_at = UnicodeAttribute(null=True)
    cancelled_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)


MODELS = MODELS + (RenewalRecord,)


# --- move-out (退租, issue 12 §3): docs/decisions/0030 ------------------------------------------------
class MoveOutRecord(_Table):
    """A move-out: the tenant's notice (or staff's start), the appointment, the inspection with its
    photos, the settlement (final statement, refund), the timeline, in one item. Beside each open
    one, its lease's lock (``move_out_id`` = "lease#{lease_id}", ``kind`` = lock, ``holder`` = the
    move-out), put and deleted in the same transactions as the move-out, so a lease has one open
    move-out at a time. Only move-outs carry ``status`` and ``list_sort``: ``by_status`` (staff's
    lists) and ``by_lease`` (a lease's move-outs, newest last) hold no lock."""

    logical_name = "move_outs"
    move_out_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()  # move_out | lock
    lease_id = UnicodeAttribute()
    holder = UnicodeAttribute(null=True)  # the lock's move-out
    status = UnicodeAttribute(null=True)  # requested | scheduled | inspected | settled | completed | cancelled
    list_sort = UnicodeAttribute(null=True)  # "{created_at}#{move_out_id}"
    owner = UnicodeAttribute(null=True)
    unit_id = UnicodeAttribute(null=True)
    estate_id = UnicodeAttribute(null=True)
    unit_label = UnicodeAttribute(null=True)
    tenant_masked = UnicodeAttribute(null=True)
    move_out_date = UnicodeAttribute(null=True)
    started_by = UnicodeAttribute(null=True)
    started_role = UnicodeAttribute(null=True)  # tenant | delegate | staff
    grant_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    review_id = UnicodeAttribute(null=True)
    appointment = MapAttribute(null=True)  # {date, slot, note, set_at}
    inspection = MapAttribute(null=True)  # {condition, meters, damages, unit_status, note, inspected_at}
    photos = ListAttribute(of=MapAttribute, default=list)
    settlement = MapAttribute(null=True)  # the final statement and its refund
    events = ListAttribute(of=MapAttribute, default=list)  # the timeline the tenant sees
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)

    by_status = _gsi("by_status", "status", "list_sort")()
    by_lease = _gsi("by_lease", "lease_id", "list_sort")()


MODELS = MODELS + (MoveOutRecord,)


# --- review campaigns (年审批次), issue 12 §1; docs/decisions/0032 -----------------------------------
class ReviewCampaignRecord(_JobTable):
    """A campaign and its passes in the sharded jobs' layout (_JobTable): the campaign is ``run_id`` =
    its id ("rc-2027"), ``item`` = "campaign" (its terms, its passes' ids, ``list_key`` for the sparse
    ``by_opened`` index); each pass (an opening, a reminder) is ``run_id`` = the pass's id, ``item`` =
    "run", with "s#{shard}" items for its shards' progress."""

    logical_name = "review_campaigns"
    # the campaign
    scope = UnicodeAttribute(null=True)  # all | review_month
    period = UnicodeAttribute(null=True)  # YYYY | YYYY-MM
    deadline = UnicodeAttribute(null=True)
    notices_days_before = ListAttribute(of=NumberAttribute, null=True)
    opened_by = UnicodeAttribute(null=True)
    opened_at = UnicodeAttribute(null=True)
    passes = ListAttribute(of=UnicodeAttribute, null=True)
    list_key = UnicodeAttribute(null=True)  # "campaign"
    opened_sort = UnicodeAttribute(null=True)  # "{opened_at}#{campaign_id}"
    # a pass
    campaign_id = UnicodeAttribute(null=True)
    purpose = UnicodeAttribute(null=True)  # open | remind | exempt
    offset = NumberAttribute(null=True)  # a reminder's days before the deadline
    # its counts besides every kind's
    out_of_scope = NumberAttribute(null=True)
    notified = NumberAttribute(null=True)
    not_notified = NumberAttribute(null=True)
    exempted = NumberAttribute(null=True)

    by_opened = _gsi("by_opened", "list_key", "opened_sort")()


MODELS = MODELS + (ReviewCampaignRecord,)


# --- holiday calendars (法定节假日安排): the city's overrides, one small partition (docs/decisions/0035) ---
class HolidayCalendarRecord(_Table):
    """A year's public holidays and make-up working days as the city's admin entered them."""

    logical_name = "holiday_calendars"
    city = UnicodeAttribute(hash_key=True)
    year = UnicodeAttribute(range_key=True)  # "2027"
    holidays = ListAttribute(of=MapAttribute, default=list)  # {"date": "2027-01-01", "name": "new_years_day"}
    make_up_days = ListAttribute(of=MapAttribute, default=list)  # the same shape: weekend days worked (调休)
    complete = BooleanAttribute()  # the State Council's arrangement entered in full
    note = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()
    updated_by = UnicodeAttribute()
    version = VersionAttribute()


MODELS = MODELS + (HolidayCalendarRecord,)


# --- the service desk (投诉建议、报修), issue 13; docs/decisions/0034 -----------------------------------
from pynamodb.attributes import BooleanAttribute  # noqa: E402  (this section's own)


class TicketRecord(_Table):
    """A ticket (工单): what the citizen filed, its routing, deadlines, escalations, photos, rating and
    timeline, in one item. What the ministry's monthly counts need (``stats`` reads this table's
    stream) is flat on it: ``kind``, ``filed_at``/``filed_month``, ``first_reply_at``, ``resolved_at``,
    ``closed_at``, ``first_reply_met``, ``resolution_met``, ``rating_score``.

    Indexes: ``by_owner`` (the citizen's list); the staff queue sorted by deadline, by team, estate,
    category or state (``queue_sort`` = "o#{next deadline}#{id}" while open, "d#{resolved or closed
    at}#{id}" once done); ``by_due`` is sparse: only open tickets with a deadline ahead of them or
    passed (``due_part`` = "due", ``due_key`` = "{deadline}#{id}"), removed when the ticket is
    resolved, so the breach sweep reads ``due_key <= now`` and never an old ticket."""

    logical_name = "tickets"
    ticket_id = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()
    filed_by = UnicodeAttribute()
    filed_role = UnicodeAttribute()  # citizen | delegate
    grant_id = UnicodeAttribute(null=True)
    kind = UnicodeAttribute()  # complaint | suggestion | repair
    category = UnicodeAttribute()
    category_name = UnicodeAttribute()
    team = UnicodeAttribute()  # "pm-{estate}" | "street-{street}" | the bureau's
    team_name = UnicodeAttribute()
    assignee = UnicodeAttribute(null=True)
    estate_id = UnicodeAttribute()
    estate_name = UnicodeAttribute()
    unit_id = UnicodeAttribute(null=True)
    title = UnicodeAttribute()
    text = UnicodeAttribute()
    contact_allowed = BooleanAttribute()
    contact_name = UnicodeAttribute(null=True)
    contact_mobile = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    state = UnicodeAttribute()  # open | done
    photos = ListAttribute(of=MapAttribute, default=list)
    events = ListAttribute(of=MapAttribute, default=list)  # the timeline (internal notes marked)
    filed_at = UnicodeAttribute()
    filed_month = UnicodeAttribute()  # YYYY-MM, China time
    first_reply_due = UnicodeAttribute()  # YYYY-MM-DD: by the end of that day
    resolution_due = UnicodeAttribute()
    first_reply_at = UnicodeAttribute(null=True)
    resolved_at = UnicodeAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)
    first_reply_met = BooleanAttribute(null=True)
    resolution_met = BooleanAttribute(null=True)
    escalation = NumberAttribute(default=0)  # 0 none, 1 the team lead, 2 the bureau
    escalations = ListAttribute(of=MapAttribute, default=list)
    rating = MapAttribute(null=True)  # {score, comment, at}
    rating_score = NumberAttribute(null=True)
    reopened = NumberAttribute(default=0)
    owner_sort = UnicodeAttribute()
    queue_sort = UnicodeAttribute()
    due_part = UnicodeAttribute(null=True)
    due_key = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)

    by_owner = _gsi("by_owner", "owner", "owner_sort")()
    queue_team = _gsi("queue_team", "team", "queue_sort")()
    queue_estate = _gsi("queue_estate", "estate_id", "queue_sort")()
    queue_category = _gsi("queue_category", "category", "queue_sort")()
    queue_state = _gsi("queue_state", "state", "queue_sort")()
    by_due = _gsi("by_due", "due_part", "due_key")()


class TicketCounterRecord(_Table):
    """Counters of the service desk, each updated atomically (ADD), never a scan: ``scope`` "ratings"
    with ``key`` "team#{team}" / "estate#{estate}" (count, sum and each score's count); ``scope``
    "limit#{subject}" with ``key`` the minute (tickets filed in it, expiring by ``expires``)."""

    logical_name = "ticket_counters"
    scope = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute(null=True)
    count = NumberAttribute(default=0)
    total = NumberAttribute(null=True)
    s1 = NumberAttribute(null=True)
    s2 = NumberAttribute(null=True)
    s3 = NumberAttribute(null=True)
    s4 = NumberAttribute(null=True)
    s5 = NumberAttribute(null=True)
    expires = TTLAttribute(null=True)


MODELS = MODELS + (TicketRecord, TicketCounterRecord)


# --- statistics (统计, issue 14 §2): docs/decisions/0037 ----------------------------------------------
class StatsRecord(_Table):
    """The ministry's figures as counter items, with what keeps them exact. ``pk`` = "counters":
    ``sk`` = "YYYY-MM" (a month's counters, China time) or "total" (since the start), each counter a
    number attribute of its own (``applications_submitted``, ``approval_days_3``...), moved by
    ``ADD`` from the tables' streams; ``pk`` = "event#{stream event id}", ``sk`` = "-": the marker
    that an event was counted, written in the same transaction as its counters and kept 2 days
    (``expires``; a stream keeps a record 24 h); ``pk`` = "recount", ``sk`` = a recount's id: the
    monthly full recount, its progress and what it found (repositories/stats.py); ``pk`` =
    "kept#{table}", ``sk`` = a deleted item's key: what the figures need of it (``kept``, JSON:
    dates, nothing personal), written by the retention job with the deletion (domain/stats.py
    Source.kept_fields)."""

    logical_name = "stats"
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    expires = TTLAttribute(null=True)
    kept = UnicodeAttribute(null=True)


MODELS = MODELS + (StatsRecord,)


def _stream_view(logical_name: str) -> str | None:
    """Tables whose changes the statistics count stream both images (chalicelib/domain/stats.py SOURCES)."""
    from chalicelib.domain.stats import SOURCES

    return "NEW_AND_OLD_IMAGES" if logical_name in SOURCES else None


# --- the audit trail's daily seals (tamper evidence, docs/decisions/0040) ----------------------------
class AuditSealRecord(_Table):
    """One China day of the audit trail sealed by the daily job: how many records, the SHA-256 over
    their digests in order, and the previous day's seal hash (a chain of days). Written once a day
    (never a hot key), append-only like the trail; kept without expiry (no personal data in it)."""

    logical_name = "audit_seals"
    chain = UnicodeAttribute(hash_key=True)  # "audit": the one chain, read in day order
    day = UnicodeAttribute(range_key=True)  # YYYY-MM-DD (China time)
    count = NumberAttribute()
    root = UnicodeAttribute()  # sha256 over "{at}|{target}|{digest}\n" of the day's records in `at` order
    previous = UnicodeAttribute()  # the previous sealed day's `hash` ("" for the first day)
    hash = UnicodeAttribute()  # sha256 over day, count, root, previous
    sealed_at = UnicodeAttribute()


MODELS = MODELS + (AuditSealRecord,)


# --- imports (数据导入, issue 14 §1): docs/decisions/0036 ---------------------------------------------
class ImportRecord(_Table):
    """An import of the national system's export and its progress. The job's item collection
    (``import_id``): ``item`` = "import" (the job), "p#{phase}" (the dry run's or the real run's counts,
    ``run`` naming the run). Each chunk's own (``import_id`` = "{import_id}#{chunk:06d}"): "c#{phase}#{run}"
    (the chunk done in that run, with its counts), "g#{split}#{group}" (a group of the real run
    written: its counts and the counters it moves, ``applied`` once they are; by the dry run that split
    the file, so a run after a failed one skips what was written). The file, its chunks and the error
    report are S3 objects."""

    logical_name = "imports"
    import_id = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True)
    # the job
    kind = UnicodeAttribute(null=True)
    fmt = UnicodeAttribute(null=True)  # csv | xlsx
    file_name = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute(null=True)
    list_key = UnicodeAttribute(null=True)  # "import" on the job: the by_created index lists imports
    created_sort = UnicodeAttribute(null=True)  # "{created_at}#{import_id}"
    # a phase (and a chunk's own counts)
    rows_read = NumberAttribute(null=True)
    created = NumberAttribute(null=True)
    updated = NumberAttribute(null=True)
    unchanged = NumberAttribute(null=True)
    refused = NumberAttribute(null=True)
    chunks = NumberAttribute(null=True)
    chunks_done = NumberAttribute(null=True)
    report_key = UnicodeAttribute(null=True)
    started_at = UnicodeAttribute(null=True)
    finished_at = UnicodeAttribute(null=True)
    run = UnicodeAttribute(null=True)  # a phase's run (each start a new one)
    # a chunk, a group
    done = NumberAttribute(null=True)
    deltas = UnicodeAttribute(null=True)  # a group's counter deltas (JSON: import_writes.Counters)
    applied = NumberAttribute(null=True)  # a group's counters moved
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)

    by_created = _gsi("by_created", "list_key", "created_sort")()


MODELS = MODELS + (ImportRecord,)

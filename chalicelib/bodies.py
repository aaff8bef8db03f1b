"""Request bodies as pydantic models. Imported only when a write arrives (pydantic is not on the
read path); referenced from routes as "chalicelib.bodies:Name"."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from chalicelib.domain.facilities import FacilityType
from chalicelib.domain.holiday_calendars import HolidayName
from chalicelib.domain.idnumbers import mask_free_text
from chalicelib.domain.policies import PolicyCategory, PolicyStatus
from chalicelib.domain.units import Layout, UnitStatus


def _plain_text(value: str) -> str:
    """NFC (one spelling of each character: names compare and mask the same)."""
    import unicodedata

    return unicodedata.normalize("NFC", value)


def _visible(value: Any) -> Any:
    """No string anywhere in a body carries a control character, a bidi override or a zero-width
    character (they make one text look like another on a screen, in a list, in a log line)."""
    from chalicelib.domain.names import unsafe_in_text

    if isinstance(value, str):
        problem = unsafe_in_text(value)
        if problem:
            raise PydanticCustomError("zh_unsafe_text", "{problem}", {"problem": problem})
    elif isinstance(value, list):
        for item in value:
            _visible(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _visible(key)
            _visible(item)
    return value


def _one_line(value: str) -> str:
    if "\n" in value or "\r" in value or "\t" in value:
        raise PydanticCustomError("zh_unsafe_text", "{problem}", {"problem": "不能包含控制字符"})
    return value


def _person_name(value: str) -> str:
    from chalicelib.domain.names import person_name_problem

    normalised, problem = person_name_problem(value)
    if problem:
        raise PydanticCustomError("zh_person_name", "{problem}", {"problem": problem})
    return normalised


#: Free text is stored with the personal numbers in it masked (ID numbers, bank cards, mobiles:
#: docs/decisions/0020). Every free-text field carries this; tests/test_personal_data.py fails on a
#: string field that neither carries it, has a pattern, nor is listed there as personal data by design.
MASKED = AfterValidator(mask_free_text)

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                 AfterValidator(_plain_text), AfterValidator(_one_line), MASKED]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_plain_text), MASKED]
Phone = Annotated[str, StringConstraints(pattern=r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|400-?\d{3}-?\d{4})$")]
Lat = Annotated[float, Field(ge=3, le=54, allow_inf_nan=False)]
Lng = Annotated[float, Field(ge=73, le=135.5, allow_inf_nan=False)]
Photo = Annotated[str, StringConstraints(max_length=512)]
Version = Annotated[int, Field(ge=0, description="读取时的 version，用于防止并发覆盖")]


def _titles(schema: dict[str, object], model: type) -> None:
    """Each property's title is its Chinese label (chalicelib/messages.py), as the messages use it."""
    from chalicelib.messages import label

    for name, prop in dict(schema.get("properties") or {}).items():  # type: ignore[call-overload]
        title = label(model, name)
        if title and isinstance(prop, dict):
            prop["title"] = title


class Body(BaseModel):
    # strict: true is not 1, 1 and "yes" are not true, 1.0 and "1" are not integers (JSON input)
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True, json_schema_extra=_titles)

    checked_per_row: ClassVar[frozenset[str]] = frozenset()  # text whose parts are judged one by one

    @field_validator("*", mode="before")
    @classmethod
    def _no_invisible_characters(cls, value: Any, info: ValidationInfo) -> Any:
        return value if info.field_name in cls.checked_per_row else _visible(value)


class AreaIn(Body):
    area_id: Slug
    name: Name
    district: Name | None = None


class StreetIn(Body):
    street_id: Slug
    name: Name


class Manager(Body):
    company: Name
    contact: Name | None = None
    phone: Phone
    office: Text | None = None
    hours: Text | None = None


class EstateIn(Body):
    estate_id: Slug
    name: Name
    area_id: Slug
    street_id: Slug
    address: Text
    lat: Lat
    lng: Lng
    description: Text | None = None
    manager: Manager | None = None
    photos: list[Photo] = Field(default_factory=list, max_length=30)


class EstatePatch(Body):
    version: Version
    name: Name | None = None
    address: Text | None = None
    lat: Lat | None = None
    lng: Lng | None = None
    description: Text | None = None
    manager: Manager | None = None
    photos: list[Photo] | None = Field(default=None, max_length=30)


class BuildingIn(Body):
    version: Version
    name: Name
    floors: int = Field(ge=1, le=120)
    elevator: bool = False


class UnitIn(Body):
    estate_id: Slug
    building_id: Slug
    number: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{1,12}$")]
    layout: Layout
    floor_area: float = Field(gt=5, le=300, allow_inf_nan=False)
    floor: int = Field(ge=-3, le=120)
    rent: int = Field(ge=0, le=10_000_000, description="月租金，单位：分")
    status: Literal[UnitStatus.VACANT, UnitStatus.UNDER_REPAIR] = UnitStatus.VACANT
    orientation: Annotated[str, StringConstraints(max_length=10)] | None = None
    photos: list[Photo] = Field(default_factory=list, max_length=30)


class UnitPatch(Body):
    version: Version
    layout: Layout | None = None
    floor_area: float | None = Field(default=None, gt=5, le=300, allow_inf_nan=False)
    floor: int | None = Field(default=None, ge=-3, le=120)
    rent: int | None = Field(default=None, ge=0, le=10_000_000)
    orientation: Annotated[str, StringConstraints(max_length=10)] | None = None
    photos: list[Photo] | None = Field(default=None, max_length=30)


class UnitStatusIn(Body):
    version: Version
    status: UnitStatus
    reason: Text | None = None


class FacilityIn(Body):
    facility_id: Slug | None = None
    type: FacilityType
    name: Name
    lat: Lat
    lng: Lng
    address: Text | None = None


class FacilityPatch(Body):
    version: Version
    type: FacilityType | None = None
    name: Name | None = None
    lat: Lat | None = None
    lng: Lng | None = None
    address: Text | None = None


class Attachment(Body):
    name: Name
    url: Annotated[str, StringConstraints(max_length=1024, pattern=r"^https?://")]


class PolicyIn(Body):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), MASKED]
    body: Annotated[str, StringConstraints(min_length=1, max_length=200_000), MASKED]
    category: PolicyCategory
    summary: Text | None = None
    issuer: Name | None = None
    doc_number: Name | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)


class PolicyPatch(Body):
    version: Version
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), MASKED] | None = None
    body: Annotated[str, StringConstraints(min_length=1, max_length=200_000), MASKED] | None = None
    category: PolicyCategory | None = None
    summary: Text | None = None
    issuer: Name | None = None
    doc_number: Name | None = None
    attachments: list[Attachment] | None = Field(default=None, max_length=20)


class PolicyStatusIn(Body):
    version: Version
    status: Literal[PolicyStatus.PUBLISHED, PolicyStatus.WITHDRAWN]


# --- applying ------------------------------------------------------------------------------------
IdNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
PersonName = Annotated[str, StringConstraints(max_length=200), AfterValidator(_person_name),
                      Field(description="姓名：2-30 个汉字、字母、“·”或空格")]
Mobile = Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)]
Ref = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,80}$")]
Answers = Annotated[dict[str, int | float | bool | None], Field(max_length=40)]


class RegisterIn(Body):
    name: PersonName
    id_number: IdNumber
    mobile: Mobile | None = Field(None, description="身份提供方已核验手机号时以其为准")


class EmployerRegisterIn(Body):
    name: Name = Field(description="单位名称")
    credit_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)]
    mobile: Mobile | None = None


class MemberIn(Body):
    relation: Literal["self", "spouse", "child", "parent", "sibling", "grandchild", "other"]
    name: PersonName
    id_number: IdNumber = Field(description="18 位居民身份证号码；年龄、性别由号码得出")
    hukou: Literal["local", "non_local"] = "local"
    monthly_income: Annotated[int, Field(ge=0, le=100_000_000, description="月收入（分）")] = 0
    disability: bool = False
    veteran: bool = False
    subsistence_allowance: bool = False
    serious_illness: bool = False
    model_worker: bool = False
    frontline_worker: bool = False


class HouseholdIn(Body):
    members: Annotated[list[MemberIn], Field(min_length=1, max_length=20)]
    version: Version | None = Field(None, description="修改已有家庭时必填")


class ApplicationIn(Body):
    kind: Literal["individual", "graduate"]
    declared: Answers | None = Field(None, description="申报信息（与资格自评同一组问题）")


class ApplicationPatch(Body):
    version: Version
    declared: Answers | None = None
    refresh_household: bool = Field(False, description="按当前家庭信息更新申请中的家庭成员")


class VersionIn(Body):
    version: Version


class WithdrawIn(Body):
    version: Version
    note: Text | None = None


class DocumentIn(Body):
    type: Slug
    content_type: Literal["image/jpeg", "image/png", "application/pdf"]
    size: Annotated[int, Field(ge=1, description="文件字节数（上限 10 MB）")] | None = None
    member_id: Ref | None = None


def _agreed(value: bool) -> bool:
    if value is not True:  # Literal[True] would take 1 from JSON: an agreement is the JSON true only
        raise PydanticCustomError("zh_must_agree", "{problem}", {"problem": "应为 true（阅读并同意后提交）"})
    return value


class ConsentIn(Body):
    text_version: Annotated[str, StringConstraints(max_length=32)]
    agree: Annotated[bool, AfterValidator(_agreed), Field(json_schema_extra={"const": True})]


class ConfirmIn(Body):
    document_id: Ref | None = Field(None, description="工作人员上传的签字确认书（仅工作人员）")


class AssistedIn(Body):
    kind: Literal["individual", "graduate"]
    members: Annotated[list[MemberIn], Field(min_length=1, max_length=20)]
    contact_mobile: Phone | None = None
    declared: Answers | None = None
    note: Text | None = None


class SupplementIn(Body):
    version: Version
    documents: Annotated[list[Slug], Field(min_length=1, max_length=10)]
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), MASKED]
    deadline: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="补正期限（ISO 8601，含时区）；缺省为城市设定的天数")


class PaperConsentIn(Body):
    member_id: Ref
    document_id: Ref


class GrantIn(Body):
    delegate_mobile: Mobile
    scopes: Annotated[list[Literal["view", "act", "documents"]], Field(min_length=1, max_length=3)]
    expires_at: Annotated[str, StringConstraints(max_length=40)]


# --- group rental (团租) -------------------------------------------------------------------------
class GroupIn(Body):
    name: Name = Field(description="团租申请名称，如“2026 年第一批”")
    note: Text | None = None


class EmployeeIn(Body):
    name: PersonName
    id_number: IdNumber = Field(description="职工 18 位居民身份证号码")
    mobile: Mobile = Field(description="职工手机号（接收通知）")
    hukou: Literal["local", "non_local"] = "local"
    monthly_income: Annotated[int, Field(ge=0, le=100_000_000, description="月收入（分）")] = 0
    declared: Answers | None = Field(None, description="申报信息（与资格自评同一组问题）")


class EmployeeImportIn(Body):
    checked_per_row: ClassVar[frozenset[str]] = frozenset({"csv"})  # each row's cells: the import's report
    csv: Annotated[str, StringConstraints(min_length=1, max_length=1_000_000)] = Field(
        description="CSV 文本（UTF-8）：表头 姓名,身份证号,手机号,户籍,月收入（分） 或 "
                    "name,id_number,mobile,hukou,monthly_income；每次最多 500 行")


# --- review --------------------------------------------------------------------------------------
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), MASKED]


class ApproveIn(Body):
    version: Version
    note: Note | None = None


class BulkItem(Body):
    application_id: Ref
    version: Version
    note: Note | None = None


class BulkApproveIn(Body):
    items: Annotated[list[BulkItem], Field(min_length=1, max_length=50)]


class RejectIn(Body):
    version: Version
    reason_code: Slug
    note: Note = Field(description="给申请人的说明")


class OverrideIn(Body):
    version: Version
    recommendation: Literal["pass", "fail", "manual_review"]
    reason: Note = Field(description="改变建议的书面理由（记入审计与办理进度）")


class RerunIn(Body):
    version: Version
    reason: Note


# --- publicity (公示) and objections (异议) -----------------------------------------------------------
class PublishIn(Body):
    application_ids: Annotated[list[Ref], Field(min_length=1, max_length=200, description="审核通过的申请")]
    days: Annotated[int, Field(ge=1, le=30, description="公示天数（城市设定的范围内；默认城市设定）")] | None = None
    title: Name | None = None
    minutes: Annotated[int, Field(ge=1, le=1440, description="仅演示模式：公示分钟数")] | None = None
    ends_at: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="仅演示模式：公示截止时间（ISO 8601，含时区）")


class ObjectionIn(Body):
    application_id: Ref | None = Field(None, description="申请编号（与 entry_id 二选一）")
    entry_id: Ref | None = Field(None, description="公示名单中的编号")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=500), MASKED] = Field(
        description="异议事实与理由（10-500 字）")
    contact: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = Field(
        None, description="联系方式（选填）")


class ResolveIn(Body):
    version: Version
    decision: Literal["upheld", "dismissed"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500), MASKED] = Field(
        description="处理理由（记入审计与办理进度）")


# --- lottery rounds (摇号): docs/decisions/0014 -------------------------------------------------------
UnitRef = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,159}$")]
When = Annotated[str, StringConstraints(max_length=40)]
SizeKey = Annotated[str, StringConstraints(pattern=r"^([1-9]|1[0-9]|20)\+?$")]


class RoundIn(Body):
    title: Name = Field(description="批次名称，如“2026 年第 4 批公租房摇号”")
    unit_ids: Annotated[list[UnitRef], Field(min_length=1, max_length=2000, description="空置房源（1-2000 套）")]
    registration_opens_at: When = Field(description="报名开始时间（ISO 8601，含时区）")
    registration_closes_at: When = Field(description="报名截止时间（ISO 8601，含时区），晚于开始时间")
    priority_groups: Annotated[list[Slug], Field(min_length=1, max_length=20)] | None = Field(
        None, description="优先组顺序（城市规则中的优先项 id）；最后总是普通组 general。缺省：城市规则的顺序")
    layouts_by_size: dict[SizeKey, Annotated[list[Layout], Field(min_length=1, max_length=6)]] | None = Field(
        None, description="家庭人数（\"1\"…，\"5+\" 表示 5 人及以上）-> 可选户型；缺省：城市设定")
    randomness_source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=300), MASKED] = Field(
        description="事先公布的公开随机数来源，如“2026-12-15 中国福利彩票双色球第2026145期开奖号码”")
    slot_minutes: int = Field(30, ge=5, le=240, description="每个选房时段的分钟数")
    slot_size: int = Field(10, ge=1, le=500, description="每个时段的选房户数")


class RegistrationIn(Body):
    application_id: Ref | None = Field(None, description="报名的申请（缺省：本人正在轮候的申请）")


class RoundCloseIn(Body):
    version: Version
    force: bool = Field(False, description="报名截止前强制截止（须写明理由）")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500), MASKED] | None = None


class RoundCancelIn(Body):
    version: Version
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500), MASKED]


class DrawIn(Body):
    version: Version
    public_value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="按事先公布的来源取得的公开随机数（如开奖号码）")


# --- online unit selection (选房) and leases (租赁合同) ----------------------------------------------
class SelectionStartIn(Body):
    version: Version
    starts_at: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="第一个选房时段的开始时间（ISO 8601，含时区）；缺省：现在")


class ChoiceIn(Body):
    unit_id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,159}$")] = Field(
        description="所选房源编号（本轮房源、空置、户型适合本户）")


class RealNameCheckIn(Body):
    check_id: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[!-~]{1,64}$")] = Field(
        description="实名登记时返回的 real_name.check_id（人脸核验完成后提交，由服务端向核验方查询结果）")


class IdentityConflictResolveIn(Body):
    winner: Literal["holder", "claimant"] = Field(description="身份证号归属：holder 原持有账号，claimant 后核验账号")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500), MASKED] = Field(
        description="处理理由（记入审计）")


# --- rent (租金): billing runs (docs/decisions/0027); payments (0028: the amounts come from the bills only) ----
class BillingRunIn(Body):
    month: Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = Field(
        description="账期（年-月，如 2027-01），在城市规定的范围内（rent.json 的 run_months）")


BillIds = Annotated[list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,160}$")]], Field(
    min_length=1, max_length=24, description="要缴的账单（1-24 笔，同一承租人，不重复；金额以账单为准）")]


class PaymentIn(Body):
    bill_ids: BillIds
    provider: Literal["wechat", "alipay"] = Field(description="wechat（微信支付）或 alipay（支付宝）")


class CounterPaymentIn(Body):
    bill_ids: BillIds
    method: Literal["cash", "bank_transfer"] = Field(description="cash（现金）或 bank_transfer（银行转账）")
    receipt_no: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,40}$")] = Field(description="窗口开具的收据编号")
    reason: Text = Field(description="登记理由（记入审计，必填），如“承租人到窗口现金缴纳”")

# --- reconciliation (对账): docs/decisions/0029 ---------------------------------------------------------
class ReconciliationIn(Body):
    provider: Literal["wechat", "alipay"] = Field(description="支付机构：wechat 微信支付，alipay 支付宝")
    day: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")] = Field(
        description="对账日期（北京时间，YYYY-MM-DD）：早于今天；前一日的对账单于今日10点后提供")


class MismatchResolveIn(Body):
    action: Literal["no_action", "settled_here", "refunded", "reported_to_provider"] = Field(
        description="处理方式：no_action 无需处理，settled_here 已在本方入账，refunded 已退款，reported_to_provider 已提请支付机构更正")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500), MASKED] = Field(
        description="处理理由（记入审计）")


class StaffRenewalIn(Body):
    """Staff apply to renew a lease for its tenant at the counter or at home (代办): audited."""

    version: Version
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500), MASKED] = Field(
        description="代办事由（记入审计，必填），如“承租人行动不便，上门代办续签”")


# --- move-out (退租): docs/decisions/0030 ---------------------------------------------------------------
IsoDate = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
StaffReason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500), MASKED]
Reading = Annotated[float, Field(ge=0, le=99_999_999, allow_inf_nan=False)]


class MoveOutIn(Body):
    move_out_date: IsoDate = Field(description="退租日期（YYYY-MM-DD）：在城市规定的提前告知期内（如 30-90 天后），不晚于租期结束")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), MASKED] | None = Field(
        default=None, description="退租原因（选填）")


class StaffMoveOutIn(Body):
    move_out_date: IsoDate = Field(description="退租日期（YYYY-MM-DD）：今天起，不晚于城市规定的天数与租期结束")
    reason: StaffReason = Field(description="发起理由（必填，记入审计），如“年审结果为须腾退，腾退期满”")
    review_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = Field(
        default=None, description="年审编号（因年审须腾退而发起时）")


class MoveOutCancelIn(Body):
    version: Version


class StaffMoveOutCancelIn(Body):
    version: Version
    reason: StaffReason = Field(description="撤销理由（必填，记入审计）")


class MoveOutAppointmentIn(Body):
    version: Version
    date: IsoDate = Field(description="验房日期（YYYY-MM-DD）：今天起，不晚于退租日期")
    slot: Annotated[str, StringConstraints(pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")] = Field(
        description="验房时段，城市规定的时段之一，如 09:00-12:00")
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), MASKED] | None = None


class MoveOutPhotoIn(Body):
    content_type: Literal["image/jpeg", "image/png"] = Field(description="照片格式")
    size: Annotated[int, Field(ge=1)] | None = Field(default=None, description="文件字节数（选填，超过上限直接拒绝）")
    caption: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), MASKED] | None = None


class Meters(Body):
    water: Reading = Field(description="水表读数（立方米）")
    electricity: Reading = Field(description="电表读数（千瓦时）")
    gas: Reading | None = Field(default=None, description="燃气表读数（立方米；未通燃气可不填）")


class Damage(Body):
    item: Name = Field(description="损坏项目，如“卧室门锁”")
    amount: Annotated[int, Field(ge=1, le=10_000_000)] = Field(description="赔偿金额（分）")
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), MASKED] | None = None


class InspectionIn(Body):
    version: Version
    condition: Literal["good", "normal_wear", "damaged"] = Field(description="房屋状况：good 完好，normal_wear 正常损耗，damaged 有损坏")
    meters: Meters
    damages: list[Damage] = Field(default_factory=list, max_length=50)
    unit_status: Literal["vacant", "under_repair"] = Field(description="退租后房屋去向：vacant 空置可租，under_repair 维修")
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), MASKED] | None = None


class MoveOutSettleIn(Body):
    version: Version
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), MASKED] | None = Field(
        default=None, description="结算说明（选填，记入审计）")


class MoveOutRefundIn(Body):
    receipt_no: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,40}$")] | None = Field(
        default=None, description="窗口退款的收据编号（窗口退款必填；原路退款重试时不填）")
    reason: StaffReason = Field(description="登记理由（必填，记入审计）")


class MoveOutCompleteIn(Body):
    version: Version

# --- the annual review (年审), issue 12: docs/decisions/0031 --------------------------------------------
ReviewReason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200), MASKED]


class ReviewConsentIn(Body):
    """An adult member's renewed consent to the departments' queries (the current text only)."""

    text_version: Annotated[str, StringConstraints(max_length=32)]
    agree: Annotated[bool, AfterValidator(_agreed), Field(json_schema_extra={"const": True})]


class AssistedReviewIn(Body):
    """Staff answer for the household (代办) at the counter or at home (上门): why, and that each adult
    signed the consent form (kept on paper at the street office)."""

    where: Literal["counter", "home"] = Field(description="counter（窗口）或 home（上门）")
    reason: ReviewReason = Field(description="代办事由（记入审计）")
    consents_signed: Annotated[bool, AfterValidator(_agreed), Field(
        json_schema_extra={"const": True}, description="各成年家庭成员已签署个人信息查询授权书")]


class ReviewAnswerIn(Body):
    """The household's answer: nothing changed (one tap), or the household as it is now."""

    version: Version
    change: Literal["none", "changed"] = Field(description="none：家庭情况无变化；changed：有变化（须填写现在的家庭成员）")
    consent: ReviewConsentIn | None = Field(None, description="答复人本人的授权（承租人本人答复时必填）")
    members: Annotated[list[MemberIn], Field(min_length=1, max_length=20)] | None = Field(
        None, description="现在的家庭成员、收入与情况（changed 时必填）")
    declared: Answers | None = Field(None, description="变化的申报信息（与资格自评同一组问题，选填）")
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), MASKED] | None = None
    assisted: AssistedReviewIn | None = Field(None, description="工作人员代办时必填")


class ReviewDocumentIn(Body):
    type: Slug
    content_type: Literal["image/jpeg", "image/png", "application/pdf"]
    reason: ReviewReason | None = Field(None, description="工作人员代办时必填（记入审计）")


class ReviewConfirmIn(Body):
    """Staff confirm the recommendation, or decide another outcome with a reason (manual review)."""

    version: Version
    outcome: Literal["continue", "higher_rent", "must_leave"] | None = Field(
        None, description="不同于建议时（或建议为人工审核时）必填")
    reason: ReviewReason | None = Field(None, description="改变建议或人工审核时必填（记入审计）")


class ReviewBulkConfirmIn(Body):
    """Clean continues confirmed in one click: one campaign's, or the given reviews."""

    campaign_id: Ref | None = None
    review_ids: Annotated[list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,160}$")]],
                          Field(min_length=1, max_length=100)] | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 500


class ReviewObjectionIn(Body):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=500), MASKED] = Field(
        description="异议事实与理由（10-500 字）")
    contact: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None



# --- review campaigns (年审批次): docs/decisions/0032 ----------------------------------------------------
class ReviewCampaignIn(Body):
    scope: Literal["all", "review_month"] = Field(
        description="年审范围：all 全部在租合同（按年度，填 year），review_month 年审月份（即租期开始月份）在本月的合同（填 month）")
    year: Annotated[int, Field(ge=2000, le=2100)] | None = Field(None, description="年度（scope 为 all 时必填），如 2027")
    month: Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | None = Field(
        None, description="月份（scope 为 review_month 时必填），如 2027-03")
    deadline: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = Field(
        None, description="答复截止日期（北京时间，晚于今天，366 天之内）；不填按城市规定（reviews.json 的 window_days）")
    notices_days_before: Annotated[list[Annotated[int, Field(ge=0, le=180)]], Field(max_length=6)] | None = Field(
        None, description="截止前第几天提醒（从大到小、不重复，如 [60, 30, 7]）；不填按城市规定")


# --- holiday calendars (法定节假日安排): docs/decisions/0035 ------------------------------------------------
class HolidayDayIn(Body):
    date: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")] = Field(description="日期（YYYY-MM-DD）")
    name: HolidayName = Field(description="所属节日：new_years_day 元旦，spring_festival 春节，tomb_sweeping_day 清明节，"
                                          "labour_day 劳动节，dragon_boat_festival 端午节，mid_autumn_festival 中秋节，"
                                          "national_day 国庆节，other 其他")


class HolidayCalendarIn(Body):
    """A year's arrangement, whole: it replaces what the year had (the package's or an earlier entry)."""

    version: Version
    complete: bool = Field(description="是否已录入国务院办公厅公布的全年安排（false：仅录入了已确定的日期，如元旦，仍按缺失告警）")
    holidays: Annotated[list[HolidayDayIn], Field(min_length=1, max_length=60)] = Field(
        description="放假日期（含放假期间的周六、周日），每个日期一条")
    make_up_days: Annotated[list[HolidayDayIn], Field(max_length=20)] = Field(
        default_factory=list, description="调休上班日期（周六或周日），每个日期一条")
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_one_line),
                    MASKED] | None = Field(None, description="依据，如“国办发明电〔2026〕X号”")


# --- the service desk (投诉建议、报修), issue 13: docs/decisions/0034 ------------------------------------
TicketText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=1000),
                       AfterValidator(_plain_text), MASKED]
TicketCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
TicketReason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200), MASKED]


class TicketIn(Body):
    """A complaint, suggestion or repair request about an estate (and a unit of it)."""

    category: TicketCode = Field(description="类别编码（GET /v1/ticket-categories），如 repair_water_electric")
    title: Name = Field(description="标题（一行，100 字以内）")
    text: TicketText = Field(description="具体情况（2-1000 字）")
    estate_id: Ref = Field(description="所涉小区")
    unit_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,160}$")] | None = Field(
        None, description="所涉房屋（选填，须在该小区内）")
    contact_allowed: bool = Field(description="是否同意工作人员电话联系")
    grant_id: Ref | None = Field(None, description="受托人代为提交时：所持授权编号（须含 act）")


class TicketPhotoIn(Body):
    content_type: Literal["image/jpeg", "image/png"] = Field(description="照片格式")
    size: Annotated[int, Field(ge=1)] | None = Field(default=None, description="文件字节数（选填，超过上限直接拒绝）")


class TicketReplyIn(Body):
    text: TicketText = Field(description="补充说明或答复（2-1000 字）")


class TicketReopenIn(Body):
    reason: TicketText = Field(description="重新打开的理由")


class TicketRatingIn(Body):
    score: Annotated[int, Field(ge=1, le=5)] = Field(description="服务评价：1-5 星")
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), MASKED] | None = Field(
        None, description="评价内容（选填，500 字以内）")


class TicketStaffReplyIn(Body):
    """A reply to the citizen (free text, or one of the city's canned replies by code), or an internal note."""

    text: TicketText | None = Field(None, description="答复内容（与 canned_reply 二选一）")
    canned_reply: TicketCode | None = Field(None, description="常用答复编码（GET /v1/staff/ticket-replies）")
    internal: bool = Field(False, description="true：内部备注，市民不可见")
    status: Literal["in_progress", "waiting_citizen", "resolved"] | None = Field(
        None, description="答复同时变更状态（选填）")


class TicketStatusIn(Body):
    version: Version
    status: Literal["accepted", "in_progress", "waiting_citizen", "resolved", "closed"] = Field(description="新状态")
    note: TicketText | None = Field(None, description="说明（市民可见；不填则为默认说明）")


class TicketAssignIn(Body):
    version: Version
    team: Ref | None = Field(None, description="改派到的团队编码（如 bureau、pm-fuzeyuan、street-...）")
    team_name: Name | None = Field(None, description="团队名称（改派团队时填写）")
    assignee: Name | None = Field(None, description="经办人（选填）")
    reason: TicketReason = Field(description="改派理由（记入审计与时间线）")


class TicketBulkItem(Body):
    ticket_id: Ref
    version: Version


class TicketBulkAssignIn(Body):
    items: Annotated[list[TicketBulkItem], Field(min_length=1, max_length=100)]
    team: Ref | None = None
    team_name: Name | None = None
    assignee: Name | None = None
    reason: TicketReason = Field(description="改派理由（记入审计与时间线）")


# --- statistics (统计): docs/decisions/0037 ---------------------------------------------------------------
class StatsRecountIn(Body):
    through: Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | None = Field(
        None, description="复核截至月份（年-月，如 2026-11）：核对此前各月的计数；不填为上一个自然月；填本月则同时核对累计数")


# --- imports (数据导入): docs/decisions/0036 ------------------------------------------------------------
class ExportIn(Body):
    kind: Literal["estates", "buildings", "units", "tenants"] = Field(
        description="导出的数据类别：项目、楼栋、房源、承租家庭（含成员与在租合同，含身份证号码与姓名）；按全国公租房信息系统的列格式")
    reason: Note = Field(description="导出理由（记入审计）")


class ImportIn(Body):
    kind: Literal["estates", "buildings", "units", "tenants"] = Field(
        description="导入的数据类别：项目、楼栋、房源、承租家庭（含成员与在租合同）；请按此顺序导入")
    format: Literal["csv", "xlsx"] = Field(description="文件格式：CSV（UTF-8 或 GBK）或 XLSX")
    file_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                         AfterValidator(_plain_text), AfterValidator(_one_line), MASKED] | None = Field(
        default=None, description="原文件名（仅供显示）")

"""The one error table: each domain error's HTTP status, stable code and zh-CN message (the most
specific class wins, looked up along the MRO). The errors themselves are in errors.py, the envelope
they are answered in is chalicelib/web.py's; kept apart from web.py so the table can grow with the
concepts without the route machinery."""
from __future__ import annotations

from chalicelib import errors

# status, stable code, zh-CN message. The most specific class wins (looked up along the MRO).
ERRORS: dict[type[errors.DomainError], tuple[int, str, str]] = {
    errors.InvalidInput: (400, "INVALID_PARAMETER", "请求参数不正确"),
    errors.InvalidCursor: (400, "INVALID_CURSOR", "分页标记无效，请从第一页重新查询"),
    errors.InvalidJson: (400, "INVALID_JSON", "请求内容不是有效的 JSON 对象"),
    errors.BodyTooLarge: (413, "BODY_TOO_LARGE", "请求内容过大"),
    errors.UnsupportedMediaType: (415, "UNSUPPORTED_MEDIA_TYPE", "请以 application/json 格式提交"),
    errors.NotAuthenticated: (401, "NOT_AUTHENTICATED", "请先登录"),
    errors.InvalidToken: (401, "INVALID_TOKEN", "登录凭证无效或已过期，请重新登录"),
    errors.Forbidden: (403, "FORBIDDEN", "您没有权限进行此操作"),
    errors.NotFound: (404, "NOT_FOUND", "未找到相关内容"),
    errors.AreaNotFound: (404, "AREA_NOT_FOUND", "未找到该片区"),
    errors.StreetNotFound: (404, "STREET_NOT_FOUND", "未找到该街道"),
    errors.EstateNotFound: (404, "ESTATE_NOT_FOUND", "未找到该项目（小区）"),
    errors.BuildingNotFound: (404, "BUILDING_NOT_FOUND", "未找到该楼栋"),
    errors.UnitNotFound: (404, "UNIT_NOT_FOUND", "未找到该房源"),
    errors.FacilityNotFound: (404, "FACILITY_NOT_FOUND", "未找到该配套设施"),
    errors.PolicyNotFound: (404, "POLICY_NOT_FOUND", "未找到该政策文件"),
    errors.Conflict: (409, "CONFLICT", "操作与当前状态冲突"),
    errors.AlreadyExists: (409, "ALREADY_EXISTS", "该记录已存在，请勿重复提交"),
    errors.StaleVersion: (409, "STALE_VERSION", "数据已被他人修改，请刷新后重试"),
    errors.IllegalTransition: (409, "ILLEGAL_TRANSITION", "当前状态不允许此操作"),
    errors.IdempotencyKeyReused: (409, "IDEMPOTENCY_KEY_REUSED", "该请求编号已用于另一项提交"),
    errors.RequestInProgress: (409, "REQUEST_IN_PROGRESS", "相同的请求正在处理中，请稍候"),
    errors.ServiceUnavailable: (503, "SERVICE_UNAVAILABLE", "服务暂时不可用，请稍后重试"),
}
INTERNAL = (500, "INTERNAL_ERROR", "系统繁忙，请稍后重试")


ERRORS.update({
    errors.InvalidIdNumber: (400, "INVALID_ID_NUMBER", "身份证号码不正确，请核对后重新填写"),
    errors.InvalidCreditCode: (400, "INVALID_CREDIT_CODE", "统一社会信用代码不正确，请核对后重新填写"),
    errors.InvalidMobile: (400, "INVALID_MOBILE", "手机号码不正确"),
    errors.RegistrationRequired: (403, "REGISTRATION_REQUIRED", "请先完成实名登记"),
    errors.GrantExpired: (403, "GRANT_EXPIRED", "授权已过期，请联系委托人重新授权"),
    errors.GrantRevoked: (403, "GRANT_REVOKED", "授权已被委托人撤销"),
    errors.OutsideGrant: (403, "OUTSIDE_GRANT", "您获得的授权不包括此项操作"),
    errors.ApplicationNotFound: (404, "APPLICATION_NOT_FOUND", "未找到该申请"),
    errors.HouseholdNotFound: (404, "HOUSEHOLD_NOT_FOUND", "未找到家庭信息，请先填写家庭成员"),
    errors.DocumentNotFound: (404, "DOCUMENT_NOT_FOUND", "未找到该材料"),
    errors.GrantNotFound: (404, "GRANT_NOT_FOUND", "未找到该授权"),
    errors.DelegateNotRegistered: (404, "DELEGATE_NOT_REGISTERED", "对方尚未在本应用实名登记，无法授权"),
    errors.ConsentNotFound: (404, "CONSENT_NOT_FOUND", "未找到需要您授权的申请"),
    errors.AlreadyRegistered: (409, "ALREADY_REGISTERED", "您已完成实名登记"),
    errors.IdNumberTaken: (409, "ID_NUMBER_REGISTERED", "该身份证号已被其他账号登记，如有疑问请到窗口办理"),
    errors.PersonAlreadyApplying: (409, "PERSON_ALREADY_APPLYING", "家庭成员已有正在办理的公租房申请，不能重复申请"),
    errors.ConsentMissing: (409, "CONSENT_MISSING", "还有成年家庭成员未完成个人信息查询授权"),
    errors.DocumentsIncomplete: (409, "DOCUMENTS_INCOMPLETE", "申请材料不齐全，或有材料未通过检查"),
    errors.TooManyDocuments: (409, "TOO_MANY_DOCUMENTS", "材料数量已达上限"),
    errors.SupplementExpired: (409, "SUPPLEMENT_EXPIRED", "补正期限已过，请联系经办窗口"),
})

ERRORS.update({
    errors.EmployerRegistrationRequired: (403, "EMPLOYER_REGISTRATION_REQUIRED", "请先完成单位登记（单位名称与统一社会信用代码）"),
    errors.GroupNotFound: (404, "GROUP_NOT_FOUND", "未找到该团租申请"),
    errors.EmployeeOfAnotherEmployer: (409, "EMPLOYEE_OF_ANOTHER_EMPLOYER", "该职工已在其他单位的团租申请中，不能重复添加"),
    errors.EmployeeAlreadyAdded: (409, "EMPLOYEE_ALREADY_ADDED", "该职工已在本单位的团租申请中，请勿重复添加"),
    errors.InvalidCsv: (400, "INVALID_CSV", "导入文件格式不正确，请使用模板的表头（姓名,身份证号,手机号,户籍,月收入（分）），每次不超过500行"),
    errors.DuplicateRow: (400, "DUPLICATE_ROW", "文件中该职工重复出现，已按第一次出现的行处理"),
    errors.ValueRequired: (400, "VALUE_REQUIRED", "此项必须填写"),
    errors.InvalidAmount: (400, "INVALID_AMOUNT", "金额应为以分为单位的非负整数"),
})

ERRORS.update({
    errors.PublicityNotFound: (404, "PUBLICITY_NOT_FOUND", "未找到该公示批次或公示对象"),
    errors.ObjectionNotFound: (404, "OBJECTION_NOT_FOUND", "未找到该异议"),
    errors.OutsidePublicityPeriod: (409, "OUTSIDE_PUBLICITY_PERIOD", "不在公示期内，不能提出异议"),
    errors.PublicityNotEnded: (409, "PUBLICITY_NOT_ENDED", "公示期尚未结束，不能结束公示"),
    errors.ObjectionAlreadyResolved: (409, "OBJECTION_ALREADY_RESOLVED", "该异议已处理，请勿重复处理"),
    errors.NothingToPublish: (409, "NOTHING_TO_PUBLISH", "所选申请均不能进入公示（只有审核通过的申请可以公示）"),
})

ERRORS.update({
    errors.RoundNotFound: (404, "ROUND_NOT_FOUND", "未找到该摇号批次"),
    errors.RegistrationNotFound: (404, "LOTTERY_REGISTRATION_NOT_FOUND", "您未报名该摇号批次"),
    errors.RegistrationClosed: (409, "REGISTRATION_CLOSED", "不在摇号报名时间内，不能报名"),
    errors.AlreadyRegisteredForRound: (409, "ALREADY_REGISTERED", "您已报名该摇号批次，请勿重复报名"),
    errors.NotQualified: (409, "NOT_QUALIFIED", "您还没有已取得资格、正在轮候的公租房申请，不能报名摇号"),
    errors.NoFittingLayout: (409, "NO_FITTING_LAYOUT", "本批次房源中没有适合您家庭人数的户型"),
    errors.RegistrationWindowOpen: (409, "REGISTRATION_WINDOW_OPEN", "报名尚未截止；如需提前截止，请选择强制截止并写明理由"),
    errors.AlreadyDrawn: (409, "ALREADY_DRAWN", "该批次已摇号，不能重复摇号"),
    errors.RoundNotPublished: (409, "ROUND_NOT_PUBLISHED", "摇号结果尚未公布"),
    errors.RegistrationsSettling: (409, "REGISTRATIONS_SETTLING", "仍有报名正在写入，请稍后重试"),
    errors.RegistrationNumberTaken: (409, "REGISTRATION_NUMBER_TAKEN", "报名编号分配冲突，本次报名未生效，请重试"),
    errors.RoundDataInconsistent: (409, "ROUND_DATA_INCONSISTENT",
                                   "摇号批次数据不一致（如报名编号重复），本次操作未生效，请联系系统管理员核查"),
    errors.RoundFileMismatch: (409, "ROUND_FILE_MISMATCH", "存储的摇号文件与登记的 SHA-256 不符，已停止提供，请联系系统管理员核查"),
    errors.UnitNotVacant: (409, "UNIT_NOT_VACANT", "所选房源不是空置可租状态，不能纳入摇号批次"),
})

ERRORS.update({
    errors.SelectionNotFound: (404, "SELECTION_NOT_FOUND", "您不在本轮选房名单中"),
    errors.LeaseNotFound: (404, "LEASE_NOT_FOUND", "未找到该租赁合同"),
    errors.SelectionNotOpen: (409, "SELECTION_NOT_OPEN", "本轮尚未开始选房或选房已结束"),
    errors.NotYourTurn: (409, "NOT_YOUR_TURN", "还没轮到您选房，或您的选房时段已过，请按通知的时段选房"),
    errors.UnitTaken: (409, "UNIT_TAKEN", "该房源已被其他家庭选定，请选择其他房源"),
    errors.AlreadyChosen: (409, "ALREADY_CHOSEN", "您已选定房源，不能重复选房"),
    errors.UnitNotAvailable: (409, "UNIT_NOT_AVAILABLE", "该房源不在本轮可选范围内，或户型与您的家庭人数不符"),
    errors.LeaseAlreadyConfirmed: (409, "LEASE_ALREADY_CONFIRMED", "该租赁合同已确认，请勿重复确认"),
    errors.BillNotFound: (404, "BILL_NOT_FOUND", "未找到该账单"),
    errors.ReviewNotFound: (404, "REVIEW_NOT_FOUND", "未找到该年审记录"),
    errors.BillAlreadyPaid: (409, "BILL_ALREADY_PAID", "该账单已缴清，请勿重复缴费"),
    errors.BillCancelled: (409, "BILL_CANCELLED", "该账单已作废，无需缴费"),
    errors.BillingRunNotFound: (404, "BILLING_RUN_NOT_FOUND", "未找到该账单生成批次"),
    errors.ContractNotReady: (409, "CONTRACT_NOT_READY", "租赁合同尚未确认，暂无合同文本"),
})

ERRORS.update({
    errors.RawFileForbidden: (403, "RAW_FILE_FORBIDDEN", "证件材料原件仅本人、经授权的受托人和工作人员可以查看"),
    errors.FilesOutsideGrant: (403, "DOCUMENTS_OUTSIDE_GRANT", "您获得的授权不包括查看证件材料原件，请联系委托人授予“查看证件材料原件”权限"),
    errors.RealNamePending: (403, "REAL_NAME_PENDING", "您的实名核验尚未完成，请先完成人脸核验后再办理"),
    errors.RealNameMismatch: (409, "REAL_NAME_MISMATCH", "姓名与身份证号不一致，请核对后重新填写"),
    errors.RealNameNotFound: (409, "REAL_NAME_NOT_FOUND", "未能核验该身份证号（号码不存在或已注销），请到窗口办理"),
    errors.FaceCheckFailed: (409, "FACE_CHECK_FAILED", "人脸核验未通过，请重新进行人脸核验"),
    errors.FaceCheckNotDone: (409, "FACE_CHECK_NOT_DONE", "人脸核验尚未完成，请先完成人脸核验"),
    errors.RealNameCheckNotFound: (404, "REAL_NAME_CHECK_NOT_FOUND", "未找到该实名核验，请重新实名登记"),
    errors.RealNameCheckUnavailable: (503, "REAL_NAME_CHECK_UNAVAILABLE", "实名核验服务暂时不可用，请稍后重试"),
    errors.IdNumberInDispute: (409, "ID_NUMBER_IN_DISPUTE",
                               "该身份证号已由其他账号实名核验，已转工作人员核查，工作人员将与您联系，您也可携带身份证到窗口办理"),
    errors.IdentityConflictNotFound: (404, "IDENTITY_CONFLICT_NOT_FOUND", "未找到该身份争议"),
    errors.IdentityConflictResolved: (409, "IDENTITY_CONFLICT_RESOLVED", "该身份争议已处理，请勿重复处理"),
    errors.WriteConflict: (409, "WRITE_CONFLICT", "数据刚被同时修改，本次操作未生效，请刷新后重试"),
    errors.RouteNotFound: (404, "ROUTE_NOT_FOUND", "请求的接口不存在"),
    errors.MethodNotAllowed: (405, "METHOD_NOT_ALLOWED", "该接口不支持此请求方法"),
    errors.DraftExists: (409, "DRAFT_EXISTS", "该家庭已有同类申请草稿，请继续填写原草稿"),
    errors.GrantExists: (409, "GRANT_EXISTS", "您已授权此人，如需调整请先撤销原授权"),
})

ERRORS.update({
    errors.PaymentNotFound: (404, "PAYMENT_NOT_FOUND", "未找到该缴费记录"),
    errors.PaymentAlreadyPaid: (409, "PAYMENT_ALREADY_PAID", "该笔缴费已支付成功，不能取消"),
    errors.PaymentClosed: (409, "PAYMENT_CLOSED", "该缴费订单已关闭，请重新发起缴费"),
    errors.BillsOfSeveralOwners: (400, "BILLS_OF_SEVERAL_OWNERS", "一次缴费只能包含同一承租人的账单"),
    errors.NothingToPay: (409, "NOTHING_TO_PAY", "所选账单应缴金额为 0，无需缴费"),
    errors.ReceiptNotReady: (409, "RECEIPT_NOT_READY", "该笔缴费尚未支付成功，暂无缴费凭证"),
})

ERRORS.update({
    errors.ReconciliationNotFound: (404, "RECONCILIATION_NOT_FOUND", "未找到该对账记录"),
    errors.ReconciliationRunning: (409, "RECONCILIATION_RUNNING", "该支付机构当日的对账正在进行，请稍后再试"),
    errors.StatementNotReady: (409, "STATEMENT_NOT_READY", "支付机构的对账单于次日10点后提供，请稍后再试"),
    errors.MismatchNotFound: (404, "MISMATCH_NOT_FOUND", "未找到该对账差异"),
    errors.MismatchAlreadyResolved: (409, "MISMATCH_ALREADY_RESOLVED", "该对账差异已处理，请勿重复处理"),
})

ERRORS.update({
    errors.RenewalNotFound: (404, "RENEWAL_NOT_FOUND", "该租赁合同尚未申请续签"),
    errors.RenewalExists: (409, "RENEWAL_EXISTS", "该租赁合同已申请续签（或已续签），请勿重复申请"),
    errors.RenewalOutsideWindow: (409, "RENEWAL_OUTSIDE_WINDOW", "不在续签申请时间内：请在租期届满前规定的月份内申请"),
    errors.LeaseNotRenewable: (409, "LEASE_NOT_RENEWABLE", "该租赁合同尚未生效或已终止，不能申请续签"),
    errors.RenewalRefused: (409, "RENEWAL_REFUSED", "根据年审结论，该租赁合同不予续签，具体原因请在续签详情中查看"),
    errors.RenewalNotApproved: (409, "RENEWAL_NOT_APPROVED", "续签仍在资格核查中，核查通过后方可确认新合同"),
    errors.RenewalClosed: (409, "RENEWAL_CLOSED", "该续签申请已办结或已撤回，不能再操作"),
})

ERRORS.update({  # move-out (退租): docs/decisions/0030
    errors.MoveOutNotFound: (404, "MOVE_OUT_NOT_FOUND", "未找到该退租申请"),
    errors.LeaseNotActive: (409, "LEASE_NOT_ACTIVE", "该租赁合同未生效或已退租，不能办理退租"),
    errors.MoveOutExists: (409, "MOVE_OUT_EXISTS", "该租赁合同已有办理中的退租申请"),
    errors.PaymentInProgress: (409, "PAYMENT_IN_PROGRESS", "该合同有尚未完成的缴费订单，请先完成支付或取消订单"),
    errors.MoveOutNotCancellable: (409, "MOVE_OUT_NOT_CANCELLABLE", "房屋已验收，退租申请不能撤销"),
    errors.MoveOutAlreadySettled: (409, "MOVE_OUT_ALREADY_SETTLED", "该退租已结算，请勿重复结算"),
    errors.RefundPending: (409, "REFUND_PENDING", "押金退款尚未完成，请先完成退款"),
})

ERRORS.update({  # the annual review (年审), issue 12: docs/decisions/0031
    errors.ReviewAlreadyAnswered: (409, "REVIEW_ALREADY_ANSWERED", "本次年审已申报，请勿重复提交；进度可在公租房APP中查看"),
    errors.ReviewDeadlinePassed: (409, "REVIEW_DEADLINE_PASSED", "本次年审的申报期限已过，请携带身份证到所在街道窗口办理"),
    errors.ReviewAlreadyDecided: (409, "REVIEW_ALREADY_DECIDED", "该年审结果已确认，请勿重复操作"),
    errors.ReviewNotRecommended: (409, "REVIEW_NOT_RECOMMENDED", "该年审尚未形成核查建议，暂不能确认结果"),
    errors.OutcomeNeeded: (400, "OUTCOME_NEEDED", "请选择年审结果并填写理由"),
    errors.ReviewNotObjectionable: (409, "REVIEW_NOT_OBJECTIONABLE", "仅可对已办结的年审结果申请一次复核"),
    errors.ReviewConsentNotNeeded: (404, "REVIEW_CONSENT_NOT_NEEDED", "您不是该年审家庭的成年成员，或本次年审暂不需要您的授权"),
})

ERRORS.update({  # review campaigns (docs/decisions/0032)
    errors.ReviewCampaignNotFound: (404, "REVIEW_CAMPAIGN_NOT_FOUND", "未找到该年审批次"),
    errors.ReviewCampaignTermsDiffer: (409, "REVIEW_CAMPAIGN_TERMS_DIFFER",
                                       "该年审批次已按原定截止日期和提醒安排开启，再次开启不能更改，请不填或填写原值"),
})

ERRORS.update({  # holiday calendars (docs/decisions/0035)
    errors.HolidayCalendarInvalid: (400, "HOLIDAY_CALENDAR_INVALID", "节假日安排不符合规则，请核对日期"),
})

ERRORS.update({  # the service desk (投诉建议、报修): docs/decisions/0034
    errors.TicketNotFound: (404, "TICKET_NOT_FOUND", "未找到该工单"),
    errors.TicketClosed: (409, "TICKET_CLOSED", "该工单已关闭，不能再回复或办理；如问题仍未解决，可在规定期限内重新打开"),
    errors.TicketNotRateable: (409, "TICKET_NOT_RATEABLE", "工单关闭后才能评价"),
    errors.TicketAlreadyRated: (409, "TICKET_ALREADY_RATED", "该工单已评价过，每件工单只能评价一次"),
    errors.TicketReopenExpired: (409, "TICKET_REOPEN_EXPIRED", "已超过可重新打开的期限，请重新提交一件工单"),
    errors.TicketContactNotAllowed: (409, "TICKET_CONTACT_NOT_ALLOWED", "提交人选择不接受联系，无联系方式可查看"),
    errors.TicketsRateLimited: (429, "TICKETS_RATE_LIMITED", "提交过于频繁，请稍后再试（每分钟提交数量有限制）"),
})

ERRORS.update({  # statistics (docs/decisions/0037)
    errors.StatsRecountNotFound: (404, "STATS_RECOUNT_NOT_FOUND", "未找到该统计复核记录"),
})

ERRORS.update({  # personal data over time (PIPL): docs/decisions/0040
    errors.AccountClosed: (403, "ACCOUNT_CLOSED", "该账号已注销，不能继续使用；如需办理业务，请携带身份证到所在街道窗口"),
    errors.AccountInUse: (409, "ACCOUNT_IN_USE", "您还有办理中的申请或未终止的租赁合同，暂不能注销账号；请先撤回申请或办理退租"),
    errors.ConsentWithdrawn: (409, "CONSENT_WITHDRAWN", "有家庭成员已撤回个人信息查询授权，无法进行联合审查；请该成员重新授权"),
    errors.ConsentNotGiven: (409, "CONSENT_NOT_GIVEN", "您尚未授权或已撤回授权，无需再次撤回"),
})

ERRORS.update({  # imports (数据导入), issue 14 §1: docs/decisions/0036
    errors.ImportNotFound: (404, "IMPORT_NOT_FOUND", "未找到该导入任务"),
    errors.ImportBadHeader: (400, "IMPORT_BAD_HEADER", "文件表头不符合本市导入格式"),
    errors.ImportUnreadable: (400, "IMPORT_UNREADABLE", "无法读取该文件，请确认文件格式（CSV 或 XLSX）"),
    errors.ImportNotUploaded: (409, "IMPORT_NOT_UPLOADED", "尚未上传导入文件，请先上传"),
    errors.ImportDryRunRequired: (409, "IMPORT_DRY_RUN_REQUIRED", "请先完成试运行并查看报告，再正式导入"),
    errors.ImportRunning: (409, "IMPORT_RUNNING", "导入正在进行中，请等待完成"),
    errors.ImportAlreadyApplied: (409, "IMPORT_ALREADY_APPLIED", "该文件已正式导入；更正后的文件请新建导入任务"),
    errors.ImportReportNotReady: (409, "IMPORT_REPORT_NOT_READY", "导入尚未完成，暂无报告"),
    errors.ExportNotFound: (404, "EXPORT_NOT_FOUND", "未找到该导出任务"),
})

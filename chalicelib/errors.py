"""Domain errors. They know nothing of HTTP; chalicelib/error_table.py maps each class to a status,
a stable code and a zh-CN message in one table."""
from __future__ import annotations


class DomainError(Exception):
    """Base of every error a citizen, clerk or operator may be told about."""

    def __init__(self, detail: str = "", *, field: str | None = None, message: str | None = None) -> None:
        super().__init__(detail or self.__class__.__name__)
        self.detail = detail
        self.field = field
        self.message = message  # a precise zh-CN sentence (which field, what is wrong); else the table's


# --- input -----------------------------------------------------------------------------------
class InvalidInput(DomainError):
    """A parameter or body field is missing, malformed or out of range (``field`` names it)."""


class InvalidCursor(DomainError):
    """A pagination cursor that this API did not issue for this query."""


class InvalidJson(DomainError):
    """The request body is not a JSON object."""


class BodyTooLarge(DomainError):
    """The request body exceeds the configured limit."""


class UnsupportedMediaType(DomainError):
    """A write was not sent as application/json."""


# --- identity --------------------------------------------------------------------------------
class NotAuthenticated(DomainError):
    """No bearer token on a protected route."""


class InvalidToken(DomainError):
    """A token that fails verification (signature, issuer, audience, expiry, use)."""


class Forbidden(DomainError):
    """Authenticated, but the role or city does not allow this."""


# --- catalogue -------------------------------------------------------------------------------
class NotFound(DomainError):
    """Base for unknown ids; subclasses name the thing."""


class AreaNotFound(NotFound):
    pass


class StreetNotFound(NotFound):
    pass


class EstateNotFound(NotFound):
    pass


class BuildingNotFound(NotFound):
    pass


class UnitNotFound(NotFound):
    pass


class FacilityNotFound(NotFound):
    pass


class PolicyNotFound(NotFound):
    pass


class Conflict(DomainError):
    """Base for writes that clash with the current state."""


class AlreadyExists(Conflict):
    pass


class StaleVersion(Conflict):
    """Optimistic locking: someone changed the record since the client read it."""


class IllegalTransition(Conflict):
    """A lifecycle change that the transition table does not allow."""


class ServiceUnavailable(DomainError):
    """A dependency (AWS, a department) could not be reached; safe to retry."""


class IdempotencyKeyReused(Conflict):
    """The same Idempotency-Key was sent with a different request body."""


class RequestInProgress(Conflict):
    """The first request with this Idempotency-Key has not finished yet."""


# --- applying (households, applications, documents, consent, delegation) -----------------------
class InvalidIdNumber(InvalidInput):
    """Not an 18-digit resident ID with a correct check digit and a real birth date."""


class InvalidCreditCode(InvalidInput):
    """Not an 18-character unified social credit code with a correct check character."""


class InvalidMobile(InvalidInput):
    """Not an 11-digit mainland mobile number."""


class RegistrationRequired(Forbidden):
    """The caller has not registered (real name and ID number) yet."""


class GrantExpired(Forbidden):
    pass


class GrantRevoked(Forbidden):
    pass


class OutsideGrant(Forbidden):
    """The delegate's grant does not cover this action (view only)."""


class RawFileForbidden(Forbidden):
    """A raw file (document, contract) asked for by someone who sees only its status (an employer)."""


class FilesOutsideGrant(OutsideGrant):
    """A delegate without the ``documents`` scope asked for a raw file (ID card, contract)."""


class ApplicationNotFound(NotFound):
    pass


class HouseholdNotFound(NotFound):
    pass


class DocumentNotFound(NotFound):
    pass


class GrantNotFound(NotFound):
    pass


class DelegateNotRegistered(NotFound):
    """Nobody registered with that mobile number."""


class ConsentNotFound(NotFound):
    pass


class AlreadyRegistered(Conflict):
    pass


class IdNumberTaken(Conflict):
    """Another login already registered this ID number."""


class PersonAlreadyApplying(Conflict):
    """A member's ID number is in another active application."""


class ConsentMissing(Conflict):
    """An adult member has not consented to the department queries yet."""


class DocumentsIncomplete(Conflict):
    """A required document is missing, still being checked, or rejected."""


class TooManyDocuments(Conflict):
    pass


class SupplementExpired(Conflict):
    """The supplement's deadline has passed."""


# --- group rental (团租) -----------------------------------------------------------------------
class EmployerRegistrationRequired(RegistrationRequired):
    """The caller has no employer registration (name and unified social credit code)."""


class GroupNotFound(NotFound):
    pass


class EmployeeOfAnotherEmployer(Conflict):
    """The employee is already in an open group application of another employer."""


class EmployeeAlreadyAdded(Conflict):
    """The employee is already in an open group application of this employer."""


class InvalidCsv(InvalidInput):
    """An import file that cannot be read as a whole (header, size); nothing of it is written."""


class DuplicateRow(InvalidInput):
    """The same employee twice in one import file (the first row is kept)."""


class ValueRequired(InvalidInput):
    """A required value is blank (e.g. a CSV cell)."""


class InvalidAmount(InvalidInput):
    """Money that is not a non-negative whole number of fen."""


# --- publicity (公示), objections and the waiting list (轮候) ---------------------------------------
class PublicityNotFound(NotFound):
    """No such publicity batch, or no such entry in it."""


class ObjectionNotFound(NotFound):
    pass


class OutsidePublicityPeriod(Conflict):
    """An objection filed before the period started or after it ended (or on an entry no longer listed)."""


class PublicityNotEnded(Conflict):
    """Closing a batch whose period has not ended yet."""


class ObjectionAlreadyResolved(Conflict):
    pass


class NothingToPublish(Conflict):
    """None of the applications given could be published (each one's reason is in the detail)."""

    def __init__(self, detail: str = "", *, field: str | None = None, message: str | None = None,
                 failures: list[tuple[str, DomainError]] | None = None) -> None:
        super().__init__(detail, field=field, message=message)
        self.failures = failures or []  # (application id, why), for the answer's detail


# --- lottery rounds (摇号): docs/decisions/0014 ----------------------------------------------------
class RoundNotFound(NotFound):
    pass


class RegistrationNotFound(NotFound):
    """The caller has no registration in this round."""


class RegistrationClosed(Conflict):
    """Registering outside the round's window, or after the round was closed."""


class AlreadyRegisteredForRound(Conflict):
    """The application is already registered in this round."""


class NotQualified(Conflict):
    """The caller has no qualified application on the waiting list."""


class NoFittingLayout(Conflict):
    """None of the round's layouts is allowed for the household's size."""


class RegistrationWindowOpen(Conflict):
    """Closing a round before its registration window has ended (without force and a reason)."""


class AlreadyDrawn(IllegalTransition):
    """A second draw of a round."""


class RoundNotPublished(Conflict):
    """The ranks and the result are public only after publication; the commitment after commit."""


class RegistrationsSettling(Conflict):
    """A registration is still being written; committing now could leave it out."""


class RegistrationNumberTaken(Conflict):
    """The number handed out for a registration is held by another registration of the round
    (registering takes the next one; answered only if that keeps happening). Nothing was written."""


class RoundDataInconsistent(Conflict):
    """The round's stored data cannot make a valid commitment or draw (a repeated registration
    number, a registrant in a group the round does not have, ...): nothing was committed or drawn."""


class RoundFileMismatch(RoundDataInconsistent):
    """A stored commitment or result file does not match the SHA-256 the round recorded: never served."""


class UnitNotVacant(Conflict):
    """A unit of a new round is not vacant."""


# --- online unit selection (选房) and leases (租赁合同) ----------------------------------------------
class SelectionNotFound(NotFound):
    """Not a household of this round's selection (or the round has none)."""


class LeaseNotFound(NotFound):
    pass


class SelectionNotOpen(Conflict):
    """The round is not in selection (not started yet, or finished)."""


class NotYourTurn(Conflict):
    """The household's slot is not open now (not yet, or over) and it was not re-invited."""


class UnitTaken(Conflict):
    """Another household chose the unit first."""


class AlreadyChosen(Conflict):
    """The household has chosen a unit already."""


class UnitNotAvailable(Conflict):
    """The unit is not in the round, not vacant for a reason other than a choice, or does not fit."""


class LeaseAlreadyConfirmed(Conflict):
    pass


class ContractNotReady(Conflict):
    """The lease has no signed contract yet (still a draft)."""


# --- rent (issue 11): bills and payments ----------------------------------------------------------
class BillNotFound(NotFound):
    pass


class BillAlreadyPaid(Conflict):
    """The bill is paid already (by another payment, online or at the counter)."""


class BillCancelled(Conflict):
    """The bill was cancelled by staff: nothing to pay."""


class BillingRunNotFound(NotFound):
    pass


# --- real-name identity (实名, issue 9 §1) ------------------------------------------------------------
class RealNamePending(Forbidden):
    """The caller's registration waits for the real-name check: nothing bound to the ID number yet."""


class RealNameMismatch(Conflict):
    """The name and ID number do not belong together (the check or the verified token says otherwise)."""


class RealNameNotFound(Conflict):
    """The provider has no valid identity for this ID number (unknown, cancelled, deceased)."""


class FaceCheckFailed(Conflict):
    """The provider's face check did not pass; the registration stays pending."""


class FaceCheckNotDone(Conflict):
    """The face check has not been completed yet."""


class RealNameCheckNotFound(NotFound):
    """No pending real-name check of the caller with this id."""


class RealNameCheckUnavailable(ServiceUnavailable):
    """The real-name check provider could not be reached or answered garbage; safe to retry."""


class IdNumberInDispute(Conflict):
    """Another verified login holds this ID number: staff decide (identity conflict case)."""


class IdentityConflictNotFound(NotFound):
    pass


class IdentityConflictResolved(Conflict):
    """The identity conflict was resolved already."""

# --- failure answers (issue 9 §3): races and unknown routes ----------------------------------
class WriteConflict(Conflict):
    """A conditional write lost a race no repository named: nothing was written; re-read, retry."""


class RouteNotFound(NotFound):
    """No route has this path."""


class MethodNotAllowed(DomainError):
    """The path exists, but not with this method."""


class DraftExists(Conflict):
    """The household already has a live draft application of this kind."""


class GrantExists(Conflict):
    """The grantor already has a live grant to this delegate."""


# --- rent (issue 11 §2-3): payments and receipts ----------------------------------------------------
class PaymentNotFound(NotFound):
    pass


class PaymentAlreadyPaid(Conflict):
    """The order is paid (its bills are settled by it): it cannot be closed."""


class PaymentClosed(Conflict):
    """The order was closed (cancelled, or expired unpaid): a new order pays the bills."""


class BillsOfSeveralOwners(InvalidInput):
    """One payment settles the bills of one tenant."""


class NothingToPay(Conflict):
    """The bills add up to nothing (an exemption): no order is opened for 0 fen."""


class ReceiptNotReady(Conflict):
    """The payment is not paid (yet, or it was refunded): there is no voucher."""

# --- arrears and reconciliation (issue 11 §4): docs/decisions/0029 -----------------------------------
class ReconciliationNotFound(NotFound):
    pass


class ReconciliationRunning(IllegalTransition):
    """The reconciliation of this provider and day is running now: wait for it, then re-run."""


class StatementNotReady(Conflict):
    """The provider's statement for a day exists only after 10:00 (China time) the next day."""


class MismatchNotFound(NotFound):
    pass


class MismatchAlreadyResolved(IllegalTransition):
    pass


# --- the annual review, renewal and move-out (issue 12) ----------------------------------------------
class ReviewNotFound(NotFound):
    pass


# --- renewal (续签, issue 12 §2): docs/decisions/0033 --------------------------------------------------
class RenewalNotFound(NotFound):
    """The lease has no renewal (none applied for)."""


class RenewalExists(Conflict):
    """The lease has a live renewal already (or was renewed): one renewal per lease."""


class RenewalOutsideWindow(Conflict):
    """Today is not within the renewal window (the city's months before the lease ends)."""


class LeaseNotRenewable(Conflict):
    """The lease is not in force (a draft not confirmed yet, or ended)."""


class RenewalRefused(Conflict):
    """The latest review's outcome is must-leave: the lease is not renewed (the reasons are on the renewal)."""


class RenewalNotApproved(Conflict):
    """The renewal is still waiting for its review: there is no new lease to confirm yet."""


class RenewalClosed(Conflict):
    """The renewal is over (renewed, or cancelled): nothing more to do with it."""


class MoveOutNotFound(NotFound):
    """No move-out (退租, docs/decisions/0030) with this id, or none of this lease."""


class LeaseNotActive(Conflict):
    """The lease is not confirmed (a draft, or ended already): there is nothing to move out of."""


class MoveOutExists(Conflict):
    """The lease has an open move-out already (cancel it, or go on with it)."""


class PaymentInProgress(Conflict):
    """A payment order of the lease's bills is open at a provider: finish or cancel it first."""


class MoveOutNotCancellable(Conflict):
    """The unit was inspected already: the move-out goes on to its settlement."""


class MoveOutAlreadySettled(Conflict):
    """The move-out's final bill and deposit were settled already."""


class RefundPending(Conflict):
    """The deposit's refund is not done yet (the provider's, or the counter's): the move-out cannot complete."""


# --- the annual review (年审, issue 12 §1): docs/decisions/0031 -------------------------------------------
class ReviewAlreadyAnswered(IllegalTransition):
    """The household answered this review already (or the departments are answering it)."""


class ReviewDeadlinePassed(Conflict):
    """The review's deadline has passed: the household answers at the counter (staff), not in the app."""


class ReviewAlreadyDecided(IllegalTransition):
    """Staff confirmed this review's outcome already."""


class ReviewNotRecommended(IllegalTransition):
    """The review has no recommendation to confirm yet (still open or verifying)."""


class OutcomeNeeded(InvalidInput):
    """A manual recommendation (or a change of outcome) needs the outcome staff choose and a reason."""


class ReviewConsentNotNeeded(NotFound):
    """The caller is not an adult member of the reviewed household, or the review takes no consent now."""


class ReviewNotObjectionable(Conflict):
    """An objection (复核) is filed once, against a decided outcome."""


# --- review campaigns (年审批次, issue 12 §1) ------------------------------------------------------------
class ReviewCampaignNotFound(NotFound):
    pass


class ReviewCampaignTermsDiffer(Conflict):
    """The campaign was opened before with another deadline or notice schedule (its reviews carry them)."""


# --- holiday calendars (法定节假日安排, issue 13; docs/decisions/0035) ----------------------------------
class HolidayCalendarInvalid(InvalidInput):
    """A year's holidays or make-up working days break a rule (the message says which date and why)."""


# --- the service desk (投诉建议、报修), issue 13: docs/decisions/0034 ------------------------------------
class TicketNotFound(NotFound):
    """No ticket with this id (or not one the caller may see)."""


class TicketClosed(IllegalTransition):
    """The ticket is closed: no reply or change until it is reopened (within the city's days)."""


class TicketNotRateable(Conflict):
    """Only a closed ticket is rated."""


class TicketAlreadyRated(Conflict):
    """The ticket was rated once already."""


class TicketReopenExpired(Conflict):
    """The reopening window after the resolution (the city's days) has passed: file a new ticket."""


class TicketContactNotAllowed(Conflict):
    """The citizen asked not to be contacted: there is no contact to reveal."""


class TicketsRateLimited(DomainError):
    """Too many tickets from one person in one minute (the city's per-user limit)."""


# --- statistics (统计, issue 14 §2) ------------------------------------------------------------------------
class StatsRecountNotFound(NotFound):
    pass


# --- personal data over time (PIPL, docs/decisions/0040) -------------------------------------------------
class AccountClosed(Forbidden):
    """The citizen closed this account: none of its tokens acts any more."""


class AccountInUse(Conflict):
    """An account with an application in progress or a lease not ended cannot be closed yet."""


class ConsentWithdrawn(Conflict):
    """A member withdrew their consent: the departments are not asked about the household."""


class ConsentNotGiven(Conflict):
    """Only a consent that was given can be withdrawn."""


# --- imports (数据导入, issue 14 §1): docs/decisions/0036 ----------------------------------------------
class ImportNotFound(NotFound):
    pass


class ImportBadHeader(InvalidInput):
    """The file's header lacks columns the city's mapping requires (or the file is empty)."""


class ImportUnreadable(InvalidInput):
    """The file is not what its format says (an XLSX that is no workbook)."""


class ImportNotUploaded(Conflict):
    """The import's file has not been uploaded yet (POST it with the form first)."""


class ImportDryRunRequired(IllegalTransition):
    """The real run starts after a finished dry run (its report read)."""


class ImportRunning(IllegalTransition):
    """The import's dry run or real run is under way: wait for it to finish."""


class ImportAlreadyApplied(IllegalTransition):
    """This import ran for real already; a corrected file is a new import."""


class ExportNotFound(NotFound):
    pass


class ImportReportNotReady(Conflict):
    """No run of this import has finished yet: there is no report to download."""

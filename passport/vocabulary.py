"""The words of the domain, in one place: sections, purposes, roles, actions, reasons."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Section(StrEnum):
    PROFILE = "profile"
    STORY = "story"
    RISK = "risk"
    MEDICATION = "medication"
    WORKERS = "workers"
    PREFERENCES = "preferences"


ALL_SECTIONS: tuple[Section, ...] = tuple(Section)
EMERGENCY_SECTIONS: tuple[Section, ...] = (Section.MEDICATION, Section.RISK, Section.WORKERS)


class Purpose(StrEnum):
    DIRECT_SUPPORT = "direct_support"
    REFERRAL = "referral"
    MDT = "mdt"
    EMERGENCY = "emergency"


GRANTABLE_PURPOSES = (Purpose.DIRECT_SUPPORT, Purpose.REFERRAL, Purpose.MDT)


class Role(StrEnum):
    CASEWORKER = "caseworker"
    MDT_CHAIR = "mdt_chair"
    DPO = "dpo"
    ADMIN = "admin"


# Separation of duties: an account reads records or oversees those who do, never both.
READING_ROLES: frozenset[Role] = frozenset({Role.CASEWORKER, Role.MDT_CHAIR})
OVERSIGHT_ROLES: frozenset[Role] = frozenset({Role.DPO, Role.ADMIN})


def mixes_duties(roles: Iterable[str]) -> bool:
    """True if these roles (names or `Role`s: a `Role` equals its name) hold both a reading
    and an oversight role."""
    held = {str(r) for r in roles}
    return bool(held & READING_ROLES) and bool(held & OVERSIGHT_ROLES)


class AgencyKind(StrEnum):
    HOUSING = "housing"
    HEALTH = "health"
    MENTAL_HEALTH = "mental_health"
    SUBSTANCE_USE = "substance_use"
    PROBATION = "probation"
    POLICE = "police"
    SUPPORTED_ACCOMMODATION = "supported_accommodation"
    VOLUNTARY = "voluntary"
    OTHER = "other"


class ActorKind(StrEnum):
    PERSON = "person"
    STAFF = "staff"
    SYSTEM = "system"
    # Someone the person chose (or a DPO approved) to act for them: their own account.
    REPRESENTATIVE = "representative"


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"
    ERROR = "error"


class BasisKind(StrEnum):
    SELF = "self"
    GRANT = "grant"
    EMERGENCY = "emergency"
    CONTRIBUTOR = "contributor"
    ROLE = "role"
    # A data protection officer answering the person's subject access request (rights).
    SUBJECT_ACCESS = "subject_access"
    # A representative acting for the person (passport.representatives).
    REPRESENTATIVE = "representative"


class Reason(StrEnum):
    NO_GRANT = "no-grant"
    GRANT_EXPIRED = "grant-expired"
    GRANT_REVOKED = "grant-revoked"
    GRANT_PENDING = "grant-pending"
    WRONG_PURPOSE = "wrong-purpose"
    NOT_CONTRIBUTOR = "not-contributor"
    NOT_PERSON = "not-person"
    EMERGENCY_EXPIRED = "emergency-expired"
    ROLE = "role"
    NOT_FOUND = "not-found"
    BAD_CREDENTIALS = "bad-credentials"
    BAD_SECOND_FACTOR = "bad-second-factor"
    ERASED = "erased"
    CODE_REUSED = "code-reused"
    REFRESH_TOKEN_REUSED = "refresh-token-reused"  # noqa: S105 - a reason name
    # The circle around the person (v1.1).
    SETUP_CODE_INVALID = "setup-code-invalid"
    OUTSIDE_DELEGATION = "outside-delegation"
    RECORDER_AS_GRANTEE = "recorder-as-grantee"
    OWN_EMERGENCY = "own-emergency"
    NOT_FORUM_MEMBER = "not-forum-member"
    # An account made before separation of duties that holds reading and oversight roles.
    MIXED_DUTIES = "mixed-duties"
    # A change made from a revision that someone else has replaced since (If-Match, pages).
    STALE_REVISION = "stale-revision"
    ACCOUNT_DISABLED = "account-disabled"  # a disabled staff account tried to sign in
    OWN_ACCOUNT = "own-account"  # an admin tried to disable their own account
    # A dispute answered by someone outside the agency that wrote the disputed entry.
    NOT_AUTHOR_AGENCY = "not-author-agency"
    # Data-protection rights (rights): a subject access pack asked for by someone other than
    # the DPO who recorded the request; an agency DPO outside their agency's accesses; an
    # erasure decided by anyone but a scheme-wide DPO.
    NOT_REQUESTER = "not-requester"
    OUTSIDE_AGENCY = "outside-agency"
    NOT_SCHEME_WIDE = "not-scheme-wide"
    # Representatives (API.md v1.1): not someone this account represents (or no longer);
    # a legal representative a DPO has not approved (or refused); a power `help` or `view`
    # does not hold; a DPO reviewing a representative they recorded.
    NOT_REPRESENTED = "not-represented"
    REPRESENTATIVE_NOT_APPROVED = "representative-not-approved"
    REPRESENTATIVE_POWER = "representative-power"
    OWN_RECORDING = "own-recording"


class Action(StrEnum):
    AUTH_LOGIN = "auth.login"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_TOKEN_ISSUED = "auth.token_issued"  # noqa: S105 - an action name
    AUTH_TOKEN_REFRESHED = "auth.token_refreshed"  # noqa: S105 - an action name
    AUTH_TOKEN_REVOKED = "auth.token_revoked"  # noqa: S105 - an action name
    AUTH_TOKEN_FAILED = "auth.token_failed"  # noqa: S105 - an action name
    AUTH_CLIENT_APPROVED = "auth.client_approved"
    AUTH_LOGOUT = "auth.logout"
    AUTH_TOTP_ENABLED = "auth.totp_enabled"
    AUTH_SETUP_CODE_ISSUED = "auth.setup_code_issued"
    AUTH_SETUP = "auth.setup"  # a person chose their passphrase with a set-up code
    AUTH_SETUP_FAILED = "auth.setup_failed"
    PERSON_CREATE = "person.create"
    PERSON_LIST = "person.list"
    PERSON_EMERGENCY_SEARCH = "person.emergency_search"
    RECORD_VIEW = "record.view"
    RECORD_HISTORY = "record.history"
    RECORD_BRIEF = "record.brief"
    RECORD_WRITE = "record.write"
    CONSENT_GRANT = "consent.grant"
    CONSENT_REVOKE = "consent.revoke"
    CONSENT_LIST = "consent.list"
    CONSENT_CONFIRM = "consent.confirm"
    CONSENT_WHO_CAN_SEE = "consent.who_can_see"
    CONTRIBUTOR_ADD = "contributor.add"
    CONTRIBUTOR_REMOVE = "contributor.remove"
    EMERGENCY_OPEN = "emergency.open"
    EMERGENCY_REVIEW = "emergency.review"
    MDT_AGENDA_ADD = "mdt.agenda_add"
    MDT_SUMMARY = "mdt.summary"
    AUDIT_QUERY = "audit.query"
    AUDIT_EXPORT = "audit.export"
    AUDIT_VERIFY = "audit.verify"
    PERSON_ERASE = "person.erase"
    KEYS_ROTATE = "keys.rotate"
    ADMIN_AGENCY_ADD = "admin.agency_add"
    ADMIN_STAFF_ADD = "admin.staff_add"
    # Disabling also revokes the account's tokens and ends its sessions; enabling undoes
    # only the disabling (the tokens stay revoked, the sessions ended).
    ADMIN_STAFF_DISABLE = "admin.staff_disable"
    ADMIN_STAFF_ENABLE = "admin.staff_enable"
    ADMIN_CLIENT_ADD = "admin.client_add"
    # The person says an entry is wrong (and may restrict it); the author's agency answers.
    RECORD_DISPUTE = "record.dispute"
    RECORD_DISPUTE_ANSWER = "record.dispute_answer"
    # Data-protection rights (passport.rights).
    SUBJECT_ACCESS = "record.subject_access"  # a DPO's (or the person's) subject access pack
    SUBJECT_ACCESS_REQUEST = "rights.subject_access_request"
    SUBJECT_ACCESS_ANSWERED = "rights.subject_access_answered"
    ERASURE_REQUEST = "rights.erasure_request"
    ERASURE_DECISION = "rights.erasure_decision"
    RETENTION_REPORT = "rights.retention_report"
    REPRESENTATIVE_ADD = "representative.add"
    REPRESENTATIVE_REMOVE = "representative.remove"
    REPRESENTATIVE_LIST = "representative.list"
    REPRESENTATIVE_REVIEW = "representative.review"


class RepresentativeAccess(StrEnum):
    """What a representative the person appointed may do: `view` reads the whole passport;
    `help` also writes the story and "what works", and manages sharing."""

    VIEW = "view"
    HELP = "help"


class LegalBasis(StrEnum):
    """Why a legal representative may act: lasting power of attorney, a deputy appointed by
    the Court of Protection, an appointee for benefits."""

    LPA = "lpa"
    DEPUTY = "deputy"
    APPOINTEE = "appointee"


class Power(StrEnum):
    """What acting as the person means, one power at a time (`consent.may_act_as_person`).
    The person holds them all; a representative only some, and never `appoint` or `erase`."""

    READ = "read"  # read the whole passport
    WRITE = "write"  # write the story and "what works" (WRITABLE_BY_HELPER)
    SHARE = "share"  # record, stop, list and confirm sharing; see who can see
    APPOINT = "appoint"  # appoint or remove representatives
    ERASE = "erase"  # ask for the passport to be erased


WRITABLE_BY_HELPER: tuple[Section, ...] = (Section.STORY, Section.PREFERENCES)
POWERS_OF: dict[RepresentativeAccess, frozenset[Power]] = {
    RepresentativeAccess.VIEW: frozenset({Power.READ}),
    RepresentativeAccess.HELP: frozenset({Power.READ, Power.WRITE, Power.SHARE}),
}


class Scope(StrEnum):
    """What an agency application may do for the staff member who approved it (OAuth scopes).

    A ceiling only: the staff member's roles and the person's consent still decide every
    request, and consent is never carried in a token."""

    PASSPORT_READ = "passport.read"  # read records, briefs, history, caseload, consents
    PASSPORT_WRITE = "passport.write"  # write entries, register people, MDT work
    CONSENT_WRITE = "consent.write"  # record or withdraw consent with the person; break-glass
    AUDIT_READ = "audit.read"  # read and verify the access log
    AUDIT_REVIEW = "audit.review"  # review emergency accesses
    ADMIN = "admin"  # manage MDT forums and their members


SCOPES_FOR_ROLE: dict[Role, frozenset[Scope]] = {
    Role.CASEWORKER: frozenset({Scope.PASSPORT_READ, Scope.PASSPORT_WRITE, Scope.CONSENT_WRITE}),
    Role.MDT_CHAIR: frozenset({Scope.PASSPORT_READ, Scope.PASSPORT_WRITE}),
    Role.DPO: frozenset({Scope.AUDIT_READ, Scope.AUDIT_REVIEW}),
    Role.ADMIN: frozenset({Scope.ADMIN}),
}


class NotificationKind(StrEnum):
    """What a notification tells (API.md "Representatives and notifications")."""

    # To the person (and their representatives).
    NEW_AGENCY_LOOK = "new_agency_look"
    EMERGENCY_ACCESS = "emergency_access"
    EMERGENCY_REVIEWED = "emergency_reviewed"
    ASSISTED_GRANT = "assisted_grant"
    CONSENT_EXPIRING = "consent_expiring"
    CONSENT_ENDED = "consent_ended"
    REPRESENTATIVE_ADDED = "representative_added"
    SETUP_CODE_ISSUED = "setup_code_issued"
    # To staff.
    ACTION_ASSIGNED = "action_assigned"
    ACTION_OVERDUE = "action_overdue"
    CASELOAD_EXPIRING = "caseload_expiring"  # the weekly digest
    # To the person, about their data-protection rights (passport.rights).
    SUBJECT_ACCESS = "subject_access"  # a DPO made a copy of the passport for their request
    ERASURE_REFUSED = "erasure_refused"  # a DPO refused their erasure request (with why)


class NotifyChannel(StrEnum):
    """How a person chose to be told, besides the inbox, which is always used."""

    INBOX = "inbox"  # the inbox only
    SMS = "sms"
    EMAIL = "email"
    LETTER = "letter"  # posted, care of their worker's address

"""The words of the domain, in one place: sections, purposes, roles, actions, reasons."""

from __future__ import annotations

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


class Reason(StrEnum):
    NO_GRANT = "no-grant"
    GRANT_EXPIRED = "grant-expired"
    GRANT_REVOKED = "grant-revoked"
    GRANT_PENDING = "grant-pending"
    WRONG_PURPOSE = "wrong-purpose"
    NOT_CONTRIBUTOR = "not-contributor"
    EMERGENCY_EXPIRED = "emergency-expired"
    ROLE = "role"
    NOT_FOUND = "not-found"
    BAD_CREDENTIALS = "bad-credentials"
    ERASED = "erased"


class Action(StrEnum):
    AUTH_LOGIN = "auth.login"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_TOKEN_ISSUED = "auth.token_issued"  # noqa: S105 - an action name
    PERSON_CREATE = "person.create"
    PERSON_LIST = "person.list"
    RECORD_VIEW = "record.view"
    RECORD_HISTORY = "record.history"
    RECORD_BRIEF = "record.brief"
    RECORD_WRITE = "record.write"
    CONSENT_GRANT = "consent.grant"
    CONSENT_REVOKE = "consent.revoke"
    CONSENT_LIST = "consent.list"
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

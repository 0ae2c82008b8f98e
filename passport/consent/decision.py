"""THE decision point: may this actor read (or write) this section of this person's record
for this purpose, now?

Every read path calls `decide_sections` (or `decide`, one section, or `decide_people`, many
people); the only functions that return section content (`passport.records.content`) take the
`Decision`s they return, and a `Decision` cannot be made anywhere else (its constructor checks
a token private to this module). One call loads what the actor holds for the people asked
about — grants, contributor rows, forum memberships, emergency accesses — in one query of each
kind, and decides every section in memory by the same rule. Nothing is cached beyond the call:
a revocation takes effect on the very next request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Row, bindparam, or_, select

from .. import db
from ..audit.models import AuditEvent
from ..identity.actor import Actor
from ..identity.models import Person
from ..mdt.models import ForumMember
from ..representatives.models import Representation
from ..rights.models import SubjectAccessRequest
from ..vocabulary import (
    ALL_SECTIONS,
    EMERGENCY_SECTIONS,
    POWERS_OF,
    WRITABLE_BY_HELPER,
    Action,
    BasisKind,
    Power,
    Purpose,
    Reason,
    RepresentativeAccess,
    Role,
    Section,
    mixes_duties,
)
from .models import Confirmation, Contributor, EmergencyAccess, Grant, Revocation, confirmed_at

_ISSUER = object()


class GrantStatus:
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


# An assisted grant the person has not confirmed yet is active for at most this many days from
# its start, whatever its expires_on says (API.md v1.1): the same count of days as the shortest
# choice on the person's own pages ("1 month" = expires 30 days after the start).
UNCONFIRMED_MAX_DAYS = 30


class GrantTerms(Protocol):
    """What a grant's status depends on: a `Grant`, or the `HeldGrant` a decision reads."""

    @property
    def starts_on(self) -> date: ...
    @property
    def expires_on(self) -> date: ...
    @property
    def confirmed_at(self) -> datetime | None: ...
    @property
    def revocation(self) -> object | None: ...


def active_until(grant: GrantTerms) -> date:
    """The last day a grant can be active: its `expires_on`, or, while an assisted grant is
    unconfirmed, at most UNCONFIRMED_MAX_DAYS after `starts_on`. Confirming restores
    `expires_on`; nothing is stored, so the cap is decided here on every request."""
    if grant.confirmed_at is None:
        return min(grant.expires_on, grant.starts_on + timedelta(days=UNCONFIRMED_MAX_DAYS))
    return grant.expires_on


def grant_status(grant: GrantTerms, today: date) -> str:
    if grant.revocation is not None:
        return GrantStatus.REVOKED
    if today < grant.starts_on:
        return GrantStatus.PENDING
    if today > active_until(grant):
        return GrantStatus.EXPIRED
    return GrantStatus.ACTIVE


# When several grants could apply but none allows, the refusal names the nearest miss.
_REFUSAL_FOR_STATUS = {
    GrantStatus.PENDING: Reason.GRANT_PENDING,
    GrantStatus.REVOKED: Reason.GRANT_REVOKED,
    GrantStatus.EXPIRED: Reason.GRANT_EXPIRED,
}
_REFUSAL_PRIORITY = [
    Reason.WRONG_PURPOSE,
    Reason.GRANT_PENDING,
    Reason.GRANT_REVOKED,
    Reason.GRANT_EXPIRED,
    Reason.EMERGENCY_EXPIRED,
    Reason.NO_GRANT,
]


@dataclass(frozen=True)
class Decision:
    actor_id: str
    person_id: str
    section: Section
    purpose: Purpose | None
    allowed: bool
    basis_kind: BasisKind | None = None
    basis_id: str | None = None
    reason: Reason | None = None
    write: bool = False
    _issuer: object = field(default=None, repr=False, compare=False)
    # Allows the person's identity as any grantee sees it (preferred name and date of
    # birth) and nothing else: no section content, never the legal name (emergency search).
    identity_only: bool = False
    # Allowed by a grant: the last day that grant lets this reader read, and whether the
    # person confirmed it (an assisted grant not yet confirmed ends sooner). The brief says
    # when sharing ends from these, without reading the grants again.
    grant_until: date | None = None
    grant_confirmed: bool = True

    def __post_init__(self) -> None:
        if self._issuer is not _ISSUER:
            raise TypeError("a Decision can only be made by passport.consent.decide")

    @property
    def basis(self) -> dict[str, Any] | None:
        if not self.allowed or self.basis_kind is None:
            return None
        return {"kind": self.basis_kind.value, "id": self.basis_id}


def _allow(
    actor: Actor,
    person_id: str,
    section: Section,
    purpose: Purpose | None,
    kind: BasisKind,
    basis_id: str | None,
    write: bool = False,
) -> Decision:
    return Decision(
        actor.id, person_id, section, purpose, True, kind, basis_id, None, write, _ISSUER
    )


def _deny(
    actor: Actor,
    person_id: str,
    section: Section,
    purpose: Purpose | None,
    reason: Reason,
    write: bool = False,
) -> Decision:
    return Decision(
        actor.id, person_id, section, purpose, False, None, None, reason, write, _ISSUER
    )


def decide(
    actor: Actor,
    person_id: str,
    section: Section,
    purpose: Purpose | None,
    now: datetime | None = None,
    forum_id: str | None = None,
) -> Decision:
    """Decide one read (see `decide_sections`)."""
    [decision] = decide_sections(actor, person_id, (section,), purpose, now, forum_id)
    return decision


def decide_sections(
    actor: Actor,
    person_id: str,
    sections: Iterable[Section],
    purpose: Purpose | None,
    now: datetime | None = None,
    forum_id: str | None = None,
) -> list[Decision]:
    """Decide a read of each section, in order: one pass, loading what the actor holds for
    this person once. Deny by default; every refusal carries its reason.

    `forum_id` narrows an MDT read to grants made to that forum: a meeting's summary is built
    from each person's grant to *this* MDT, not to another one the reader also sits on."""
    return decide_people(actor, {person_id: purpose}, sections, now, forum_id)[person_id]


def decide_people(
    actor: Actor,
    purposes: Mapping[str, Purpose | None],
    sections: Iterable[Section],
    now: datetime | None = None,
    forum_id: str | None = None,
) -> dict[str, list[Decision]]:
    """Decide the sections for many people at once (a caseload, a meeting's agenda), each
    under its own purpose: the same rule as one person, with a number of queries that does
    not grow with the people. Read fresh on every call: nothing outlives it."""
    now = now or db.utcnow()
    wanted = tuple(sections)
    if actor.is_representative:
        return _decide_for_representative(actor, purposes, wanted)
    held = _load_holdings(actor, purposes, wanted)
    return {
        person_id: [
            _decide_held(actor, person_id, section, purpose, now, forum_id, held.get(person_id))
            for section in wanted
        ]
        for person_id, purpose in purposes.items()
    }


@dataclass(frozen=True, slots=True)
class HeldGrant:
    """A grant as the decision reads it: its terms, from one Core row (no ORM objects on
    the path every read takes). `revocation` is the revocation's id, if it was revoked."""

    id: str
    person_id: str
    grantee_type: str
    grantee_id: str
    sections: list[str]
    purpose: str
    starts_on: date
    expires_on: date
    confirmed_at: datetime | None
    revocation: str | None


@dataclass(frozen=True, slots=True)
class HeldContribution:
    id: str
    person_id: str
    sections: list[str]


@dataclass
class _Holdings:
    """What one actor holds for one person at this moment: loaded once per call of
    `decide_people`, never kept beyond it."""

    contributors: list[HeldContribution] = field(default_factory=list)
    grants: list[HeldGrant] = field(default_factory=list)
    emergency: list[EmergencyAccess] = field(default_factory=list)


def _load_holdings(
    actor: Actor, purposes: Mapping[str, Purpose | None], sections: tuple[Section, ...]
) -> dict[str, _Holdings]:
    """One query for each kind of basis the decisions can need, for all the people."""
    held: dict[str, _Holdings] = {}
    if not purposes or not sections or not actor.is_staff or not _covered_by_role(actor):
        return held
    wanted = set(purposes.values())

    def people(*kinds: Purpose | None) -> list[str]:
        return [pid for pid, p in purposes.items() if p in kinds]

    contributor_people = people(Purpose.DIRECT_SUPPORT)
    if contributor_people:
        for contribution in db.session.execute(
            _CONTRIBUTIONS, {"people": contributor_people, "staff_id": actor.id}
        ):
            held.setdefault(contribution.person_id, _Holdings()).contributors.append(
                HeldContribution(contribution.id, contribution.person_id, contribution.sections)
            )
    grant_people = [pid for pid, p in purposes.items() if p is not Purpose.EMERGENCY]
    if grant_people:
        for terms in db.session.execute(
            _GRANTS_OF_PEOPLE, {"people": grant_people, **grantee_params(actor)}
        ):
            held.setdefault(terms.person_id, _Holdings()).grants.append(_held_grant(terms))
    emergency_people = people(Purpose.EMERGENCY)
    if emergency_people and Purpose.EMERGENCY in wanted and set(EMERGENCY_SECTIONS) & set(sections):
        for access in db.session.execute(
            select(EmergencyAccess)
            .where(
                EmergencyAccess.person_id.in_(emergency_people),
                EmergencyAccess.staff_id == actor.id,
            )
            .order_by(EmergencyAccess.expires_at.desc(), EmergencyAccess.id)
        ).scalars():
            held.setdefault(access.person_id, _Holdings()).emergency.append(access)
    return held


def _held_grant(row: Row[*tuple[Any, ...]]) -> HeldGrant:
    return HeldGrant(
        row.id,
        row.person_id,
        row.grantee_type,
        row.grantee_id,
        row.sections,
        row.purpose,
        row.starts_on,
        row.expires_on,
        confirmed_at(row.obtained_method, row.created_at, row.confirmation_at),
        row.revocation,
    )


def _decide_held(
    actor: Actor,
    person_id: str,
    section: Section,
    purpose: Purpose | None,
    now: datetime,
    forum_id: str | None,
    held: _Holdings | None,
) -> Decision:
    """The rule for one section, from what was loaded: no query here."""
    if actor.is_person:
        if actor.id == person_id:
            return _allow(actor, person_id, section, purpose, BasisKind.SELF, actor.id)
        return _deny(actor, person_id, section, purpose, Reason.NO_GRANT)
    if not actor.is_staff or not _covered_by_role(actor):
        # DPOs and admins read no record content, whatever grants exist.
        return _deny(actor, person_id, section, purpose, _role_refusal(actor))
    held = held or _Holdings()

    if purpose is Purpose.EMERGENCY:
        return _decide_emergency(actor, person_id, section, now, held.emergency)

    if purpose is Purpose.DIRECT_SUPPORT:
        contributor = next((c for c in held.contributors if section.value in c.sections), None)
        if contributor is not None:
            return _allow(actor, person_id, section, purpose, BasisKind.CONTRIBUTOR, contributor.id)

    reasons: set[Reason] = set()
    today = now.date()
    for grant in held.grants:
        if forum_id is not None and (grant.grantee_type, grant.grantee_id) != ("mdt", forum_id):
            continue
        if section.value not in grant.sections:
            continue
        status = grant_status(grant, today)
        if status == GrantStatus.ACTIVE:
            if grant.purpose == (purpose.value if purpose else None):
                return Decision(
                    actor.id,
                    person_id,
                    section,
                    purpose,
                    True,
                    BasisKind.GRANT,
                    grant.id,
                    _issuer=_ISSUER,
                    grant_until=active_until(grant),
                    grant_confirmed=grant.confirmed_at is not None,
                )
            reasons.add(Reason.WRONG_PURPOSE)
        else:
            reasons.add(_REFUSAL_FOR_STATUS[status])
    reason = next((r for r in _REFUSAL_PRIORITY if r in reasons), None)
    return _deny(actor, person_id, section, purpose, reason or Reason.NO_GRANT)


def decide_write(actor: Actor, person_id: str, section: Section) -> Decision:
    """Writing: the person (any section) or a contributor (their delegated sections).

    Agency views are read-only: a read grant never allows a write."""
    [decision] = decide_writes(actor, person_id, (section,))
    return decision


def decide_writes(actor: Actor, person_id: str, sections: Iterable[Section]) -> list[Decision]:
    """`decide_write` for each section, in order: a contributor's rows are read once."""
    wanted = tuple(sections)
    if actor.is_person and actor.id == person_id:
        return [
            _allow(actor, person_id, s, None, BasisKind.SELF, actor.id, write=True) for s in wanted
        ]
    if actor.is_representative:
        return [_decide_representative_write(actor, person_id, s) for s in wanted]
    contributions: list[HeldContribution] = []
    if actor.is_staff and _covered_by_role(actor):
        contributions = [
            HeldContribution(row.id, row.person_id, row.sections)
            for row in db.session.execute(
                _CONTRIBUTIONS, {"people": [person_id], "staff_id": actor.id}
            )
        ]
    reason = Reason.MIXED_DUTIES if mixes_duties(actor.roles) else Reason.NOT_CONTRIBUTOR
    decisions = []
    for section in wanted:
        contributor = next((c for c in contributions if section.value in c.sections), None)
        if contributor is None:
            decisions.append(_deny(actor, person_id, section, None, reason, write=True))
        else:
            decisions.append(
                _allow(actor, person_id, section, None, BasisKind.CONTRIBUTOR, contributor.id, True)
            )
    return decisions


def decide_identity(actor: Actor, person_id: str) -> Decision:
    """Emergency search: a caseworker who gave a person's exact name and date of birth may
    learn who matches, by preferred name and date of birth only, so break-glass can start
    from a name — even for someone who has shared nothing. Never any section content."""
    if not actor.has_role(Role.CASEWORKER) or not _covered_by_role(actor):
        return _deny(actor, person_id, Section.PROFILE, Purpose.EMERGENCY, _role_refusal(actor))
    return Decision(
        actor.id,
        person_id,
        Section.PROFILE,
        Purpose.EMERGENCY,
        True,
        BasisKind.ROLE,
        None,
        None,
        False,
        _ISSUER,
        identity_only=True,
    )


def _covered_by_role(actor: Actor) -> bool:
    """Only caseworkers and MDT chairs/members are ever grantees; DPOs and admins read nothing.

    Separation of duties, in depth: an account that holds a reading role and an oversight
    role (made before the rule refused such accounts) reads nothing either."""
    if mixes_duties(actor.roles):
        return False
    return actor.has_role(Role.CASEWORKER) or actor.has_role(Role.MDT_CHAIR)


def _role_refusal(actor: Actor) -> Reason:
    return Reason.MIXED_DUTIES if mixes_duties(actor.roles) else Reason.ROLE


def forum_ids_of(actor: Actor) -> list[str]:
    return list(
        db.session.execute(
            select(ForumMember.forum_id).where(ForumMember.staff_id == actor.id)
        ).scalars()
    )


# Grants whose grantee includes an actor: them by name, their agency (caseworkers), or an MDT
# forum they sit on (read in the same statement). Built once; `grantee_params` fills it in.
GRANTEE_INCLUDES_ACTOR = or_(
    (Grant.grantee_type == "staff") & (Grant.grantee_id == bindparam("staff_id")),
    (Grant.grantee_type == "agency") & (Grant.grantee_id == bindparam("agency_id")),
    (Grant.grantee_type == "mdt")
    & Grant.grantee_id.in_(
        select(ForumMember.forum_id).where(ForumMember.staff_id == bindparam("staff_id"))
    ),
)
GRANTS_FOR_ACTOR = select(Grant).where(GRANTEE_INCLUDES_ACTOR)

# The same grants as rows of their terms, for the decision: Core columns only, so no ORM
# object is built on the path every read takes.
_grants, _revocations, _confirmations = (
    Grant.__table__,
    Revocation.__table__,
    Confirmation.__table__,
)
_GRANTS_OF_PEOPLE = (
    select(
        *(
            _grants.c[name]
            for name in (
                "id",
                "person_id",
                "grantee_type",
                "grantee_id",
                "sections",
                "purpose",
                "starts_on",
                "expires_on",
                "obtained_method",
                "created_at",
            )
        ),
        _revocations.c.id.label("revocation"),
        _confirmations.c.confirmed_at.label("confirmation_at"),
    )
    .select_from(
        _grants.outerjoin(_revocations, _revocations.c.grant_id == _grants.c.id).outerjoin(
            _confirmations, _confirmations.c.grant_id == _grants.c.id
        )
    )
    .where(GRANTEE_INCLUDES_ACTOR, _grants.c.person_id.in_(bindparam("people", expanding=True)))
    .order_by(_grants.c.created_at, _grants.c.id)
)
_contributors = Contributor.__table__
_CONTRIBUTIONS = (
    select(_contributors.c.id, _contributors.c.person_id, _contributors.c.sections)
    .where(
        _contributors.c.person_id.in_(bindparam("people", expanding=True)),
        _contributors.c.staff_id == bindparam("staff_id"),
        _contributors.c.removed_at.is_(None),
    )
    .order_by(_contributors.c.added_at, _contributors.c.id)
)


def grantee_params(actor: Actor) -> dict[str, str | None]:
    """The parameters of `GRANTS_FOR_ACTOR` for this actor: an agency's grants reach its
    caseworkers only (NULL matches no grant)."""
    reads_for_agency = actor.has_role(Role.CASEWORKER) and actor.agency_id
    return {"staff_id": actor.id, "agency_id": actor.agency_id if reads_for_agency else None}


def _decide_emergency(
    actor: Actor,
    person_id: str,
    section: Section,
    now: datetime,
    accesses: list[EmergencyAccess],
) -> Decision:
    """`accesses`: this actor's break-glass accesses to this person, latest expiry first."""
    purpose = Purpose.EMERGENCY
    if section not in EMERGENCY_SECTIONS:
        return _deny(actor, person_id, section, purpose, Reason.NO_GRANT)
    live = next((a for a in accesses if a.expires_at > now), None)
    if live is not None:
        return _allow(actor, person_id, section, purpose, BasisKind.EMERGENCY, live.id)
    reason = Reason.EMERGENCY_EXPIRED if accesses else Reason.NO_GRANT
    return _deny(actor, person_id, section, purpose, reason)


# -- subject access (passport.rights) ---------------------------------------------------------
# The one place a data protection officer reads content: the pack answering a person's subject
# access request, for the DPO who recorded that request. An agency DPO (not scheme-wide) may
# answer only for a person their own agency's staff have read or written (an allowed event of
# one of these actions in the access log); a scheme-wide DPO for anyone.
AGENCY_ACCESS_ACTIONS: tuple[Action, ...] = (
    Action.RECORD_VIEW,
    Action.RECORD_HISTORY,
    Action.RECORD_BRIEF,
    Action.RECORD_WRITE,
    Action.MDT_SUMMARY,
    Action.EMERGENCY_OPEN,
)


def subject_access_refusal(actor: Actor, person_id: str) -> Reason | None:
    """Why this actor may not answer a subject access request for this person (None: they
    may). Read from the chained log: the caller integrates what is pending first."""
    if not actor.has_role(Role.DPO):
        return Reason.ROLE
    if mixes_duties(actor.roles):
        return Reason.MIXED_DUTIES
    if actor.scheme_wide:
        return None
    accessed = db.session.execute(
        select(AuditEvent.seq)
        .where(
            AuditEvent.person_id == person_id,
            AuditEvent.actor_agency_id == actor.agency_id,
            AuditEvent.outcome == "allowed",
            AuditEvent.action.in_([a.value for a in AGENCY_ACCESS_ACTIONS]),
        )
        .limit(1)
    ).first()
    return None if accessed is not None else Reason.OUTSIDE_AGENCY


def decide_subject_access(actor: Actor, request_id: str) -> list[Decision]:
    """Every section of the record, for the subject access pack of this request: allowed
    (basis `subject_access`, the request's id) to the person it is about and to the DPO who
    recorded it while they still may answer for that person; refused to anyone else."""
    request = db.session.get(SubjectAccessRequest, request_id)
    person_id = request.person_id if request is not None else ""
    person = db.session.get(Person, person_id) if request is not None else None
    reason: Reason | None
    if request is None or person is None:
        reason = Reason.NOT_FOUND
    elif person.erased_at is not None:
        reason = Reason.ERASED
    elif actor.is_person:
        reason = None if actor.id == person_id else Reason.NOT_PERSON
    elif not actor.has_role(Role.DPO) or mixes_duties(actor.roles):
        reason = _role_refusal(actor)
    elif actor.id != request.dpo_id:
        reason = Reason.NOT_REQUESTER
    else:
        reason = subject_access_refusal(actor, person_id)
    if reason is None:
        return [
            _allow(actor, person_id, s, None, BasisKind.SUBJECT_ACCESS, request_id)
            for s in ALL_SECTIONS
        ]
    return [_deny(actor, person_id, s, None, reason) for s in ALL_SECTIONS]


# -- representatives (API.md v1.1) -----------------------------------------------------------
# A representative acts for the person through their own account. Whom they represent, and
# how, is read here on every call from the appointment rows: a representative the person
# removed is refused on the very next request, and a legal one acts only once a DPO approved.


class RepresentationStatus:
    ACTIVE = "active"  # may act now
    PENDING = "pending"  # a legal representative waiting for a DPO
    REFUSED = "refused"  # a legal representative a DPO refused
    REMOVED = "removed"  # stopped by the person (or a worker, for a legal one)


APPROVED = "approved"
REFUSED = "refused"


def representation_status(row: Representation) -> str:
    if row.ending is not None:
        return RepresentationStatus.REMOVED
    if row.legal_basis is not None:
        if row.review is None:
            return RepresentationStatus.PENDING
        if row.review.outcome != APPROVED:
            return RepresentationStatus.REFUSED
    return RepresentationStatus.ACTIVE


_REPRESENTATION_REFUSAL = {
    RepresentationStatus.PENDING: Reason.REPRESENTATIVE_NOT_APPROVED,
    RepresentationStatus.REFUSED: Reason.REPRESENTATIVE_NOT_APPROVED,
    RepresentationStatus.REMOVED: Reason.NOT_REPRESENTED,
}


def _representations(actor: Actor, person_ids: Iterable[str]) -> dict[str, list[Representation]]:
    """This account's appointments for these people (one query), newest first."""
    wanted = list(person_ids)
    found: dict[str, list[Representation]] = {}
    if not actor.is_representative or not wanted:
        return found
    rows = db.session.execute(
        select(Representation)
        .where(Representation.account_id == actor.id, Representation.person_id.in_(wanted))
        .order_by(Representation.created_at.desc(), Representation.id)
    )
    for row in rows.unique().scalars():
        found.setdefault(row.person_id, []).append(row)
    return found


def _standing(rows: list[Representation]) -> tuple[Representation | None, Reason]:
    """The live appointment (the fullest access if several), or the reason there is none."""
    live = [r for r in rows if representation_status(r) == RepresentationStatus.ACTIVE]
    if live:
        helping = [r for r in live if r.access == RepresentativeAccess.HELP.value]
        return (helping or live)[0], Reason.NOT_REPRESENTED
    reasons = {_REPRESENTATION_REFUSAL[representation_status(r)] for r in rows}
    if Reason.REPRESENTATIVE_NOT_APPROVED in reasons:
        return None, Reason.REPRESENTATIVE_NOT_APPROVED
    return None, Reason.NOT_REPRESENTED


def live_representation(actor: Actor, person_id: str) -> tuple[Representation | None, Reason]:
    """The appointment under which this representative acts for this person now, if any."""
    return _standing(_representations(actor, [person_id]).get(person_id, []))


def _decide_for_representative(
    actor: Actor, purposes: Mapping[str, Purpose | None], sections: tuple[Section, ...]
) -> dict[str, list[Decision]]:
    """A representative reads the whole passport of someone they represent now, as the
    person does (no purpose: agencies' purposes are not theirs), and nothing of anyone else."""
    held = _representations(actor, purposes)
    out: dict[str, list[Decision]] = {}
    for person_id, purpose in purposes.items():
        row, reason = _standing(held.get(person_id, []))
        decisions = []
        for section in sections:
            if row is None:
                decisions.append(_deny(actor, person_id, section, purpose, reason))
            elif purpose is not None:
                decisions.append(_deny(actor, person_id, section, purpose, Reason.WRONG_PURPOSE))
            else:
                decisions.append(
                    _allow(actor, person_id, section, None, BasisKind.REPRESENTATIVE, row.id)
                )
        out[person_id] = decisions
    return out


def _decide_representative_write(actor: Actor, person_id: str, section: Section) -> Decision:
    """`help` writes the story and "what works" for the person; `view` writes nothing."""
    row, reason = live_representation(actor, person_id)
    if row is None:
        return _deny(actor, person_id, section, None, reason, write=True)
    if Power.WRITE not in POWERS_OF[RepresentativeAccess(row.access)] or (
        section not in WRITABLE_BY_HELPER
    ):
        return _deny(actor, person_id, section, None, Reason.REPRESENTATIVE_POWER, write=True)
    return _allow(actor, person_id, section, None, BasisKind.REPRESENTATIVE, row.id, True)


@dataclass(frozen=True)
class ActingAs:
    """Whether an actor may use one of the person's own powers, and on what basis (for the
    log): the person themself (`self`), or a representative's live appointment."""

    allowed: bool
    basis_kind: BasisKind | None = None
    basis_id: str | None = None
    reason: Reason | None = None

    @property
    def basis(self) -> dict[str, Any] | None:
        if not self.allowed or self.basis_kind is None:
            return None
        return {"kind": self.basis_kind.value, "id": self.basis_id}


def acting_as_person(actor: Actor, person_id: str, power: Power) -> ActingAs:
    """May this actor do, for this person, what `power` names? The person may do all of it;
    a representative what their access holds (`POWERS_OF`): never appoint representatives
    or ask for erasure. Staff never act as the person. Read fresh on every call."""
    if actor.is_person:
        if actor.id == person_id:
            return ActingAs(True, BasisKind.SELF, actor.id)
        return ActingAs(False, reason=Reason.NOT_PERSON)
    if not actor.is_representative:
        return ActingAs(False, reason=Reason.NOT_PERSON)
    row, reason = live_representation(actor, person_id)
    if row is None:
        return ActingAs(False, reason=reason)
    if power not in POWERS_OF[RepresentativeAccess(row.access)]:
        return ActingAs(False, reason=Reason.REPRESENTATIVE_POWER)
    return ActingAs(True, BasisKind.REPRESENTATIVE, row.id)


def may_act_as_person(actor: Actor, person_id: str, power: Power) -> bool:
    """The predicate other parts call (erasure requests: `Power.ERASE`, which only the
    person holds). See `acting_as_person` for the basis to log."""
    return acting_as_person(actor, person_id, power).allowed

"""Grants and revocations, with their consent receipts.

Grants are never edited: narrowing is a revocation and a new grant. Status is computed when
read (`grant_status`), never by a batch job.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from .. import audit, db
from ..crypto import data_keys
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..identity.actor import Actor
from ..identity.models import Agency, Person, Staff
from ..mdt.models import Forum
from ..notifications import tell_person
from ..vocabulary import (
    Action,
    BasisKind,
    NotificationKind,
    Outcome,
    Power,
    Purpose,
    Reason,
    Role,
    Section,
)
from .decision import Decision, GrantStatus, acting_as_person, grant_status
from .models import Confirmation, Contributor, Grant, Revocation
from .wording import consent_sentence, digest

REFERRAL_MAX_DAYS = 90
ASSISTED_METHODS = ("verbal", "written", "interpreter")
RECEIPT_VERSION = "KI-CR-v1.1.0"
CONTROLLER = {
    "name": "The Passport scheme",
    "contact": "the scheme's data protection officer",
}
WITHDRAWAL = (
    "You can stop this at any time: on your passport's 'Who can see my information' page, "
    "or by asking any of your workers. It stops straight away."
)


@dataclass(frozen=True)
class Grantee:
    type: str
    id: str
    name: str


@dataclass(frozen=True)
class SharingEnd:
    """One agreement a reader is reading under, and the last day it lets them read."""

    sections: list[str]
    ends_on: date
    confirmed: bool


def sharing_ends(decisions: list[Decision]) -> list[SharingEnd]:
    """When the sharing behind these allowed decisions ends, soonest first: one line per
    grant (a contributor's own writing, the person's own view and emergency access have no
    grant; emergency access ends on its own clock, passport.consent.emergency)."""
    by_grant: dict[str, SharingEnd] = {}
    for decision in decisions:
        if not decision.allowed or decision.basis_kind is not BasisKind.GRANT:
            continue
        if decision.basis_id is None or decision.grant_until is None:
            continue
        end = by_grant.setdefault(
            decision.basis_id,
            SharingEnd([], decision.grant_until, decision.grant_confirmed),
        )
        end.sections.append(decision.section.value)
    return sorted(by_grant.values(), key=lambda e: e.ends_on)


def _person(person_id: str) -> Person:
    person = db.session.get(Person, person_id)
    if person is None or person.erased_at is not None:
        raise NotFound("there is no passport with that id")
    return person


def is_contributor(actor: Actor, person_id: str) -> bool:
    return actor.is_staff and (
        db.session.execute(
            select(Contributor.id).where(
                Contributor.person_id == person_id,
                Contributor.staff_id == actor.id,
                Contributor.removed_at.is_(None),
            )
        ).first()
        is not None
    )


def delegated_sections(actor: Actor, person_id: str) -> list[str]:
    """The sections this worker is a live contributor to: all they may read as a contributor,
    and so all they may record an assisted grant for."""
    if not actor.is_staff:
        return []
    rows = db.session.execute(
        select(Contributor.sections).where(
            Contributor.person_id == person_id,
            Contributor.staff_id == actor.id,
            Contributor.removed_at.is_(None),
        )
    ).scalars()
    return sorted({section for sections in rows for section in sections})


def may_record_assisted(actor: Actor, person_id: str) -> bool:
    """Whether the pages should offer this worker the assisted-consent form."""
    return actor.has_role(Role.CASEWORKER) and bool(delegated_sections(actor, person_id))


def _may_manage(actor: Actor, person_id: str) -> bool:
    return (
        (actor.is_person and actor.id == person_id)
        or (actor.has_role(Role.CASEWORKER) and is_contributor(actor, person_id))
        or (actor.is_representative and acting_as_person(actor, person_id, Power.SHARE).allowed)
    )


def _basis(actor: Actor, person_id: str) -> dict[str, Any]:
    """The basis a consent change is logged under: the person's own, a `help`
    representative's appointment, or a contributor's."""
    if actor.is_person:
        return {"kind": "self", "id": actor.id}
    if actor.is_representative:
        acting = acting_as_person(actor, person_id, Power.SHARE)
        return acting.basis or {"kind": BasisKind.REPRESENTATIVE.value, "id": None}
    return {"kind": "contributor", "id": actor.id}


def resolve_grantee(kind: str, grantee_id: str) -> Grantee:
    unknown = Invalid("there is no such grantee", {"grantee.id": ["Unknown grantee."]})
    if kind == "agency":
        agency = db.session.get(Agency, grantee_id)
        if agency is None:
            raise unknown
        return Grantee("agency", agency.id, agency.name)
    if kind == "staff":
        staff = db.session.get(Staff, grantee_id)
        if staff is None:
            raise unknown
        if not {Role.CASEWORKER.value, Role.MDT_CHAIR.value} & set(staff.roles):
            raise Invalid(
                "only caseworkers and MDT chairs can be given access",
                {"grantee.id": ["This worker's role does not read passports."]},
            )
        return Grantee("staff", staff.id, f"{staff.name} ({staff.agency.name})")
    if kind == "mdt":
        forum = db.session.get(Forum, grantee_id)
        if forum is None:
            raise unknown
        return Grantee("mdt", forum.id, forum.name)
    raise Invalid("grantee type must be agency, staff or mdt", {"grantee.type": ["Unknown type."]})


def grantable_workers(excluding: str | None = None) -> list[Staff]:
    """The workers a grant may name (caseworkers and MDT chairs), never `excluding`: the
    worker recording it. Names and agencies only, for the assisted-consent form."""
    rows = db.session.execute(select(Staff).order_by(Staff.name)).scalars()
    readers = {Role.CASEWORKER.value, Role.MDT_CHAIR.value}
    return [s for s in rows if s.id != excluding and readers & set(s.roles)]


def create_grant(
    actor: Actor,
    person_id: str,
    *,
    grantee_type: str,
    grantee_id: str,
    sections: list[str],
    purpose: str,
    expires_on: date,
    starts_on: date | None = None,
    method: str,
    notes: str | None = None,
) -> Grant:
    _person(person_id)
    if not _may_manage(actor, person_id):
        audit.record(
            actor=actor.as_event(),
            action=Action.CONSENT_GRANT,
            outcome=Outcome.DENIED,
            person_id=person_id,
            reason="not-contributor",
        )
        raise Forbidden(
            "only the person, or a worker they chose to help with their passport, can record "
            "who may see it"
        )
    errors: dict[str, list[str]] = {}
    if (actor.is_person or actor.is_representative) and method != "self":
        # A `help` representative records sharing as the person would, on their side.
        errors["obtained.method"] = ["When you record it yourself, the method is 'self'."]
    if actor.is_staff and method not in ASSISTED_METHODS:
        errors["obtained.method"] = [
            "A worker records assisted consent: verbal, written or interpreter."
        ]
    chosen = sorted(set(sections))
    if not chosen:
        errors["sections"] = ["Choose at least one section."]
    for name in chosen:
        if name not in {s.value for s in Section}:
            errors.setdefault("sections", []).append(f"Unknown section {name!r}.")
    try:
        purpose_value = Purpose(purpose)
    except ValueError:
        purpose_value = None
    if purpose_value is None or purpose_value is Purpose.EMERGENCY:
        errors["purpose"] = ["Must be direct_support, referral or mdt."]
    elif (purpose_value is Purpose.MDT) != (grantee_type == "mdt"):
        errors["purpose"] = ["The mdt purpose goes with an MDT grantee, and only with it."]
    today = db.utcnow().date()
    starts = starts_on or today
    if starts < today:
        errors["starts_on"] = ["Consent cannot start in the past."]
    if expires_on <= starts:
        errors["expires_on"] = ["Must be after the start date."]
    if expires_on < today:
        errors["expires_on"] = ["This date has passed: the grant would already be over."]
    if purpose_value is Purpose.REFERRAL and expires_on - starts > timedelta(
        days=REFERRAL_MAX_DAYS
    ):
        errors["expires_on"] = [f"A referral grant lasts at most {REFERRAL_MAX_DAYS} days."]
    if errors:
        raise Invalid("this grant cannot be recorded as it is: see errors", errors)
    if actor.is_staff:
        _refuse_outside_bounds(actor, person_id, chosen, grantee_type, grantee_id)
    grantee = resolve_grantee(grantee_type, grantee_id)
    assert purpose_value is not None

    wording = consent_sentence(grantee.name, chosen, purpose_value.value, starts, expires_on)
    grant = Grant(
        id=db.new_id(),
        person_id=person_id,
        grantee_type=grantee.type,
        grantee_id=grantee.id,
        sections=chosen,
        purpose=purpose_value.value,
        starts_on=starts,
        expires_on=expires_on,
        obtained_method=method,
        recorded_by_kind=actor.kind.value,
        recorded_by_id=actor.id,
        wording_sha256=digest(wording),
        receipt={},
        created_at=db.utcnow(),
    )
    if notes:
        grant.obtained_notes = data_keys.seal_json(
            person_id, "consent_grants", "obtained_notes", grant.id, notes
        )
    grant.receipt = _receipt(grant, grantee, wording, "grant", actor)
    db.session.add(grant)
    audit.record(
        actor=actor.as_event(),
        action=Action.CONSENT_GRANT,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        sections=chosen,
        purpose=purpose_value.value,
        basis=_basis(actor, person_id),
        detail={
            "grant_id": grant.id,
            "grantee": {"type": grantee.type, "id": grantee.id},
            "method": method,
            "starts_on": starts.isoformat(),
            "expires_on": expires_on.isoformat(),
        },
    )
    if actor.is_staff:  # assisted: the person is asked to confirm it
        tell_person(
            person_id,
            NotificationKind.ASSISTED_GRANT,
            {"grant_id": grant.id, "grantee": {"type": grantee.type, "id": grantee.id}},
        )
    db.session.flush()
    return grant


def _refuse_outside_bounds(
    actor: Actor, person_id: str, sections: list[str], grantee_type: str, grantee_id: str
) -> None:
    """A worker records only what they were trusted with, and never for themself: the
    sections must be within those delegated to them (403), and the grantee may not be the
    recording worker (422). Both refusals are logged."""
    outside = sorted(set(sections) - set(delegated_sections(actor, person_id)))
    if outside:
        audit.record(
            actor=actor.as_event(),
            action=Action.CONSENT_GRANT,
            outcome=Outcome.DENIED,
            person_id=person_id,
            sections=outside,
            reason=Reason.OUTSIDE_DELEGATION,
        )
        raise Forbidden(
            "a worker can only record sharing of the sections the person chose them to help "
            "with: " + ", ".join(outside) + " is not one of them",
            {"sections": ["Not a section the person chose you to help with."]},
        )
    if grantee_type == "staff" and grantee_id == actor.id:
        audit.record(
            actor=actor.as_event(),
            action=Action.CONSENT_GRANT,
            outcome=Outcome.DENIED,
            person_id=person_id,
            sections=sections,
            reason=Reason.RECORDER_AS_GRANTEE,
        )
        raise Invalid(
            "the worker recording consent cannot be the one it is given to",
            {"grantee.id": ["You cannot record consent that gives you access."]},
        )


CONFIRMED_VIA = ("on_the_spot", "signed_in")


def confirm_grant(
    actor: Actor, person_id: str, grant_id: str, via: str, witness_id: str | None = None
) -> Grant:
    """The person confirms an assisted grant a worker recorded: from now on it lasts until its
    `expires_on` (unconfirmed, at most 30 days: consent.decision). Only the person; never
    staff, not even the recorder. A revoked or ended grant cannot be confirmed back to life,
    and a confirmed one (a `self` grant included) is not confirmed twice: both are conflicts.
    `witness_id`: the worker on whose device the person confirmed it (`on_the_spot`)."""
    assert via in CONFIRMED_VIA
    _person(person_id)

    def refuse(reason: str, error: Exception) -> Exception:
        audit.record(
            actor=actor.as_event(),
            action=Action.CONSENT_CONFIRM,
            outcome=Outcome.DENIED,
            person_id=person_id,
            reason=reason,
            detail={"grant_id": grant_id},
        )
        return error

    # The person, or a `help` representative acting for them (they manage sharing for
    # the person: the same power as recording it). Never staff, not even the recorder.
    acting = acting_as_person(actor, person_id, Power.SHARE)
    if not acting.allowed:
        raise refuse(
            acting.reason or Reason.NOT_PERSON,
            Forbidden("only the person can confirm what they agreed to share"),
        )
    grant = db.session.get(Grant, grant_id)
    if grant is None or grant.person_id != person_id:
        raise refuse(Reason.NOT_FOUND, NotFound("there is no such grant on this passport"))
    if grant.confirmed_at is not None:
        raise refuse(
            "already-confirmed",
            Conflict("this is already confirmed: it is yours, and nothing more is needed"),
        )
    status = grant_status(grant, db.utcnow().date())
    if status in (GrantStatus.REVOKED, GrantStatus.EXPIRED):
        raise refuse(
            "grant-revoked" if status == GrantStatus.REVOKED else "grant-expired",
            Conflict(
                "this sharing has already stopped, so there is nothing to confirm: "
                "record it again if you want it"
            ),
        )
    confirmation = Confirmation(
        id=db.new_id(), grant_id=grant.id, confirmed_at=db.utcnow(), confirmed_via=via
    )
    db.add_unique(
        confirmation, Conflict("this is already confirmed: it is yours, and nothing more is needed")
    )
    audit.record(
        actor=actor.as_event(),
        action=Action.CONSENT_CONFIRM,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        sections=grant.sections,
        purpose=grant.purpose,
        basis=acting.basis,
        detail={
            "grant_id": grant.id,
            "via": via,
            **({"on_device_of": witness_id} if witness_id else {}),
        },
    )
    db.session.flush()
    db.session.refresh(grant)
    return grant


def unconfirmed_to_ask(actor: Actor, person_id: str) -> list[Grant]:
    """The assisted grants the person has not confirmed and that are still live (active or
    starting later), oldest first: what they are asked about when they next sign in."""
    today = db.utcnow().date()
    return [
        g
        for g in list_grants(actor, person_id)
        if g.confirmed_at is None
        and grant_status(g, today) in (GrantStatus.ACTIVE, GrantStatus.PENDING)
    ]


def live_grants_recorded_by(person_id: str, staff_id: str) -> list[Grant]:
    """The grants a worker recorded on this passport that are still live (active or pending)."""
    today = db.utcnow().date()
    rows = db.session.execute(
        select(Grant)
        .where(
            Grant.person_id == person_id,
            Grant.recorded_by_kind == "staff",
            Grant.recorded_by_id == staff_id,
        )
        .order_by(Grant.created_at)
    )
    return [
        g
        for g in rows.unique().scalars()
        if grant_status(g, today) in (GrantStatus.ACTIVE, GrantStatus.PENDING)
    ]


def stop_grants_recorded_by(
    actor: Actor, person_id: str, staff_id: str, keep: Collection[str] | None = None
) -> list[Grant]:
    """When the person stops a worker writing: stop the live grants that worker recorded,
    except those kept. `keep=None` (the API) keeps the confirmed ones, which are the person's
    own now, and stops the unconfirmed; the pages pass the person's answer, grant by grant.
    Returns the grants stopped, each with its revocation receipt."""
    stopped = []
    for grant in live_grants_recorded_by(person_id, staff_id):
        kept = grant.confirmed_at is not None if keep is None else grant.id in keep
        if not kept:
            stopped.append(revoke_grant(actor, person_id, grant.id, None))
    return stopped


def revoke_grant(actor: Actor, person_id: str, grant_id: str, reason: str | None) -> Grant:
    _person(person_id)
    grant = db.session.get(Grant, grant_id)
    if grant is None or grant.person_id != person_id:
        raise NotFound("there is no such grant on this passport")
    if not _may_manage(actor, person_id):
        audit.record(
            actor=actor.as_event(),
            action=Action.CONSENT_REVOKE,
            outcome=Outcome.DENIED,
            person_id=person_id,
            reason="not-contributor",
            detail={"grant_id": grant_id},
        )
        raise Forbidden("only the person, or a worker helping them, can withdraw access")
    if grant.revocation is not None:
        raise Conflict("this access was already withdrawn")
    grantee = resolve_grantee(grant.grantee_type, grant.grantee_id)
    wording = (
        f"{grantee.name} can no longer see your information from this grant. "
        "This took effect straight away."
    )
    revocation = Revocation(
        id=db.new_id(),
        grant_id=grant.id,
        revoked_at=db.utcnow(),
        revoked_by_kind=actor.kind.value,
        revoked_by_id=actor.id,
        receipt={},
    )
    if reason:
        revocation.reason = data_keys.seal_json(
            person_id, "consent_revocations", "reason", revocation.id, reason
        )
    revocation.receipt = _receipt(grant, grantee, wording, "revocation", actor)
    # One revocation per grant, even if someone withdrew it at the same moment.
    db.add_unique(revocation, Conflict("this access was already withdrawn"))
    audit.record(
        actor=actor.as_event(),
        action=Action.CONSENT_REVOKE,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        sections=grant.sections,
        purpose=grant.purpose,
        basis=_basis(actor, person_id),
        detail={
            "grant_id": grant.id,
            "grantee": {"type": grant.grantee_type, "id": grant.grantee_id},
        },
    )
    db.session.flush()
    db.session.refresh(grant)
    return grant


def list_grants(actor: Actor, person_id: str, expiring_within: int | None = None) -> list[Grant]:
    _person(person_id)
    if not _may_manage(actor, person_id):
        audit.record(
            actor=actor.as_event(),
            action=Action.CONSENT_LIST,
            outcome=Outcome.DENIED,
            person_id=person_id,
            reason="not-contributor",
        )
        raise Forbidden("only the person and the workers helping them can see who has access")
    grants = list(
        db.session.execute(
            select(Grant).where(Grant.person_id == person_id).order_by(Grant.created_at)
        )
        .unique()
        .scalars()
    )
    if expiring_within is not None:
        today = db.utcnow().date()
        horizon = today + timedelta(days=expiring_within)
        grants = [
            g
            for g in grants
            if grant_status(g, today) == GrantStatus.ACTIVE and g.expires_on <= horizon
        ]
    return grants


def get_grant(actor: Actor, person_id: str, grant_id: str) -> Grant:
    grants = list_grants(actor, person_id)
    for grant in grants:
        if grant.id == grant_id:
            return grant
    raise NotFound("there is no such grant on this passport")


def grantee_of(grant: Grant) -> Grantee:
    return resolve_grantee(grant.grantee_type, grant.grantee_id)


def _receipt(
    grant: Grant, grantee: Grantee, wording: str, event: str, actor: Actor
) -> dict[str, Any]:
    """A consent receipt with the fields of Kantara Consent Receipt 1.1 / ISO/IEC TS 27560
    that apply. Identifiers, not names, for the person: the receipt holds no record content."""
    now = db.utcnow()
    return {
        "version": RECEIPT_VERSION,
        "receipt_id": str(uuid.uuid4()),
        "event": event,
        "grant_id": grant.id,
        "jurisdiction": "GB",
        "timestamp": audit.events.format_time(now),
        "collection_method": (
            "self" if grant.obtained_method == "self" else f"assisted:{grant.obtained_method}"
        ),
        "recorded_by": {"kind": actor.kind.value, "id": actor.id},
        "language": "en",
        "principal": {"id": grant.person_id},
        "controller": CONTROLLER,
        "purposes": [{"purpose": grant.purpose, "consent_type": "explicit", "primary": True}],
        "categories": list(grant.sections),
        "sensitive": True,
        "recipients": [{"type": grantee.type, "id": grantee.id, "name": grantee.name}],
        "validity": {
            "starts_on": grant.starts_on.isoformat(),
            "expires_on": grant.expires_on.isoformat(),
        },
        "withdrawal": WITHDRAWAL,
        "wording": {"text": wording, "sha256": digest(wording)},
    }

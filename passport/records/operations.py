"""Changing a passport: registering a person, writing entries, delegating to contributors.

Everything is an append: a new entry, a new revision, a new contributor row. Every attempt —
allowed or refused — is logged. These functions flush; the caller's unit of work commits.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select

from .. import audit, db
from ..consent.decision import Decision, decide_write
from ..consent.grants import stop_grants_recorded_by
from ..consent.models import Contributor
from ..crypto import data_keys
from ..errors import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed
from ..identity import setup_codes
from ..identity.accounts import normalise_username, username_taken
from ..identity.actor import Actor
from ..identity.models import Person, Staff
from ..identity.passwords import MIN_PASSWORD_LENGTH, hash_password
from ..vocabulary import ALL_SECTIONS, Action, ActorKind, Outcome, Reason, Role, Section
from .content import EntryView, _latest_per_entry, _revisions, read_entry, seal_content, view_of
from .models import Entry, Revision
from .sections import validated_content

SETUP_CODE_INSTEAD = (
    "Not accepted: the person chooses their own passphrase with the set-up code they are given."
)
STALE_REVISION = (
    "someone else changed this entry after you opened it: reload it to see their change"
)


NO_PASSPORT = "there is no passport with that id"


def get_person(person_id: str) -> Person:
    person = db.session.get(Person, person_id)
    if person is None or person.erased_at is not None:
        raise NotFound(NO_PASSPORT)
    return person


def require_person(person_id: str) -> None:
    """`get_person`'s refusal, without loading the person (every read asks it first)."""
    found = db.session.execute(_ERASED_AT, {"person_id": person_id}).first()
    if found is None or found.erased_at is not None:
        raise NotFound(NO_PASSPORT)


_people = Person.__table__
_ERASED_AT = select(_people.c.erased_at).where(_people.c.id == bindparam("person_id"))


def parse_section(value: str) -> Section:
    try:
        return Section(value)
    except ValueError:
        # The unknown name is not echoed: whatever a client put there stays out of the reply.
        raise NotFound(
            "there is no such section; sections are " + ", ".join(s.value for s in Section)
        ) from None


def register_person(
    actor: Actor,
    *,
    name: str,
    preferred_name: str | None = None,
    date_of_birth: date | None = None,
    username: str | None = None,
    password: str | None = None,
) -> tuple[Person, dict[str, Any]]:
    """Create a passport with its profile entry. A registering caseworker becomes a
    contributor to every section; the CLI registers as the system."""
    if actor.is_person or (actor.is_staff and not actor.has_role(Role.CASEWORKER)):
        audit.record(
            actor=actor.as_event(),
            action=Action.PERSON_CREATE,
            outcome=Outcome.DENIED,
            reason="role",
        )
        raise Forbidden("only caseworkers can register a person")
    if username is not None:
        username = normalise_username(username)
        if not username:
            raise Invalid("give a username", {"username": ["Must not be empty."]})
    if password is not None:
        # Only the command line (the system) may set a password: a worker who registers a
        # person never knows it. The person chooses it with their set-up code.
        if actor.kind is not ActorKind.SYSTEM:
            raise Invalid(
                "the person chooses their own passphrase with a set-up code: do not send one",
                {"password": [SETUP_CODE_INSTEAD]},
            )
        if username is None:
            raise Invalid(
                "a password needs a username", {"username": ["Missing data for required field."]}
            )
        if len(password) < MIN_PASSWORD_LENGTH:
            raise Invalid(
                f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
                {"password": [f"Shorter than minimum length {MIN_PASSWORD_LENGTH}."]},
            )
    if username is not None and _username_taken(username):
        raise Conflict("that username is already in use")

    profile: dict[str, Any] = {"name": name}
    if preferred_name:
        profile["preferred_name"] = preferred_name
    if date_of_birth:
        profile["date_of_birth"] = date_of_birth.isoformat()
    profile = validated_content(Section.PROFILE, profile)

    person = Person(
        id=db.new_id(),
        username=username,
        password_hash=hash_password(password) if password else None,
    )
    db.session.add(person)
    db.session.flush()
    data_keys.create_for(person.id)
    _update_blind_index(person, profile)
    _append(actor, person.id, Section.PROFILE, None, profile, 1, "current", False)
    if actor.is_staff:
        db.session.add(
            Contributor(
                person_id=person.id,
                staff_id=actor.id,
                sections=[s.value for s in ALL_SECTIONS],
                added_by_kind=actor.kind.value,
                added_by_id=actor.id,
            )
        )
    audit.record(
        actor=actor.as_event(),
        action=Action.PERSON_CREATE,
        outcome=Outcome.ALLOWED,
        person_id=person.id,
        sections=[Section.PROFILE],
        basis={"kind": "role", "id": None},
        detail={"contributor_added": actor.is_staff},
    )
    out: dict[str, Any] = {
        "id": person.id,
        "preferred_name": profile.get("preferred_name") or profile["name"],
        "date_of_birth": profile.get("date_of_birth"),
    }
    if username is not None and password is None:
        # The person chooses their passphrase with this code; it is shown once.
        out["setup_code"], out["setup_code_expires_at"] = setup_codes.issue_at_registration(
            actor, person
        )
    db.session.flush()
    return person, out


def _username_taken(username: str) -> bool:
    return username_taken(username)


def _update_blind_index(person: Person, profile: dict[str, Any]) -> None:
    """Blind indexes over the legal name and the preferred name (each alone, and with the
    date of birth): a person is found by either name, without regard to case or spaces."""
    dob = profile.get("date_of_birth")

    def indexes(name: str | None) -> tuple[str | None, str | None]:
        if not name or not name.strip():
            return None, None
        with_dob = data_keys.blind_index("name+dob", name, dob) if dob else None
        return data_keys.blind_index("name", name), with_dob

    person.name_index, person.name_dob_index = indexes(profile["name"])
    preferred = profile.get("preferred_name")
    person.preferred_name_index, person.preferred_name_dob_index = indexes(preferred)


def _append(
    actor: Actor,
    person_id: str,
    section: Section,
    entry_id: str | None,
    content: dict[str, Any],
    number: int,
    status: str,
    hidden: bool,
    written_with_person: bool = False,
    race: Exception | None = None,
) -> tuple[str, Revision]:
    if entry_id is None:
        entry = Entry(id=db.new_id(), person_id=person_id, section=section.value)
        db.session.add(entry)
        entry_id = entry.id
    revision = Revision(
        id=db.new_id(),
        entry_id=entry_id,
        person_id=person_id,
        section=section.value,
        revision=number,
        status=status,
        hidden=hidden,
        author_kind=actor.kind.value,
        author_id=actor.id,
        author_agency_id=actor.agency_id,
        written_with_person=written_with_person,
        created_at=db.utcnow(),
    )
    revision.content = seal_content(person_id, revision.id, content)
    # Two writers racing to make the same revision number: the second one is told (a second
    # lock behind `_latest_for_change`, which makes changes of one passport wait their turn).
    db.add_unique(
        revision,
        race or Conflict("this entry was changed at the same moment; reload and try again"),
    )
    return entry_id, revision


def _authorise_write(
    actor: Actor, person_id: str, section: Section, detail: dict[str, Any]
) -> Decision:
    """Refuse (and log the refusal) unless this actor may write here. The allowed write is
    logged by `_log_write` once it has happened: a write that then fails validation or
    conflicts changes nothing and is not recorded as done."""
    get_person(person_id)
    decision = decide_write(actor, person_id, section)
    if not decision.allowed:
        audit.record(
            actor=actor.as_event(),
            action=Action.RECORD_WRITE,
            outcome=Outcome.DENIED,
            person_id=person_id,
            sections=[section],
            reason=decision.reason.value if decision.reason else None,
            detail=detail,
        )
        if decision.reason is Reason.MIXED_DUTIES:
            raise Forbidden(
                "this account holds both reading and oversight roles, so it changes no "
                "passport; ask an administrator for two separate accounts"
            )
        raise Forbidden(
            f"you cannot change the {section.value} section of this passport: agency views "
            "are read-only, and only the person or a contributor they chose can write"
        )
    return decision


def _log_write(actor: Actor, decision: Decision, revision: Revision, change: str) -> None:
    audit.record(
        actor=actor.as_event(),
        action=Action.RECORD_WRITE,
        outcome=Outcome.ALLOWED,
        person_id=decision.person_id,
        sections=[decision.section],
        basis=decision.basis,
        detail={"change": change, "entry_id": revision.entry_id, "revision": revision.revision},
    )


def _author(actor: Actor) -> dict[str, Any]:
    return {"id": actor.id, "name": actor.name, "agency_id": actor.agency_id}


def _with_person(actor: Actor, written_with_person: bool) -> bool:
    """Only a worker writes "with the person": what the person writes is theirs already."""
    return bool(written_with_person) and actor.is_staff


def add_entry(
    actor: Actor,
    person_id: str,
    section: Section,
    content: Any,
    *,
    written_with_person: bool = False,
) -> EntryView:
    """Add an entry. `written_with_person`: a worker wrote it with the person there."""
    decision = _authorise_write(actor, person_id, section, {"change": "create"})
    stored = validated_content(section, content)
    current = _current_entries(person_id, section)
    if section is Section.PROFILE and current:
        raise Conflict("a passport has one profile entry: change it instead of adding another")
    if section is Section.WORKERS and stored.get("is_lead"):
        _refuse_second_lead(decision, exclude_entry=None)
    with_person = _with_person(actor, written_with_person)
    _, revision = _append(actor, person_id, section, None, stored, 1, "current", False, with_person)
    if section is Section.PROFILE:
        _update_blind_index(get_person(person_id), stored)
    _log_write(actor, decision, revision, "create")
    return view_of(revision, stored, _author(actor))


def revise_entry(
    actor: Actor,
    person_id: str,
    section: Section,
    entry_id: str,
    content: Any,
    *,
    written_with_person: bool = False,
    expected_revision: int | None = None,
) -> EntryView:
    """A new revision of an entry. `expected_revision`: the revision the writer changed (the
    API's If-Match, the pages' hidden field); if someone else has changed the entry since,
    nothing is written and the refusal is logged (`PreconditionFailed`). Without it the
    change applies to whatever is latest."""
    decision = _authorise_write(actor, person_id, section, {"change": "revise"})
    latest, _ = _latest_for_change(actor, decision, entry_id, expected_revision, "revise")
    if latest.status == "retired":
        raise Conflict("this entry is retired; add a new entry instead")
    stored = validated_content(section, content)
    if section is Section.WORKERS and stored.get("is_lead"):
        _refuse_second_lead(decision, exclude_entry=entry_id)
    _, revision = _append(
        actor,
        person_id,
        section,
        entry_id,
        stored,
        latest.revision + 1,
        "current",
        latest.hidden,
        _with_person(actor, written_with_person),
        _race(expected_revision),
    )
    if section is Section.PROFILE:
        _update_blind_index(get_person(person_id), stored)
    _log_write(actor, decision, revision, "revise")
    return view_of(revision, stored, _author(actor))


def retire_entry(
    actor: Actor,
    person_id: str,
    section: Section,
    entry_id: str,
    *,
    expected_revision: int | None = None,
) -> EntryView:
    """Retire an entry (a new revision with status retired); `expected_revision` as for
    `revise_entry`."""
    decision = _authorise_write(actor, person_id, section, {"change": "retire"})
    latest, content = _latest_for_change(actor, decision, entry_id, expected_revision, "retire")
    if latest.status == "retired":
        raise Conflict("this entry is already retired")
    if section is Section.PROFILE:
        raise Conflict("the profile cannot be retired; change it instead")
    _, revision = _append(
        actor,
        person_id,
        section,
        entry_id,
        content,
        latest.revision + 1,
        "retired",
        latest.hidden,
        race=_race(expected_revision),
    )
    _log_write(actor, decision, revision, "retire")
    return view_of(revision, content, _author(actor))


def set_hidden(
    actor: Actor,
    person_id: str,
    section: Section,
    entry_id: str,
    hidden: bool,
    *,
    expected_revision: int | None = None,
) -> EntryView:
    """The person hides (or shows again) one entry from every agency, without deleting it;
    `expected_revision` as for `revise_entry`."""
    get_person(person_id)
    if not (actor.is_person and actor.id == person_id):
        audit.record(
            actor=actor.as_event(),
            action=Action.RECORD_WRITE,
            outcome=Outcome.DENIED,
            person_id=person_id,
            sections=[section],
            reason=Reason.NOT_PERSON,
            detail={"change": "hide"},
        )
        raise Forbidden("only the person can hide or show an entry of their passport")
    decision = _authorise_write(actor, person_id, section, {"change": "hide"})
    latest, content = _latest_for_change(actor, decision, entry_id, expected_revision, "hide")
    if latest.hidden == hidden:
        return view_of(latest, content, _author(actor))  # nothing to change, nothing written
    _, revision = _append(
        actor,
        person_id,
        section,
        entry_id,
        content,
        latest.revision + 1,
        latest.status,
        hidden,
        race=_race(expected_revision),
    )
    _log_write(actor, decision, revision, "hide" if hidden else "show")
    return view_of(revision, content, _author(actor))


def _latest_for_change(
    actor: Actor,
    decision: Decision,
    entry_id: str,
    expected_revision: int | None,
    change: str,
) -> tuple[Revision, dict[str, Any]]:
    """The entry's latest revision and content, read once earlier changes of this passport
    have committed (the person's row is locked: a second writer waits here, then reads the
    first one's revision). A stale `expected_revision` is refused and logged; nothing is
    written."""
    _lock_person(decision.person_id)
    found = read_entry(decision, entry_id)
    if found is None:
        raise NotFound("there is no such entry in this section")
    latest = found[0]
    if expected_revision is not None and latest.revision != expected_revision:
        audit.record(
            actor=actor.as_event(),
            action=Action.RECORD_WRITE,
            outcome=Outcome.DENIED,
            person_id=decision.person_id,
            sections=[decision.section],
            reason=Reason.STALE_REVISION,
            detail={
                "change": change,
                "entry_id": entry_id,
                "revision": latest.revision,
                "expected_revision": expected_revision,
            },
        )
        raise PreconditionFailed(STALE_REVISION)
    return found


def _race(expected_revision: int | None) -> Exception | None:
    """What a writer who named the revision they changed is told if another writer's
    revision still slips in first: the same as a stale revision."""
    return PreconditionFailed(STALE_REVISION) if expected_revision is not None else None


def _lock_person(person_id: str) -> None:
    """Lock the person's row until the commit (PostgreSQL; SQLite writers are serialised
    already). The append-only entries table cannot be locked: the application's role may
    not update it, and `FOR UPDATE` needs that privilege."""
    db.session.execute(select(Person.id).where(Person.id == person_id).with_for_update())


def _current_entries(person_id: str, section: Section) -> list[Revision]:
    latest = _latest_per_entry(_revisions(person_id, section.value))
    return [r for r in latest.values() if r.status == "current"]


class SecondLeadWorker(Conflict):
    """A second current lead worker (409): pages show it as a plain field error."""


def _refuse_second_lead(decision: Decision, exclude_entry: str | None) -> None:
    """At most one current lead worker. The person's row is locked first (PostgreSQL; SQLite
    writers are already serialised), so two lead workers saved at once cannot both pass."""
    _lock_person(decision.person_id)
    today = db.utcnow().date().isoformat()
    for revision in _current_entries(decision.person_id, Section.WORKERS):
        if revision.entry_id == exclude_entry:
            continue
        found = read_entry(decision, revision.entry_id)  # the lead flag is sealed content
        content = found[1] if found else {}
        if content.get("is_lead") and (content.get("until") is None or content["until"] >= today):
            raise SecondLeadWorker(
                "this person already has a current lead worker: end or change that entry first"
            )


# -- contributors -----------------------------------------------------------------------------


def add_contributor(
    actor: Actor, person_id: str, staff_id: str, sections: list[str]
) -> Contributor:
    get_person(person_id)
    if not (actor.is_person and actor.id == person_id):
        audit.record(
            actor=actor.as_event(),
            action=Action.CONTRIBUTOR_ADD,
            outcome=Outcome.DENIED,
            person_id=person_id,
            reason=Reason.NOT_PERSON,
        )
        raise Forbidden("only the person can choose who writes in their passport")
    staff = db.session.get(Staff, staff_id)
    if staff is None or Role.CASEWORKER.value not in staff.roles:
        raise Invalid("no caseworker has that id", {"staff_id": ["Unknown caseworker."]})
    chosen = sorted({parse_section_422(s).value for s in sections})
    if not chosen:
        raise Invalid("choose at least one section", {"sections": ["Choose at least one."]})
    for existing in _live_contributors(person_id, staff_id):
        existing.removed_at = db.utcnow()
    contributor = Contributor(
        person_id=person_id,
        staff_id=staff_id,
        sections=chosen,
        added_by_kind=actor.kind.value,
        added_by_id=actor.id,
    )
    db.session.add(contributor)
    audit.record(
        actor=actor.as_event(),
        action=Action.CONTRIBUTOR_ADD,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        sections=chosen,
        basis={"kind": "self", "id": actor.id},
        detail={"staff_id": staff_id},
    )
    db.session.flush()
    return contributor


def parse_section_422(value: str) -> Section:
    try:
        return Section(value)
    except ValueError:
        names = ", ".join(s.value for s in Section)
        raise Invalid(
            "there is no such section", {"sections": [f"Unknown section; sections are {names}."]}
        ) from None


def _live_contributors(person_id: str, staff_id: str | None = None) -> list[Contributor]:
    query = select(Contributor).where(
        Contributor.person_id == person_id, Contributor.removed_at.is_(None)
    )
    if staff_id is not None:
        query = query.where(Contributor.staff_id == staff_id)
    return list(db.session.execute(query.order_by(Contributor.added_at)).scalars())


def list_contributors(actor: Actor, person_id: str) -> list[Contributor]:
    get_person(person_id)
    live = _live_contributors(person_id)
    is_self = actor.is_person and actor.id == person_id
    if not is_self and actor.id not in {c.staff_id for c in live}:
        raise Forbidden("only the person and their contributors can see who writes here")
    return live


def remove_contributor(
    actor: Actor, person_id: str, staff_id: str, keep_grants: Collection[str] | None = None
) -> None:
    """The person stops a worker writing (and reading as a contributor), and the live grants
    that worker recorded stop too, but for those kept: `keep_grants=None` keeps the ones the
    person confirmed (they are the person's own now); the pages pass the person's answers."""
    get_person(person_id)
    if not (actor.is_person and actor.id == person_id):
        audit.record(
            actor=actor.as_event(),
            action=Action.CONTRIBUTOR_REMOVE,
            outcome=Outcome.DENIED,
            person_id=person_id,
            reason=Reason.NOT_PERSON,
        )
        raise Forbidden("only the person can change who writes in their passport")
    live = _live_contributors(person_id, staff_id)
    if not live:
        raise NotFound("that worker is not a contributor to this passport")
    for contributor in live:
        contributor.removed_at = db.utcnow()
    audit.record(
        actor=actor.as_event(),
        action=Action.CONTRIBUTOR_REMOVE,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        basis={"kind": "self", "id": actor.id},
        detail={"staff_id": staff_id},
    )
    db.session.flush()
    stop_grants_recorded_by(actor, person_id, staff_id, keep_grants)


def erase_person(actor: Actor, person_id: str, detail: dict[str, Any] | None = None) -> int:
    """Erasure by crypto-shredding: destroy the person's data keys, so every sealed value of
    theirs (record, notes, reasons, actions) can never be opened again, and remove their login
    and blind indexes. Rows stay — the record is append-only and the access log, which holds
    identifiers only, stays whole and verifiable. Returns how many data keys were destroyed.

    `detail`: identifiers saying why, for the log (the erasure request, the retention rule)."""
    person = get_person(person_id)
    destroyed = data_keys.shred(person.id)
    person.erased_at = db.utcnow()
    person.username = None
    person.password_hash = None
    person.name_index = None
    person.name_dob_index = None
    person.preferred_name_index = None
    person.preferred_name_dob_index = None
    audit.record(
        actor=actor.as_event(),
        action=Action.PERSON_ERASE,
        outcome=Outcome.ALLOWED,
        person_id=person.id,
        basis={"kind": "role", "id": None},
        detail={**(detail or {}), "data_keys_destroyed": destroyed},
    )
    db.session.flush()
    return destroyed

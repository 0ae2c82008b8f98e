"""Demonstration data: invented people whose stories echo the published evaluations
(shared/PEOPLE.md). Every login's password is printed, so this is for demos only."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from . import db
from .consent.emergency import open_emergency
from .consent.grants import confirm_grant, create_grant
from .identity.accounts import actor_for_person, actor_for_staff, add_agency, add_staff
from .identity.actor import SYSTEM
from .identity.models import Person
from .identity.setup_codes import complete_setup
from .mdt.operations import add_action, add_member, add_to_agenda, create_forum, create_meeting
from .notifications import first_look, preferences
from .notifications.daily import run_daily
from .records.operations import add_entry, register_person
from .representatives.operations import appoint, record_legal
from .vocabulary import Section

DEMO_PASSWORD = "passport-demo-1"  # noqa: S105 - printed demo logins, by design


def _choose_passphrase(person: Person, registered: dict[str, Any]) -> None:
    """What each person did with their worker: chose their own passphrase with the set-up
    code they were given (here the printed demo one, so the logins below work)."""
    assert person.username is not None
    complete_setup(person.username, registered["setup_code"], DEMO_PASSWORD)


def load_demo() -> list[str]:
    housing = add_agency(SYSTEM, "Riverside Housing First", "housing")
    drugs = add_agency(SYSTEM, "Northgate Drug and Alcohol Service", "substance_use")
    mental = add_agency(SYSTEM, "Riverside Mental Health", "mental_health")
    probation = add_agency(SYSTEM, "City Probation Service", "probation")
    scheme = add_agency(SYSTEM, "Passport Scheme Office", "other")

    staff = {
        "amara": add_staff(
            SYSTEM,
            username="amara",
            password=DEMO_PASSWORD,
            agency_id=housing.id,
            roles=["caseworker"],
            name="Amara Okafor",
        ),
        "tom": add_staff(
            SYSTEM,
            username="tom",
            password=DEMO_PASSWORD,
            agency_id=drugs.id,
            roles=["caseworker"],
            name="Tom Reilly",
        ),
        "priya": add_staff(
            SYSTEM,
            username="priya",
            password=DEMO_PASSWORD,
            agency_id=mental.id,
            roles=["caseworker"],
            name="Priya Shah",
        ),
        "gareth": add_staff(
            SYSTEM,
            username="gareth",
            password=DEMO_PASSWORD,
            agency_id=probation.id,
            roles=["caseworker", "mdt_chair"],
            name="Gareth Lewis",
        ),
        "dpo": add_staff(
            SYSTEM,
            username="dpo",
            password=DEMO_PASSWORD,
            agency_id=scheme.id,
            roles=["dpo"],
            name="Helen Marsh",
            scheme_wide=True,
        ),
        "admin": add_staff(
            SYSTEM,
            username="admin",
            password=DEMO_PASSWORD,
            agency_id=scheme.id,
            roles=["admin"],
            name="Sam Patel",
        ),
    }
    amara = actor_for_staff(staff["amara"])

    jess, jess_registered = register_person(
        amara,
        name="Jessica Hartley",
        preferred_name="Jess",
        date_of_birth=date(1992, 3, 14),
        username="jess",
    )
    _choose_passphrase(jess, jess_registered)
    me = actor_for_person(jess)
    add_entry(
        me,
        jess.id,
        Section.STORY,
        {
            "title": "My life so far",
            "text": "I've been sleeping out on and off for nine years. Hostels never lasted. "
            "Amara from Housing First is the first worker who stuck with me. I don't want to "
            "explain all of it again to every new service.",
        },
    )
    add_entry(
        me,
        jess.id,
        Section.PREFERENCES,
        {
            "contact": [
                {"method": "via_worker", "detail": "through Amara"},
                {"method": "in_person", "best_times": "afternoons at the hub"},
            ],
            "appointment_times": "Afternoons. Mornings are hard.",
            "triggers": "Being asked about my family in a busy room.",
            "what_helps": "Somewhere quiet, a cup of tea, the same worker.",
            "what_has_not_helped": "Letters and emails; my phone gets lost or stolen.",
        },
    )
    add_entry(
        amara,
        jess.id,
        Section.RISK,
        {
            "summary": "Risk of overdose after periods of abstinence. Lone working: meet at the hub.",
            "flags": [
                {"kind": "overdose", "level": "high", "detail": "carries naloxone"},
                {"kind": "lone_working", "level": "medium"},
            ],
            "ndt": {
                "engagement": 3,
                "intentional_self_harm": 1,
                "unintentional_self_harm": 3,
                "risk_to_others": 1,
                "risk_from_others": 3,
                "stress_and_anxiety": 3,
                "social_effectiveness": 2,
                "alcohol_drug_abuse": 4,
                "impulse_control": 2,
                "housing": 4,
            },
            "review_on": "2027-01-31",
        },
    )
    add_entry(
        amara,
        jess.id,
        Section.MEDICATION,
        {
            "name": "Methadone",
            "dose": "60 mg",
            "frequency": "daily, supervised",
            "prescriber": "Northgate Drug and Alcohol Service",
            "reason": "opioid substitution",
        },
    )
    add_entry(
        amara,
        jess.id,
        Section.WORKERS,
        {
            "name": "Amara Okafor",
            "agency_id": housing.id,
            "organisation": "Riverside Housing First",
            "role": "Housing First key worker",
            "is_lead": True,
            "since": "2025-06-01",
        },
    )

    ciaran, ciaran_registered = register_person(
        amara,
        name="Ciaran Doyle",
        preferred_name="Ciaran",
        date_of_birth=date(2004, 8, 2),
        username="ciaran",
    )
    _choose_passphrase(ciaran, ciaran_registered)
    add_entry(
        actor_for_person(ciaran),
        ciaran.id,
        Section.STORY,
        {
            "title": "What I want you to know",
            "text": "I left care at 18 and have been sofa-surfing since. I'd rather text than fill "
            "in forms, and I want to see who can see this.",
        },
    )

    today = db.utcnow().date()

    # Jess shares medication, risks and what works for her with the drug service...
    create_grant(
        me,
        jess.id,
        grantee_type="agency",
        grantee_id=drugs.id,
        sections=["medication", "risk", "preferences"],
        purpose="direct_support",
        expires_on=today + timedelta(days=180),
        method="self",
    )
    # ...and, with Amara beside her, agreed a referral to mental health may see her story. She
    # has not confirmed it with her own passphrase yet: she is asked when she next signs in.
    create_grant(
        amara,
        jess.id,
        grantee_type="agency",
        grantee_id=mental.id,
        sections=["story", "preferences"],
        purpose="referral",
        expires_on=today + timedelta(days=25),
        method="verbal",
        notes="Agreed at the hub with Amara",
    )

    mariam, mariam_registered = register_person(
        amara,
        name="Mariam Haddad",
        preferred_name="Mariam",
        date_of_birth=date(1989, 1, 9),
        username="mariam",
    )
    _choose_passphrase(mariam, mariam_registered)
    add_entry(
        amara,
        mariam.id,
        Section.PREFERENCES,
        {
            "contact": [{"method": "via_worker", "detail": "through Amara, with an interpreter"}],
            "interpreter": "Arabic (female interpreter, please)",
            "communication_needs": "Explain who will see information before asking anything.",
            "what_helps": "A trauma-informed approach; the same worker each time.",
        },
    )
    # With Amara and an interpreter, Mariam agreed the mental health service may see what
    # works for her, and confirmed it then and there with her own passphrase on Amara's tablet.
    interpreted = create_grant(
        amara,
        mariam.id,
        grantee_type="agency",
        grantee_id=mental.id,
        sections=["preferences"],
        purpose="direct_support",
        expires_on=db.utcnow().date() + timedelta(days=182),
        method="interpreter",
        notes="Arabic interpreter (female), at the hub",
    )
    confirm_grant(
        actor_for_person(mariam), mariam.id, interpreted.id, "on_the_spot", witness_id=amara.id
    )

    stuart, stuart_registered = register_person(
        amara,
        name="Stuart Campbell",
        preferred_name="Stuart",
        date_of_birth=date(1984, 5, 30),
        username="stuart",
    )
    _choose_passphrase(stuart, stuart_registered)
    add_entry(
        amara,
        stuart.id,
        Section.PREFERENCES,
        {
            "communication_needs": "Short words, one thing at a time, read it aloud with him.",
            "appointment_times": "Late morning, after probation on Tuesdays.",
        },
    )
    add_entry(
        amara,
        stuart.id,
        Section.WORKERS,
        {
            "name": "Gareth Lewis",
            "agency_id": probation.id,
            "organisation": "City Probation Service",
            "role": "Probation officer",
            "is_lead": False,
            "since": "2026-10-01",
        },
    )

    # Stuart asked his sister Lorna to help him with his passport (read it aloud, write with
    # him, answer sharing questions): a `help` representative with her own sign-in.
    lorna = appoint(
        actor_for_person(stuart),
        stuart.id,
        name="Lorna Campbell (Stuart's sister)",
        username="lorna",
        access="help",
    )
    assert lorna.setup_code is not None
    complete_setup("lorna", lorna.setup_code, DEMO_PASSWORD)
    # Amara recorded, with Stuart, that probation may see what works for him: Lorna can say
    # it is right for him.
    create_grant(
        amara,
        stuart.id,
        grantee_type="agency",
        grantee_id=probation.id,
        sections=["preferences", "workers"],
        purpose="direct_support",
        expires_on=db.utcnow().date() + timedelta(days=182),
        method="verbal",
        notes="Agreed at the hub with Amara, read aloud",
    )

    dafydd, dafydd_registered = register_person(
        amara,
        name="Dafydd Morgan",
        preferred_name="Dafydd",
        date_of_birth=date(1975, 11, 3),
        username="dafydd",
    )
    _choose_passphrase(dafydd, dafydd_registered)
    add_entry(
        amara,
        dafydd.id,
        Section.PREFERENCES,
        {
            "contact": [
                {"method": "letter", "detail": "to the temporary accommodation"},
                {"method": "phone", "best_times": "evenings, when he has signal in town"},
            ],
            "communication_needs": "Welsh first language: Cymraeg os gwelwch yn dda.",
            "what_has_not_helped": "Text messages he cannot receive; being dropped after a missed call.",
        },
    )

    # Dafydd's cousin Gwen is his appointee for benefits: Amara saw the DWP letter and recorded
    # her; she cannot act until the data protection officer approves it.
    gwen = record_legal(
        amara,
        dafydd.id,
        name="Gwen Morgan",
        username="gwen",
        legal_basis="appointee",
        evidence="DWP appointee letter (BF57), reference DM-4471-22, seen at the hub",
        access="help",
    )
    assert gwen.setup_code is not None
    complete_setup("gwen", gwen.setup_code, DEMO_PASSWORD)

    # The MDT: a meeting of services working together, chaired by Gareth.
    admin = actor_for_staff(staff["admin"])
    forum = create_forum(admin, "Riverside MDT", [housing.id, drugs.id, mental.id, probation.id])
    add_member(admin, forum.id, staff["gareth"].id, "chair")
    for member in ("amara", "tom", "priya"):
        add_member(admin, forum.id, staff[member].id, "member")
    create_grant(
        me,
        jess.id,
        grantee_type="mdt",
        grantee_id=forum.id,
        sections=["risk", "medication", "workers", "preferences"],
        purpose="mdt",
        expires_on=today + timedelta(days=365),
        method="self",
    )
    gareth = actor_for_staff(staff["gareth"])
    meeting = create_meeting(gareth, forum.id, today, "Monthly MDT", [staff["amara"].id])
    add_to_agenda(gareth, meeting.id, jess.id)
    add_action(
        gareth,
        meeting.id,
        jess.id,
        staff["tom"].id,
        "Review methadone dose with Jess and her prescriber",
        today + timedelta(days=14),
    )

    # A break-glass access waiting for the DPO's review.
    open_emergency(
        actor_for_staff(staff["priya"]),
        stuart.id,
        "Stuart collapsed at the drop-in; paramedics asked about medication",
        4,
    )

    # Registered at the drop-in this morning: Sam has a set-up code and has not yet chosen a
    # passphrase, so nobody (not even Priya, who registered him) can sign in as him.
    _, sam_registered = register_person(
        actor_for_staff(staff["priya"]),
        name="Samuel Reid",
        preferred_name="Sam",
        date_of_birth=date(1997, 7, 21),
        username="sam",
    )
    # Ciaran wants a text when something happens (texts go out once GOV.UK Notify is set up),
    # and names in his inbox; Amara's service has just opened his passport for the first time.
    ciaran_actor = actor_for_person(ciaran)
    preferences.choose(ciaran_actor, "sms", phone="07700 900456", fuller_inbox=True)
    create_grant(
        ciaran_actor,
        ciaran.id,
        grantee_type="agency",
        grantee_id=housing.id,
        sections=["story"],
        purpose="direct_support",
        expires_on=today + timedelta(days=10),
        method="self",
    )
    first_look(ciaran.id, housing.id)
    # The morning's reminders: Ciaran's sharing with Amara's service ends in 10 days, and
    # Amara's weekly list says so (Tom already has the MDT's action in his messages).
    run_daily(today)

    waiting = (
        f"sam (person, registered today): no passphrase yet; set-up code "
        f"{sam_registered['setup_code']} at /account/setup"
    )

    return [
        f"{name} / {DEMO_PASSWORD}"
        for name in [
            "jess (person)",
            "ciaran (person)",
            "mariam (person)",
            "stuart (person)",
            "dafydd (person)",
            "lorna (representative: helps her brother Stuart)",
            "gwen (legal representative for Dafydd: waiting for the DPO to approve)",
            "amara (caseworker, Riverside Housing First)",
            "tom (caseworker, Northgate Drug and Alcohol Service)",
            "priya (caseworker, Riverside Mental Health)",
            "gareth (caseworker and MDT chair, City Probation Service)",
            "dpo (scheme data protection officer)",
            "admin (administrator)",
        ]
    ] + [waiting]

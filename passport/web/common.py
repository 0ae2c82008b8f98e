"""What every page needs: who is signed in, role checks, and words for the domain's values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_datetime, get_locale, gettext, lazy_gettext
from flask_login import current_user, logout_user

from ..consent.wording import consent_sentence
from ..errors import ConsentRequired, PassportError
from ..identity import totp
from ..identity.actor import Actor
from ..records import labels, refusals
from ..vocabulary import Role

F = TypeVar("F", bound=Callable[..., ResponseReturnValue])


def current_actor() -> Actor:
    actor: Actor = current_user.actor
    return actor


def _signed_in() -> bool:
    return bool(current_user.is_authenticated)


def _login_redirect() -> ResponseReturnValue:
    return redirect(url_for("web.login", next=request.full_path.rstrip("?")))


def person_only(view: F) -> F:
    """Pages for the passport holder themself."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if not _signed_in():
            return _login_redirect()
        if not current_actor().is_person:
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def staff_with(*roles: Role) -> Callable[[F], F]:
    """Pages for staff holding one of these roles. The domain checks again below this."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            if not _signed_in():
                return _login_redirect()
            actor = current_actor()
            if not any(actor.has_role(role) for role in roles):
                abort(403)
            if totp.required_for(actor) and not session.get("second_factor"):
                # DPOs and admins must have passed the second factor in this session.
                logout_user()
                session.clear()
                return _login_redirect()
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorate


def representative_only(view: F) -> F:
    """Pages for someone acting for people through their own account. Whom they act for is
    decided by the domain on every request."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if not _signed_in():
            return _login_redirect()
        if not current_actor().is_representative:
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def signed_in(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if not _signed_in():
            return _login_redirect()
        return view(*args, **kwargs)

    return cast(F, wrapped)


def home_for(actor: Actor) -> str:
    if actor.is_person:
        return url_for("web.my_passport")
    if actor.is_representative:
        return url_for("web.represent_home")
    if actor.has_role(Role.CASEWORKER):
        return url_for("web.caseload")
    if actor.has_role(Role.MDT_CHAIR):
        return url_for("web.my_mdts")
    if actor.has_role(Role.DPO):
        return url_for("web.dpo_log")
    if actor.has_role(Role.ADMIN):
        return url_for("web.admin_home")
    return url_for("web.account")


# -- words for the domain's values (translated) -------------------------------------------


def _translated(words: dict[str, str]) -> dict[str, Any]:
    """The record's labels (passport.records.labels, shared with the MDT print view and
    PDF), each translated when a page shows it."""
    return {key: lazy_gettext(message) for key, message in words.items()}


SECTION_TITLES = {
    "profile": lazy_gettext("Your name and details"),
    "story": lazy_gettext("Your story"),
    "risk": lazy_gettext("Risks"),
    "medication": lazy_gettext("Medication"),
    "workers": lazy_gettext("Your workers"),
    "preferences": lazy_gettext("What works for you"),
}
STAFF_SECTION_TITLES = _translated(labels.STAFF_SECTION_TITLES)
# The consent sentence's words (passport.consent.wording), for pages in Welsh.
SECTION_WORDS = {
    "profile": lazy_gettext("your name and details"),
    "story": lazy_gettext("your story"),
    "risk": lazy_gettext("your risks"),
    "medication": lazy_gettext("your medication"),
    "workers": lazy_gettext("your workers"),
    "preferences": lazy_gettext("what works for you"),
}
PURPOSE_WORDS = {
    "direct_support": lazy_gettext("to support you"),
    "referral": lazy_gettext("to look at a referral for you"),
    "mdt": lazy_gettext("for a meeting of services working together to support you (an MDT)"),
    "emergency": lazy_gettext("in an emergency"),
}
PURPOSE_NAMES = {
    "direct_support": lazy_gettext("Support"),
    "referral": lazy_gettext("Referral"),
    "mdt": lazy_gettext("MDT meeting (services working together)"),
    "emergency": lazy_gettext("Emergency"),
}
STATUS_NAMES = {
    "active": lazy_gettext("Can see now"),
    "pending": lazy_gettext("Starts later"),
    "expired": lazy_gettext("Ended"),
    "revoked": lazy_gettext("Stopped"),
}
ACTION_WORDS = {
    "record.view": lazy_gettext("Looked at your passport"),
    "record.history": lazy_gettext("Looked at changes to your passport"),
    "record.brief": lazy_gettext("Read a summary before seeing you"),
    "record.write": lazy_gettext("Wrote in your passport"),
    "consent.grant": lazy_gettext("Shared your information"),
    "consent.revoke": lazy_gettext("Stopped sharing your information"),
    "contributor.add": lazy_gettext("Chose a worker to help write your passport"),
    "contributor.remove": lazy_gettext("Stopped a worker writing in your passport"),
    "emergency.open": lazy_gettext("Opened your passport in an emergency"),
    "emergency.review": lazy_gettext("Checked an emergency look at your passport"),
    "mdt.agenda_add": lazy_gettext("Added you to an MDT meeting"),
    "mdt.summary": lazy_gettext("Read your summary for an MDT meeting"),
    "person.create": lazy_gettext("Started your passport"),
    "person.erase": lazy_gettext("Deleted your passport"),
    "consent.confirm": lazy_gettext("Said a sharing agreement is right"),
    "audit.query": lazy_gettext("Checked the list of who has looked at your passport"),
    "audit.export": lazy_gettext("Copied the list of who has looked at your passport"),
    "mdt.action_add": lazy_gettext("Wrote down a task about you at an MDT meeting"),
    "mdt.action_update": lazy_gettext("Changed a task about you from an MDT meeting"),
    "record.dispute": lazy_gettext("Said something in your passport is wrong"),
    "record.dispute_answer": lazy_gettext("Answered when you said something was wrong"),
    "record.subject_access": lazy_gettext(
        "A data protection officer made a copy of your passport for your request"
    ),
    "rights.subject_access_request": lazy_gettext(
        "Wrote down your request for a copy of your passport"
    ),
    "rights.erasure_request": lazy_gettext("Asked for your passport to be erased"),
    "rights.erasure_decision": lazy_gettext("Decided your request to erase your passport"),
    "representative.add": lazy_gettext("Chose someone to act for you"),
    "representative.remove": lazy_gettext("Stopped someone acting for you"),
    "representative.review": lazy_gettext("Checked someone who acts for you by law"),
}
# The DPO's access log in words (issue 14): actions, reasons and outcomes.
LOG_ACTION_WORDS = {
    "auth.login": lazy_gettext("Signed in"),
    "auth.login_failed": lazy_gettext("Sign-in failed"),
    "auth.token_issued": lazy_gettext("App given access"),
    "auth.token_refreshed": lazy_gettext("App access renewed"),
    "auth.token_revoked": lazy_gettext("App access stopped"),
    "auth.token_failed": lazy_gettext("App access refused"),
    "auth.client_approved": lazy_gettext("Approved an app"),
    "auth.logout": lazy_gettext("Signed out"),
    "auth.totp_enabled": lazy_gettext("Set up a sign-in code app"),
    "auth.setup_code_issued": lazy_gettext("Gave a set-up code"),
    "auth.setup": lazy_gettext("Chose a passphrase with a set-up code"),
    "auth.setup_failed": lazy_gettext("Set-up code refused"),
    "person.create": lazy_gettext("Started a passport"),
    "person.list": lazy_gettext("Looked at their caseload"),
    "person.emergency_search": lazy_gettext("Searched for a person in an emergency"),
    "record.view": lazy_gettext("Read a passport"),
    "record.history": lazy_gettext("Read a passport's changes"),
    "record.brief": lazy_gettext("Read a brief before a visit"),
    "record.write": lazy_gettext("Wrote in a passport"),
    "consent.grant": lazy_gettext("Recorded sharing"),
    "consent.revoke": lazy_gettext("Stopped sharing"),
    "consent.list": lazy_gettext("Looked at who can see"),
    "consent.confirm": lazy_gettext("Confirmed sharing"),
    "consent.who_can_see": lazy_gettext("Looked at who can see"),
    "contributor.add": lazy_gettext("Chose a worker to write"),
    "contributor.remove": lazy_gettext("Stopped a worker writing"),
    "emergency.open": lazy_gettext("Opened emergency access"),
    "emergency.review": lazy_gettext("Checked an emergency access"),
    "mdt.agenda_add": lazy_gettext("Added a person to an MDT agenda"),
    "mdt.summary": lazy_gettext("Read an MDT summary"),
    "mdt.action_add": lazy_gettext("Added an MDT action"),
    "mdt.action_update": lazy_gettext("Changed an MDT action"),
    "admin.mdt_create": lazy_gettext("Set up an MDT"),
    "admin.mdt_member_add": lazy_gettext("Added an MDT member"),
    "audit.query": lazy_gettext("Searched the access log"),
    "audit.export": lazy_gettext("Exported the access log"),
    "audit.verify": lazy_gettext("Checked the log is whole"),
    "person.erase": lazy_gettext("Deleted a passport"),
    "keys.rotate": lazy_gettext("Changed the encryption keys"),
    "admin.agency_add": lazy_gettext("Added a service"),
    "admin.staff_add": lazy_gettext("Added a staff account"),
    "admin.client_add": lazy_gettext("Added an app"),
    "record.dispute": lazy_gettext("Said an entry is wrong"),
    "record.dispute_answer": lazy_gettext("Answered a person who said an entry is wrong"),
    "record.subject_access": lazy_gettext("Made a subject access copy"),
    "rights.subject_access_request": lazy_gettext("Recorded a subject access request"),
    "rights.subject_access_answered": lazy_gettext("Answered a subject access request"),
    "rights.erasure_request": lazy_gettext("Asked for erasure"),
    "rights.erasure_decision": lazy_gettext("Decided an erasure request"),
    "rights.retention_report": lazy_gettext("Listed passports due for erasure"),
    "representative.add": lazy_gettext("Added a representative"),
    "representative.remove": lazy_gettext("Stopped a representative"),
    "representative.list": lazy_gettext("Looked at representatives"),
    "representative.review": lazy_gettext("Reviewed a legal representative"),
}
LOG_REASON_WORDS = {
    "no-grant": lazy_gettext("The person has not agreed to share this"),
    "grant-expired": lazy_gettext("The person's sharing had ended"),
    "grant-revoked": lazy_gettext("The person had stopped sharing"),
    "grant-pending": lazy_gettext("The sharing had not started yet"),
    "wrong-purpose": lazy_gettext("Shared for a different reason"),
    "not-contributor": lazy_gettext("Not a worker who writes in this passport"),
    "not-person": lazy_gettext("Only the person can do this"),
    "emergency-expired": lazy_gettext("Emergency access had ended"),
    "role": lazy_gettext("Their role does not allow this"),
    "not-found": lazy_gettext("Not found"),
    "bad-credentials": lazy_gettext("Wrong username or passphrase"),
    "bad-second-factor": lazy_gettext("Wrong sign-in code"),
    "erased": lazy_gettext("The passport was deleted"),
    "code-reused": lazy_gettext("A code used twice"),
    "refresh-token-reused": lazy_gettext("App access used twice"),
    "setup-code-invalid": lazy_gettext("Set-up code wrong or ended"),
    "outside-delegation": lazy_gettext("Outside what the worker may record"),
    "recorder-as-grantee": lazy_gettext("A worker cannot record sharing with themself"),
    "own-emergency": lazy_gettext("Their own emergency access"),
    "not-forum-member": lazy_gettext("Not a member of this MDT"),
    "mixed-duties": lazy_gettext("The account has both reading and oversight roles"),
    "not-author-agency": lazy_gettext("Not the service that wrote the entry"),
    "not-requester": lazy_gettext("Not the data protection officer who recorded the request"),
    "outside-agency": lazy_gettext("Nobody at their service has looked at this passport"),
    "not-scheme-wide": lazy_gettext("Only a scheme-wide data protection officer can do this"),
    "not-represented": lazy_gettext("Does not act for this person"),
    "representative-not-approved": lazy_gettext("Legal representative not approved"),
    "representative-power": lazy_gettext("A representative cannot do this"),
    "own-recording": lazy_gettext("They recorded it themself"),
}
LEGAL_WORDS = {
    "lpa": lazy_gettext("Lasting power of attorney"),
    "deputy": lazy_gettext("Deputy (Court of Protection)"),
    "appointee": lazy_gettext("Appointee for benefits"),
}
REVIEW_WORDS = {"approved": lazy_gettext("Approved"), "refused": lazy_gettext("Refused")}
# How a representative acts for the person ("Ann (helping you)"), by access or legal basis.
ACTING_WORDS = {
    "view": lazy_gettext("can see your passport"),
    "help": lazy_gettext("helping you"),
    "lpa": lazy_gettext("your lasting power of attorney"),
    "deputy": lazy_gettext("your deputy"),
    "appointee": lazy_gettext("your appointee"),
}
LOG_OUTCOME_WORDS = {
    "allowed": lazy_gettext("Allowed"),
    "denied": lazy_gettext("Refused"),
    "error": lazy_gettext("Failed"),
}
RISK_KINDS = _translated(labels.RISK_KINDS)
RISK_LEVELS = _translated(labels.RISK_LEVELS)
# The ten domains of the New Directions Team (NDT) assessment, in plain words.
NDT_DOMAIN_NAMES = {
    "engagement": lazy_gettext("Working with services"),
    "intentional_self_harm": lazy_gettext("Hurting themself on purpose"),
    "unintentional_self_harm": lazy_gettext("Hurting themself by accident or neglect"),
    "risk_to_others": lazy_gettext("Risk to others"),
    "risk_from_others": lazy_gettext("Risk from others"),
    "stress_and_anxiety": lazy_gettext("Stress and worry"),
    "social_effectiveness": lazy_gettext("Getting on with other people"),
    "alcohol_drug_abuse": lazy_gettext("Alcohol and drugs"),
    "impulse_control": lazy_gettext("Acting without thinking"),
    "housing": lazy_gettext("Housing"),
}
CONTACT_METHODS = _translated(labels.CONTACT_METHODS)
PREFERENCE_FIELDS = _translated(labels.PREFERENCE_FIELDS)
MEDICATION_FIELDS = _translated(labels.MEDICATION_FIELDS)
WORKER_FIELDS = {
    "organisation": lazy_gettext("Organisation"),
    "role": lazy_gettext("Role"),
    "phone": lazy_gettext("Phone"),
    "email": lazy_gettext("Email"),
    "since": lazy_gettext("Since"),
    "until": lazy_gettext("Until"),
}
PROFILE_FIELDS = {
    "name": lazy_gettext("Name"),
    "preferred_name": lazy_gettext("Preferred name"),
    "date_of_birth": lazy_gettext("Date of birth"),
    "pronouns": lazy_gettext("Pronouns"),
    "language": lazy_gettext("Language"),
}

# The admin's lists: kinds of agency and staff roles in words, not codes (issue 14).
AGENCY_KIND_NAMES = {
    "housing": lazy_gettext("Housing"),
    "health": lazy_gettext("Health"),
    "mental_health": lazy_gettext("Mental health"),
    "substance_use": lazy_gettext("Drugs and alcohol"),
    "probation": lazy_gettext("Probation"),
    "police": lazy_gettext("Police"),
    "supported_accommodation": lazy_gettext("Supported accommodation"),
    "voluntary": lazy_gettext("Voluntary sector"),
    "other": lazy_gettext("Other"),
}
ROLE_NAMES = {
    "caseworker": lazy_gettext("Caseworker"),
    "mdt_chair": lazy_gettext("MDT chair"),
    "dpo": lazy_gettext("Data protection officer (DPO)"),
    "admin": lazy_gettext("Admin"),
}

# The log's sequence numbers are 64-bit; a cursor past that is no page of this log.
MAX_SEQ = 2**63 - 1


def log_cursor(value: str | None) -> int | None:
    """A page cursor from a query string: a whole number the log could hold, else None."""
    if value is None or not value.isdigit() or len(value) > 19 or int(value) > MAX_SEQ:
        return None
    return int(value)


def day(value: date | datetime | str | None) -> str:
    """'3 March 2027' (or 'Mawrth' in Welsh)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return str(format_date(value, "d MMMM yyyy"))


def moment(value: datetime | str | None) -> str:
    """'3 March 2027, 14:05' in the user's language (UK time)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return str(format_datetime(value, "d MMMM yyyy, HH:mm"))


def refusal_detail(error: PassportError) -> tuple[str, str | None]:
    """A refusal's detail in the page's language, and "en" when it is still English on a
    page that is not (to mark it lang="en"). A consent refusal is put together from its
    reasons (passport.records.refusals); any other detail the domain marked for translation
    (passport.languages.N_) is looked up as it stands."""
    if isinstance(error, ConsentRequired) and error.reasons:
        phrases = [str(gettext(phrase)) for phrase in refusals.phrases(error.reasons)]
        text = str(gettext(refusals.NO_CONSENT, reasons="; ".join(phrases)))
    else:
        text = str(gettext(error.detail))
    english = str(get_locale()) != "en" and text == error.detail
    return text, "en" if english else None


def shown_name(person: dict[str, Any] | None) -> str:
    """A person as staff see them: the preferred name, or a neutral label when it is not
    theirs to see (the legal name needs a profile grant; passport.records.content)."""
    name = (person or {}).get("preferred_name")
    return str(name) if name else str(gettext("Name not shared"))


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return str(gettext("%(items)s and %(last)s", items=", ".join(words[:-1]), last=words[-1]))


def grant_sentence(
    grantee_name: str, sections: list[str], purpose: str, starts_on: date, expires_on: date
) -> str:
    """One plain sentence per grant. In English it is exactly the wording the person agreed to
    (passport.consent.wording, whose digest is on the receipt); in Welsh, its translation."""
    if str(get_locale()) == "en":
        return consent_sentence(grantee_name, sections, purpose, starts_on, expires_on)
    ordered = [str(SECTION_WORDS[s]) for s in SECTION_WORDS if s in set(sections)]
    return str(
        gettext(
            "%(who)s can see %(what)s from %(start)s until %(end)s, %(why)s. "
            "You can stop this at any time.",
            who=grantee_name,
            what=_join(ordered),
            start=day(starts_on),
            end=day(expires_on),
            why=str(PURPOSE_WORDS.get(purpose, purpose)),
        )
    )


def sits_on_mdt(actor: Actor) -> bool:
    """For the menu: staff who are a member or chair of at least one MDT."""
    from ..consent.decision import forum_ids_of

    return actor.is_staff and bool(forum_ids_of(actor))


def template_helpers() -> dict[str, Any]:
    return {
        "sits_on_mdt": sits_on_mdt,
        "SECTION_TITLES": SECTION_TITLES,
        "STAFF_SECTION_TITLES": STAFF_SECTION_TITLES,
        "PURPOSE_NAMES": PURPOSE_NAMES,
        "STATUS_NAMES": STATUS_NAMES,
        "ACTION_WORDS": ACTION_WORDS,
        "LOG_ACTION_WORDS": LOG_ACTION_WORDS,
        "LOG_REASON_WORDS": LOG_REASON_WORDS,
        "LOG_OUTCOME_WORDS": LOG_OUTCOME_WORDS,
        "ACTING_WORDS": ACTING_WORDS,
        "LEGAL_WORDS": LEGAL_WORDS,
        "REVIEW_WORDS": REVIEW_WORDS,
        "RISK_KINDS": RISK_KINDS,
        "RISK_LEVELS": RISK_LEVELS,
        "NDT_DOMAIN_NAMES": NDT_DOMAIN_NAMES,
        "CONTACT_METHODS": CONTACT_METHODS,
        "PREFERENCE_FIELDS": PREFERENCE_FIELDS,
        "MEDICATION_FIELDS": MEDICATION_FIELDS,
        "WORKER_FIELDS": WORKER_FIELDS,
        "PROFILE_FIELDS": PROFILE_FIELDS,
        "AGENCY_KIND_NAMES": AGENCY_KIND_NAMES,
        "ROLE_NAMES": ROLE_NAMES,
        "day": day,
        "moment": moment,
        "shown_name": shown_name,
    }

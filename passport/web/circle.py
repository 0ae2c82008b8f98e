"""The person's circle, on their pages: "Who can see my information" (built on
passport.consent.circle, the same list as `GET /who-can-see`), stopping a grantee in one step,
stopping a worker writing (and deciding, grant by grant, about the sharing they recorded), and
saying whether sharing a worker recorded with them is right.

No rules live here: the domain decides and logs every change.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from .. import db
from ..consent import circle, grants
from ..consent.decision import GrantStatus, RepresentationStatus, grant_status
from ..consent.models import Grant
from ..errors import NotFound
from ..identity.models import Staff
from ..records import operations
from . import bp
from .common import (
    PURPOSE_WORDS,
    SECTION_WORDS,
    _join,
    current_actor,
    day,
    grant_sentence,
    moment,
    person_only,
)

ANSWER_LATER = "confirm_later"  # in the session: "ask me later", until the next sign-in
STOP_WORKER = "stop_worker"  # in the session: the answers while stopping a worker


# -- words ----------------------------------------------------------------------------------


def section_words(sections: list[str]) -> str:
    return _join([str(SECTION_WORDS[s]) for s in SECTION_WORDS if s in set(sections)])


def _who(item: circle.CircleItem) -> str:
    if item.agency and item.kind != "agency":
        return f"{item.name} ({item.agency['name']})"
    return item.name


def recorded_sentence(grant: Grant) -> str:
    """'Tom Price recorded that you agreed to share your risks and your medication with Hope
    Housing to support you, until 3 March 2027.'"""
    recorder = db.session.get(Staff, grant.recorded_by_id)
    worker = recorder.name if recorder else ""
    return str(
        gettext(
            "%(worker)s recorded that you agreed to share %(what)s with %(who)s %(why)s, "
            "until %(end)s.",
            worker=worker,
            what=section_words(grant.sections),
            who=grants.grantee_of(grant).name,
            why=str(PURPOSE_WORDS.get(grant.purpose, grant.purpose)),
            end=day(grant.expires_on),
        )
    )


def _present(item: circle.CircleItem) -> str:
    what = section_words(item.sections)
    if item.kind == "contributor":
        return str(
            gettext(
                "%(who)s can write in your passport and see %(what)s.", who=_who(item), what=what
            )
        )
    if item.kind == "emergency":
        return str(
            gettext(
                "%(who)s opened %(what)s in an emergency. They can see it until %(when)s.",
                who=_who(item),
                what=what,
                when=moment(item.until),  # type: ignore[arg-type]
            )
        )
    assert item.since is not None and item.until is not None and item.purpose
    return grant_sentence(
        _who(item),
        item.sections,
        item.purpose,
        item.since,
        item.until,
    )


def _finding(value: str | None) -> str:
    if value == "justified":
        return str(gettext("The data protection officer checked this: it was needed."))
    if value == "not_justified":
        return str(gettext("The data protection officer checked this: it was not needed."))
    return str(gettext("The data protection officer has not checked this yet."))


def _past(item: circle.CircleItem) -> str:
    what = section_words(item.sections)
    who = _who(item)
    if item.kind == "contributor":
        return str(
            gettext(
                "%(who)s could write in your passport and see %(what)s. "
                "You stopped this on %(day)s.",
                who=who,
                what=what,
                day=day(item.ended_at),
            )
        )
    if item.kind == "emergency":
        return str(
            gettext(
                "%(who)s looked at %(what)s in an emergency on %(when)s.",
                who=who,
                what=what,
                when=moment(item.since),  # type: ignore[arg-type]
            )
        )
    why = str(PURPOSE_WORDS.get(item.purpose or "", item.purpose or ""))
    if item.status == GrantStatus.REVOKED:
        return str(
            gettext(
                "%(who)s could see %(what)s, %(why)s. You stopped this on %(day)s.",
                who=who,
                what=what,
                why=why,
                day=day(item.ended_at),
            )
        )
    return str(
        gettext(
            "%(who)s could see %(what)s, %(why)s, until %(day)s. This has ended.",
            who=who,
            what=what,
            why=why,
            day=day(item.until),
        )
    )


# -- who can see my information -------------------------------------------------------------


def _past_representative(item: circle.CircleItem) -> str:
    if item.status == RepresentationStatus.REFUSED:
        return str(
            gettext(
                "%(who)s was recorded as acting for you by law. A data protection officer "
                "said no, so they cannot.",
                who=item.name,
            )
        )
    return str(
        gettext(
            "%(who)s could act for you. This stopped on %(day)s.",
            who=item.name,
            day=day(item.ended_at),
        )
    )


def _tag(item: circle.CircleItem) -> str:
    """The grey tag of a past item: STATUS_NAMES' "Stopped" or "Ended"."""
    stopped = item.status in (
        GrantStatus.REVOKED,
        circle.CircleStatus.REMOVED,
        RepresentationStatus.REFUSED,
    )
    return GrantStatus.REVOKED if stopped else GrantStatus.EXPIRED


def _page_rows(items: list[circle.CircleItem]) -> dict[str, Any]:
    """The page's groups: one block per grantee with live grants (one Stop each), workers who
    can write, emergency looks open now, and everything stopped or ended, in the past tense."""
    grantees: dict[tuple[str, str], dict[str, Any]] = {}
    workers, emergencies, past = [], [], []
    representatives: list[dict[str, Any]] = []
    for item in items:
        if item.kind in ("agency", "staff", "mdt"):
            if item.status in (GrantStatus.ACTIVE, GrantStatus.PENDING):
                block = grantees.setdefault(
                    (item.kind, item.id),
                    {"name": _who(item), "stop_id": item.grant_id, "grants": []},
                )
                block["grants"].append(
                    {
                        "id": item.grant_id,
                        "sentence": _present(item),
                        "pending": item.status == GrantStatus.PENDING,
                        "unconfirmed": not item.confirmed,
                        "recorder": (item.recorded_by or {}).get("name"),
                        "until": item.until,
                    }
                )
            else:
                past.append({"sentence": _past(item), "tag": _tag(item)})
        elif item.kind == "contributor":
            if item.live:
                workers.append({"id": item.id, "name": _who(item), "sentence": _present(item)})
            else:
                past.append({"sentence": _past(item), "tag": _tag(item)})
        elif item.kind == "representative":
            if item.live or item.status == RepresentationStatus.PENDING:
                representatives.append(
                    {
                        "id": item.id,
                        "name": item.name,
                        "acting": item.extra.get("legal_basis") or item.extra.get("access"),
                        "pending": item.status == RepresentationStatus.PENDING,
                    }
                )
            else:
                past.append({"sentence": _past_representative(item), "tag": _tag(item)})
        elif item.kind == "emergency":
            if item.live:
                emergencies.append({"sentence": _present(item), "finding": None})
            else:
                past.append(
                    {"sentence": _past(item), "tag": _tag(item), "finding": _finding(item.finding)}
                )
    return {
        "grantees": list(grantees.values()),
        "workers": workers,
        "emergencies": emergencies,
        "representatives": representatives,
        "past": past,
        "nobody": not (grantees or workers or emergencies or representatives),
    }


@bp.route("/me/sharing")
@person_only
def sharing() -> ResponseReturnValue:
    actor = current_actor()
    rows = _page_rows(circle.who_can_see(actor, actor.id))
    return render_template("person/sharing.html", **rows)


def _live(grant: Grant) -> bool:
    return grant_status(grant, db.utcnow().date()) in (GrantStatus.ACTIVE, GrantStatus.PENDING)


@bp.route("/me/sharing/<uuid:grant_id>/stop", methods=["GET", "POST"])
@person_only
def stop_sharing(grant_id: Any) -> ResponseReturnValue:
    """Stop a grantee (the one this grant names): every live grant to them, in one step."""
    actor = current_actor()
    chosen = grants.get_grant(actor, actor.id, str(grant_id))
    grantee = grants.grantee_of(chosen)
    same = [
        g
        for g in grants.list_grants(actor, actor.id)
        if (g.grantee_type, g.grantee_id) == (chosen.grantee_type, chosen.grantee_id) and _live(g)
    ]
    if not same:
        flash(
            gettext(
                "You already stopped this. %(name)s cannot see your information.",
                name=grantee.name,
            )
        )
        return redirect(url_for("web.sharing"))
    if request.method == "POST":
        for grant in same:
            grants.revoke_grant(actor, actor.id, grant.id, None)
        flash(gettext("Done. %(name)s cannot see your information any more.", name=grantee.name))
        return redirect(url_for("web.sharing"))
    sentences = [
        grant_sentence(grantee.name, g.sections, g.purpose, g.starts_on, g.expires_on) for g in same
    ]
    return render_template(
        "person/stop.html", grant_id=chosen.id, name=grantee.name, sentences=sentences
    )


# -- stopping a worker writing --------------------------------------------------------------


def _worker(staff_id: str) -> Staff:
    staff = db.session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("there is no such worker")
    return staff


def _is_live_contributor(person_id: str, staff_id: str) -> bool:
    return staff_id in {
        c.staff_id for c in operations.list_contributors(current_actor(), person_id)
    }


def _stop_worker_state(staff_id: str) -> dict[str, Any]:
    state = session.get(STOP_WORKER)
    if isinstance(state, dict) and state.get("staff_id") == staff_id:
        return state
    return {"staff_id": staff_id, "answers": {}}


def _finish_stopping(person_id: str, staff: Staff, keep: list[str]) -> ResponseReturnValue:
    actor = current_actor()
    operations.remove_contributor(actor, person_id, staff.id, keep_grants=keep)
    session.pop(STOP_WORKER, None)
    flash(gettext("Done. %(name)s cannot write in your passport any more.", name=staff.name))
    return redirect(url_for("web.sharing"))


@bp.route("/me/sharing/workers/<uuid:staff_id>/stop", methods=["GET", "POST"])
@person_only
def stop_contributor(staff_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    staff = _worker(str(staff_id))
    if not _is_live_contributor(actor.id, staff.id):
        flash(gettext("%(name)s already cannot write in your passport.", name=staff.name))
        return redirect(url_for("web.sharing"))
    recorded = grants.live_grants_recorded_by(actor.id, staff.id)
    if request.method == "POST":
        if not recorded:
            return _finish_stopping(actor.id, staff, [])
        session[STOP_WORKER] = {"staff_id": staff.id, "answers": {}}
        return redirect(
            url_for("web.stop_contributor_grant", staff_id=staff.id, grant_id=recorded[0].id)
        )
    return render_template("person/stop_worker.html", staff=staff, recorded=len(recorded))


@bp.route("/me/sharing/workers/<uuid:staff_id>/stop/<uuid:grant_id>", methods=["GET", "POST"])
@person_only
def stop_contributor_grant(staff_id: Any, grant_id: Any) -> ResponseReturnValue:
    """One grant the worker recorded per page: keep it, or stop it with them. The default is
    to stop what the person never confirmed, and keep what they did."""
    actor = current_actor()
    staff = _worker(str(staff_id))
    if not _is_live_contributor(actor.id, staff.id):
        flash(gettext("%(name)s already cannot write in your passport.", name=staff.name))
        return redirect(url_for("web.sharing"))
    recorded = grants.live_grants_recorded_by(actor.id, staff.id)
    ids = [g.id for g in recorded]
    if str(grant_id) not in ids:
        raise NotFound("there is no such sharing to ask about")
    grant = recorded[ids.index(str(grant_id))]
    state = _stop_worker_state(staff.id)
    errors: dict[str, str] = {}
    choice = state["answers"].get(grant.id) or ("yes" if grant.confirmed_at else "no")
    if request.method == "POST":
        choice = request.form.get("keep", "")
        if choice in ("yes", "no"):
            state["answers"][grant.id] = choice
            session[STOP_WORKER] = state
            later = ids[ids.index(grant.id) + 1 :]
            if later:
                return redirect(
                    url_for("web.stop_contributor_grant", staff_id=staff.id, grant_id=later[0])
                )
            keep = [g for g in ids if state["answers"].get(g) == "yes"]
            return _finish_stopping(actor.id, staff, keep)
        errors["keep"] = gettext("Choose if you want to keep this")
    return render_template(
        "person/stop_worker_grant.html",
        staff=staff,
        grant_id=grant.id,
        sentence=recorded_sentence(grant),
        confirmed=grant.confirmed_at is not None,
        number=ids.index(grant.id) + 1,
        total=len(ids),
        choice=choice,
        errors=errors,
    )


# -- is that right? (assisted grants the person has not confirmed) ----------------------------


def next_question() -> ResponseReturnValue | None:
    """Where the home page sends the person first: the oldest assisted grant they have not
    said is right, unless they chose to answer later in this visit."""
    if session.get(ANSWER_LATER):
        return None
    actor = current_actor()
    waiting = grants.unconfirmed_to_ask(actor, actor.id)
    if not waiting:
        return None
    return redirect(url_for("web.confirm_question", grant_id=waiting[0].id))


@bp.route("/me/confirm/<uuid:grant_id>", methods=["GET", "POST"])
@person_only
def confirm_question(grant_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    grant = grants.get_grant(actor, actor.id, str(grant_id))  # 404 if not theirs
    waiting = grants.unconfirmed_to_ask(actor, actor.id)
    if grant.id not in {g.id for g in waiting}:
        flash(gettext("You have already answered this. Here is who can see your information."))
        return redirect(url_for("web.sharing"))
    errors: dict[str, str] = {}
    if request.method == "POST":
        answer = request.form.get("answer", "")
        if answer == "yes":
            grants.confirm_grant(actor, actor.id, grant.id, "signed_in")
            flash(gettext("Thank you. You said this is right."))
        elif answer == "no":
            grants.revoke_grant(actor, actor.id, grant.id, None)
            flash(
                gettext(
                    "Done. %(name)s cannot see this any more.", name=grants.grantee_of(grant).name
                )
            )
        else:
            errors["answer"] = gettext("Choose Yes or No, stop it")
        if not errors:
            rest = [g for g in waiting if g.id != grant.id]
            if rest:
                return redirect(url_for("web.confirm_question", grant_id=rest[0].id))
            return redirect(url_for("web.my_passport"))
    ids = [g.id for g in waiting]
    return render_template(
        "person/confirm.html",
        grant_id=grant.id,
        sentence=recorded_sentence(grant),
        number=ids.index(grant.id) + 1,
        total=len(ids),
        errors=errors,
    )


@bp.route("/me/confirm/later", methods=["POST"])
@person_only
def confirm_later() -> ResponseReturnValue:
    session[ANSWER_LATER] = True
    flash(gettext("We will ask you again next time you sign in."))
    return redirect(url_for("web.my_passport"))

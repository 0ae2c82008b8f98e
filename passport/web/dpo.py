"""The data protection officer's pages: the access log with filters, the break-glass review
queue, and the log's integrity with its last signed checkpoint. DPOs never read content."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from .. import db
from ..audit import operations as audit_operations
from ..consent import emergency
from ..errors import Forbidden, Invalid, NotFound
from ..identity.actor import Actor
from ..identity.directory import names_of
from ..vocabulary import Action, Outcome, Role
from . import bp
from .common import current_actor, log_cursor, staff_with
from .plain import Check, Field, date_not_before, example_day, is_uuid

PAGE = 50
FIRST_DAY = date(2000, 1, 1)  # long before Passport's first event
ID_EXAMPLE = "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed"

LOG_FIELDS = (
    Field(
        "person_id",
        lazy_gettext("Person id"),
        choose=lazy_gettext(
            "Enter the person’s id as the log shows it, for example %(example)s",
            example=ID_EXAMPLE,
        ),
    ),
    Field(
        "actor_id",
        lazy_gettext("Staff id"),
        choose=lazy_gettext(
            "Enter the worker’s id as the log shows it, for example %(example)s",
            example=ID_EXAMPLE,
        ),
    ),
    Field(
        "action",
        lazy_gettext("Action"),
        kind="choice",
        choose=lazy_gettext("Choose an action from the list"),
    ),
    Field(
        "outcome",
        lazy_gettext("Outcome"),
        kind="choice",
        choose=lazy_gettext("Choose an outcome from the list"),
    ),
    Field("since", lazy_gettext("From"), kind="date"),
    Field("until", lazy_gettext("To"), kind="date"),
    Field("before", lazy_gettext("Page")),
    Field("after", lazy_gettext("Page")),
)


def _start_of(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day else None


def _an_id(check: Check, name: str) -> str:
    """An id typed into a filter: a UUID, or "" (an error noted for anything else)."""
    value = check.text(request.args, name)
    if value and not is_uuid(value):
        check.add(name, check.fields[name].choose)
        return ""
    return value


@bp.route("/dpo/log")
@staff_with(Role.DPO)
def dpo_log() -> ResponseReturnValue:
    """The access log, newest first, with filters. Every filter is read and bounded: one that
    cannot be read is named on the form (GOV.UK error messages) and nothing is searched, as a
    search that quietly dropped it would show the DPO events they did not ask for."""
    actor = current_actor()
    args = request.args
    check = Check(LOG_FIELDS)
    person_id = _an_id(check, "person_id")
    actor_id = _an_id(check, "actor_id")
    action = check.choice(args, "action", [a.value for a in Action])
    outcome = check.choice(args, "outcome", [o.value for o in Outcome])
    last = db.utcnow().date() + timedelta(days=1)  # the UK's today, whatever UTC says
    since = check.date(args, "since", first=FIRST_DAY, last=last)
    until = check.date(args, "until", first=FIRST_DAY, last=last)
    if since and until and until < since:
        check.add(
            "until", date_not_before(check.fields["until"].label, check.fields["since"].label)
        )
        until = None
    # Newest first; "after" (the old, oldest-first cursor) is still read and bounded.
    before = log_cursor(args.get("before", "").strip() or "0")
    for name, cursor in (
        ("before", before),
        ("after", log_cursor(args.get("after", "").strip() or "0")),
    ):
        if cursor is None:
            check.add(name, gettext("That page of the log does not exist: start from the newest"))
    where = audit_operations.EventFilter(
        person_id=person_id or None,
        actor_id=actor_id or None,
        action=action or None,
        outcome=outcome or None,
        since=_start_of(since),
        until=_start_of(until + timedelta(days=1)) if until else None,
    )
    items: list[Any] = []
    next_before: int | None = None
    if check.ok:
        items, next_before = audit_operations.search_newest_first(
            actor, where, before_seq=before or None, limit=PAGE
        )
    staff_names, agency_names = names_of(
        {str(e["actor"].get("id")) for e in items if (e["actor"] or {}).get("kind") == "staff"},
        {str(e["actor"]["agency_id"]) for e in items if (e["actor"] or {}).get("agency_id")},
    )
    query = {k: v for k, v in args.items() if k not in ("after", "before") and v}
    return render_template(
        "dpo/log.html",
        items=items,
        next_before=next_before,
        staff_names=staff_names,
        agency_names=agency_names,
        values=check.values,
        actions=[a.value for a in Action],
        outcomes=[o.value for o in Outcome],
        query=query,
        errors=check.errors,
        example=example_day(-7),
    )


@bp.route("/dpo/emergency")
@staff_with(Role.DPO)
def dpo_emergency() -> ResponseReturnValue:
    items = emergency.review_queue(current_actor(), None)
    waiting = [i for i in items if i.review is None]
    done = [i for i in items if i.review is not None]
    return render_template("dpo/emergency.html", waiting=waiting, done=done)


REVIEW_NOTES_MAX = 2000  # as the API (passport.api.schemas)
REVIEW_FIELDS = (
    Field(
        "outcome",
        lazy_gettext("Finding"),
        kind="choice",
        required=lazy_gettext("Choose whether the emergency access was justified"),
        choose=lazy_gettext("Choose whether the emergency access was justified"),
    ),
    Field(
        "notes",
        lazy_gettext("Notes"),
        required=lazy_gettext("Write a note about your decision"),
        max_length=REVIEW_NOTES_MAX,
    ),
)


@bp.route("/dpo/emergency/<uuid:access_id>", methods=["GET", "POST"])
@staff_with(Role.DPO)
def dpo_review(access_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    check = Check(REVIEW_FIELDS)
    values = {"outcome": "", "notes": ""}
    if request.method == "POST":
        values = {
            "outcome": check.choice(request.form, "outcome", emergency.REVIEW_OUTCOMES),
            "notes": check.text(request.form, "notes"),
        }
        values["outcome"] = check.values["outcome"]
        if check.ok:
            try:
                emergency.review(actor, str(access_id), values["outcome"], values["notes"])
            except Invalid as error:
                check.invalid(error)
            except Forbidden:
                # Their own break-glass (logged by the domain): the page below says who may.
                return render_template(
                    "dpo/review.html", item=_queued(actor, access_id), errors={}, values=values
                ), 403
            else:
                flash(gettext("Review saved."))
                return redirect(url_for("web.dpo_emergency"))
    item = _queued(actor, access_id)
    return render_template(
        "dpo/review.html", item=item, errors=check.errors, values=values, max_notes=REVIEW_NOTES_MAX
    )


def _queued(actor: Actor, access_id: Any) -> emergency.EmergencyItem:
    item = next((i for i in emergency.review_queue(actor, None) if i.id == str(access_id)), None)
    if item is None:
        raise NotFound("there is no such emergency access for you to review")
    return item


@bp.route("/dpo/integrity", methods=["GET", "POST"])
@staff_with(Role.DPO)
def dpo_integrity() -> ResponseReturnValue:
    actor = current_actor()
    result: Any = None
    if request.method == "POST":
        result = audit_operations.verify_log(actor)
    last: dict[str, Any] | None = None
    after: int | None = 0
    while after is not None:  # pages of checkpoints, oldest first: keep the newest
        page, after = audit_operations.list_checkpoints(actor, after_seq=after)
        last = page[-1] if page else last
    return render_template("dpo/integrity.html", result=result, last=last)

"""Emergency: find a person by name and date of birth (caseworkers), then open break-glass
(passport.web.caseworker.emergency_access) and read the brief with purpose=emergency.

The search is a POST, so the name typed never sits in an address, a history or a server log.
Every rule is the domain's (passport.records.search): who may search, what is shown (the
preferred name and date of birth only), and the access-log event of every search.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, gettext, lazy_gettext, to_user_timezone

from .. import db
from ..records import search
from . import bp
from .common import current_actor, day, signed_in
from .plain import Check, Field, date_in_past

SEARCH_FIELDS = (
    Field(
        "name",
        lazy_gettext("Their name"),
        required=lazy_gettext("Enter their name"),
        max_length=200,  # as the profile section's schema
    ),
    Field(
        "date_of_birth",
        lazy_gettext("Their date of birth"),
        kind="date",
        required=lazy_gettext("Enter their date of birth, for example 14 3 1992"),
    ),
)
EARLIEST_BIRTH = date(1900, 1, 1)


@bp.route("/emergency/find", methods=["GET", "POST"])
@signed_in
def emergency_search() -> ResponseReturnValue:
    actor = current_actor()
    search.require_searcher(actor)  # caseworkers only; a refusal is logged and is a 403
    check = Check(SEARCH_FIELDS)
    found: list[dict[str, Any]] | None = None
    if request.method == "POST":
        name = check.text(request.form, "name")
        born = check.date(
            request.form,
            "date_of_birth",
            first=EARLIEST_BIRTH,
            last=db.utcnow().date(),
            too_late=date_in_past(SEARCH_FIELDS[1].label),
        )
        if check.ok and born is not None:
            found = search.emergency_search(actor, name, born)
    return render_template(
        "caseworker/emergency_search.html", errors=check.errors, values=check.values, found=found
    )


def access_ends(expires_at: datetime) -> str:
    """'Emergency access ends at 14:05 today.' (or on another day, said so)."""
    ends = to_user_timezone(expires_at)
    when = str(format_datetime(expires_at, "HH:mm"))
    if ends.date() == to_user_timezone(db.utcnow()).date():
        return str(gettext("Emergency access ends at %(time)s today.", time=when))
    return str(gettext("Emergency access ends at %(time)s on %(day)s.", time=when, day=day(ends)))

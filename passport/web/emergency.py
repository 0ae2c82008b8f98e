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
from flask_babel import format_datetime, gettext, to_user_timezone

from .. import db
from ..records import search
from . import bp
from .common import current_actor, day, signed_in


def _date_from(form: Any, prefix: str) -> tuple[dict[str, str], date | None]:
    parts = {key: form.get(f"{prefix}-{key}", "").strip() for key in ("day", "month", "year")}
    try:
        value = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        return parts, None
    return parts, value if 1900 <= value.year <= db.utcnow().year else None


@bp.route("/emergency/find", methods=["GET", "POST"])
@signed_in
def emergency_search() -> ResponseReturnValue:
    actor = current_actor()
    search.require_searcher(actor)  # caseworkers only; a refusal is logged and is a 403
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"name": "", "date_of_birth": {}}
    found: list[dict[str, Any]] | None = None
    if request.method == "POST":
        values["name"] = request.form.get("name", "").strip()
        values["date_of_birth"], born = _date_from(request.form, "date_of_birth")
        if not values["name"]:
            errors["name"] = gettext("Enter their name")
        if born is None:
            errors["date_of_birth-day"] = gettext(
                "Enter their date of birth, for example 14 3 1992"
            )
        if not errors:
            found = search.emergency_search(actor, values["name"], born)
    return render_template(
        "caseworker/emergency_search.html", errors=errors, values=values, found=found
    )


def access_ends(expires_at: datetime) -> str:
    """'Emergency access ends at 14:05 today.' (or on another day, said so)."""
    ends = to_user_timezone(expires_at)
    when = str(format_datetime(expires_at, "HH:mm"))
    if ends.date() == to_user_timezone(db.utcnow()).date():
        return str(gettext("Emergency access ends at %(time)s today.", time=when))
    return str(gettext("Emergency access ends at %(time)s on %(day)s.", time=when, day=day(ends)))

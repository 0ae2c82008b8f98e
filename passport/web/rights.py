"""Data-protection rights on the pages: the DPO's subject access requests (with the day the
legal month ends, the pack as JSON and PDF), the DPO's erasure requests and decisions, what
retention will erase, and the person's own erasure request. Every rule is the domain's
(passport.rights): these views parse, call and render."""

from __future__ import annotations

import contextlib
import json
from datetime import date
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext

from .. import db
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..rights import operations, pack, printing, retention
from ..rights.models import SubjectAccessRequest
from ..rights.processing import processing_information
from ..vocabulary import Role
from . import bp
from .common import current_actor, person_only, staff_with

SAR_FIELDS = ("person_id", "reason", "received_on-day", "received_on-month", "received_on-year")


def _processing() -> dict[str, Any]:
    settings = current_app.config["PASSPORT_SETTINGS"]
    database = "PostgreSQL" if settings.database_url.startswith("postgresql") else "SQLite"
    return processing_information(settings.retention_years, settings.key_provider, database)


def _received_on(values: dict[str, str]) -> date | None:
    try:
        year, month, day = (int(values[f"received_on-{p}"]) for p in ("year", "month", "day"))
        return date(year, month, day)
    except ValueError:
        return None


# -- subject access (the DPO) -----------------------------------------------------------------


@bp.route("/dpo/subject-access", methods=["GET", "POST"])
@staff_with(Role.DPO)
def dpo_subject_access() -> ResponseReturnValue:
    actor = current_actor()
    errors: dict[str, str] = {}
    values = {name: "" for name in SAR_FIELDS}
    values["person_id"] = request.args.get("person_id", "").strip()[:64]
    status = 200
    if request.method == "POST":
        values = {name: str(request.form.get(name, "")).strip() for name in SAR_FIELDS}
        received = _received_on(values)
        if not values["person_id"]:
            errors["person_id"] = gettext("Enter the person's passport id")
        if not values["reason"]:
            errors["reason"] = gettext("Say who asked and how, for example: by letter")
        if received is None:
            errors["received_on"] = gettext("Enter the day the request was received, as numbers")
        if not errors and received is not None:
            try:
                made = operations.record_subject_access_request(
                    actor, values["person_id"], values["reason"], received
                )
            except NotFound:
                errors["person_id"] = gettext("There is no passport with that id")
            except Forbidden as error:
                errors["person_id"] = error.detail
                status = 403
            except Invalid as error:
                fields = error.errors or {}
                if "received_on" in fields:
                    errors["received_on"] = gettext(
                        "The day the request was received must be today or before, "
                        "and not before 25 May 2018"
                    )
                if "reason" in fields:
                    errors["reason"] = gettext("The reason is too long")
            else:
                flash(gettext("Request recorded. Make the copy and send it by the date shown."))
                return redirect(url_for("web.dpo_subject_access") + f"#request-{made.id}")
    items = operations.subject_access_requests(actor)
    return render_template(
        "dpo/subject_access.html",
        waiting=[i for i in items if i.open],
        done=[i for i in items if not i.open],
        today=db.utcnow().date(),
        values=values,
        errors=errors,
    ), status


@bp.route("/dpo/subject-access/<uuid:sar_id>/answered", methods=["POST"])
@staff_with(Role.DPO)
def dpo_subject_access_answered(sar_id: Any) -> ResponseReturnValue:
    with contextlib.suppress(Conflict):  # answered already: the list says so
        operations.mark_answered(current_actor(), str(sar_id))
    flash(gettext("Marked as answered."))
    return redirect(url_for("web.dpo_subject_access"))


def _pack_of(sar_id: Any, fmt: str) -> dict[str, Any]:
    if db.session.get(SubjectAccessRequest, str(sar_id)) is None:
        raise NotFound("there is no such subject access request")
    return pack.build_pack(current_actor(), str(sar_id), fmt, _processing())


def _download(body: Any, mimetype: str, filename: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f"attachment; filename={filename}",
            "Cache-Control": "no-store",
        },
    )


@bp.route("/dpo/subject-access/<uuid:sar_id>/pack.json")
@staff_with(Role.DPO)
def dpo_subject_access_json(sar_id: Any) -> ResponseReturnValue:
    body = json.dumps(_pack_of(sar_id, "json"), ensure_ascii=False, indent=2)
    return _download(body, "application/json", "subject-access.json")


@bp.route("/dpo/subject-access/<uuid:sar_id>/pack.pdf")
@staff_with(Role.DPO)
def dpo_subject_access_pdf(sar_id: Any) -> ResponseReturnValue:
    pdf = printing.render_pdf(_pack_of(sar_id, "pdf"), str(get_locale() or "en"))
    return _download(pdf, "application/pdf", "subject-access.pdf")


@bp.route("/me/subject-access/<uuid:sar_id>/pack.pdf")
@person_only
def my_subject_access_pdf(sar_id: Any) -> ResponseReturnValue:
    pdf = printing.render_pdf(_pack_of(sar_id, "pdf"), str(get_locale() or "en"))
    return _download(pdf, "application/pdf", "my-passport-copy.pdf")


# -- erasure (the DPO) ------------------------------------------------------------------------


@bp.route("/dpo/erasure")
@staff_with(Role.DPO)
def dpo_erasure() -> ResponseReturnValue:
    items = operations.erasure_queue(current_actor())
    return render_template(
        "dpo/erasure.html",
        waiting=[i for i in items if i.status == "waiting"],
        done=[i for i in items if i.status != "waiting"],
    )


@bp.route("/dpo/erasure/<uuid:req_id>", methods=["GET", "POST"])
@staff_with(Role.DPO)
def dpo_erasure_decide(req_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    errors: dict[str, str] = {}
    values = {"outcome": "", "reason": ""}
    if request.method == "POST":
        values = {
            "outcome": str(request.form.get("outcome", "")),
            "reason": str(request.form.get("reason", "")).strip(),
        }
        if values["outcome"] not in operations.ERASURE_OUTCOMES:
            errors["outcome"] = gettext("Choose whether to erase the passport")
        if not values["reason"]:
            errors["reason"] = gettext("Say why: the person reads this")
        elif len(values["reason"]) > operations.MAX_REASON:
            errors["reason"] = gettext("The reason is too long")
        if not errors:
            try:
                operations.decide_erasure(actor, str(req_id), values["outcome"], values["reason"])
            except Conflict as error:
                errors["outcome"] = error.detail
            else:
                flash(
                    gettext("The passport was erased.")
                    if values["outcome"] == "approved"
                    else gettext("Refused. The person sees your reason on their page.")
                )
                return redirect(url_for("web.dpo_erasure"))
    item = operations.erasure_item(actor, str(req_id))
    return render_template("dpo/erasure_decide.html", item=item, values=values, errors=errors)


# -- retention (the DPO) ----------------------------------------------------------------------


@bp.route("/dpo/retention")
@staff_with(Role.DPO)
def dpo_retention() -> ResponseReturnValue:
    years = current_app.config["PASSPORT_SETTINGS"].retention_years
    items = retention.report(current_actor(), db.utcnow().date(), years)
    return render_template("dpo/retention.html", items=items, years=years)


# -- the person's erasure request -------------------------------------------------------------


@bp.route("/me/erasure", methods=["GET", "POST"])
@person_only
def my_erasure() -> ResponseReturnValue:
    actor = current_actor()
    errors: dict[str, str] = {}
    values = {"reason": "", "confirm": ""}
    if request.method == "POST":
        values = {
            "reason": str(request.form.get("reason", "")).strip(),
            "confirm": str(request.form.get("confirm", "")),
        }
        if values["confirm"] != "yes":
            errors["confirm"] = gettext("Tick the box to say you understand what is erased")
        elif len(values["reason"]) > operations.MAX_REASON:
            errors["reason"] = gettext("The reason is too long")
        if not errors:
            try:
                operations.request_erasure(actor, actor.id, values["reason"] or None)
            except Conflict:
                errors["confirm"] = gettext("You have already asked. You will see the answer here.")
            else:
                flash(gettext("You have asked. A data protection officer will decide."))
                return redirect(url_for("web.my_erasure"))
    items = operations.erasure_requests_for_person(actor, actor.id)
    return render_template(
        "person/erasure.html",
        items=items,
        waiting=any(i.status == "waiting" for i in items),
        values=values,
        errors=errors,
    )

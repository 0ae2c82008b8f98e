"""Writing in a passport on the pages: adding, changing and removing entries in every section,
stopping a medicine and marking a worker as left.

One set of pages for the person (their own passport, any section: /me/...) and for the
workers they chose as contributors (the sections delegated to them: /people/<id>/...). Who
may write is decided by the domain (passport.records.writing, over consent.decide_write),
which logs every refusal; every change goes through passport.records.operations, so each edit
is a new revision and earlier ones are kept.

No form loses data: each form below shows or carries every field of its section's content
(records/sections.py). The content is turned into a flat set of form values, rendered, and
read back from the same values, so a form sent back unchanged stores the same content
(tests/test_form_roundtrip.py checks this for any valid content).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from marshmallow import Schema, validate

from .. import db
from ..errors import Invalid, NotFound, PreconditionFailed
from ..identity import directory
from ..records import operations, writing
from ..records.content import EntryView
from ..records.operations import SecondLeadWorker
from ..records.sections import (
    CONTENT_SCHEMAS,
    NDT_DOMAINS,
    ContactPreference,
    RiskFlag,
)
from ..vocabulary import Role, Section
from . import bp, plain
from .common import (
    CONTACT_METHODS,
    MEDICATION_FIELDS,
    NDT_DOMAIN_NAMES,
    PREFERENCE_FIELDS,
    PROFILE_FIELDS,
    RISK_KINDS,
    RISK_LEVELS,
    SECTION_TITLES,
    STAFF_SECTION_TITLES,
    WORKER_FIELDS,
    current_actor,
    shown_name,
    signed_in,
    staff_with,
)

F = TypeVar("F", bound=Callable[..., ResponseReturnValue])
SECTIONS = "any(profile,story,risk,medication,workers,preferences)"
# What a worker writes in these sections is the person's own words: only with them there.
WITH_PERSON = {Section.STORY, Section.PREFERENCES}

# -- the forms: every field of every section ---------------------------------------------


@dataclass(frozen=True)
class Field:
    """One field of a section's content, as one form control (a date is three inputs)."""

    name: str
    label: Any
    kind: str  # text, textarea, email, tel, date, select, checkbox
    required: Any = None  # the message when it is left blank
    hint: Any = None
    choices: str | None = None  # for selects: a name in _choices()
    max_length: int | None = None
    rows: int = 4


@dataclass(frozen=True)
class Group:
    """A list of small objects (risk flags, ways to contact): one row each, plus a blank row;
    "add another" re-renders with one more row, keeping everything typed."""

    name: str
    legend: Any
    row_legend: Any  # with %(n)s
    add_label: Any
    remove_label: Any
    fields: tuple[Field, ...]
    hint: Any = None


@dataclass(frozen=True)
class Scores:
    """The ten NDT domains, each 0..4 or not scored."""

    name: str
    legend: Any
    hint: Any


Part = Field | Group | Scores


@dataclass(frozen=True)
class Form:
    section: Section
    parts: tuple[Part, ...] = field(default_factory=tuple)

    def simple_fields(self) -> list[Field]:
        return [p for p in self.parts if isinstance(p, Field)]


def _max(schema: type[Schema], name: str) -> int | None:
    """The longest value the section's schema accepts for this field (one source of rules)."""
    for validator in schema._declared_fields[name].validators:
        if isinstance(validator, validate.Length) and validator.max is not None:
            return int(validator.max)
    return None


def _field(section: Section, name: str, label: Any, kind: str, **extra: Any) -> Field:
    schema = CONTENT_SCHEMAS[section]
    return Field(name, label, kind, max_length=_max(schema, name), **extra)


def _sub(schema: type[Schema], name: str, label: Any, kind: str, **extra: Any) -> Field:
    return Field(name, label, kind, max_length=_max(schema, name), **extra)


P, S, R, M, W, C = (
    Section.PROFILE,
    Section.STORY,
    Section.RISK,
    Section.MEDICATION,
    Section.WORKERS,
    Section.PREFERENCES,
)

ENTER_NAME = lazy_gettext("Enter a name")
FORMS: dict[Section, Form] = {
    P: Form(
        P,
        (
            _field(P, "name", PROFILE_FIELDS["name"], "text", required=ENTER_NAME),
            _field(P, "preferred_name", PROFILE_FIELDS["preferred_name"], "text"),
            _field(P, "date_of_birth", PROFILE_FIELDS["date_of_birth"], "date"),
            _field(P, "pronouns", PROFILE_FIELDS["pronouns"], "text"),
            _field(P, "language", PROFILE_FIELDS["language"], "text"),
        ),
    ),
    S: Form(
        S,
        (
            _field(
                S,
                "title",
                lazy_gettext("Title (if you want one)"),
                "text",
                hint=lazy_gettext("For example: My life so far"),
            ),
            _field(
                S,
                "text",
                lazy_gettext("The story"),
                "textarea",
                required=lazy_gettext("Write something in the story"),
                rows=10,
            ),
            _field(S, "occurred_on", lazy_gettext("When it happened (if you know)"), "date"),
        ),
    ),
    R: Form(
        R,
        (
            Group(
                "flags",
                lazy_gettext("Risks to know about"),
                lazy_gettext("Risk %(n)s"),
                lazy_gettext("Add another risk"),
                lazy_gettext("Take this risk off"),
                (
                    _sub(
                        RiskFlag,
                        "kind",
                        lazy_gettext("What the risk is"),
                        "select",
                        required=lazy_gettext("Choose what the risk is"),
                        choices="risk_kinds",
                    ),
                    _sub(
                        RiskFlag,
                        "level",
                        lazy_gettext("How high"),
                        "select",
                        required=lazy_gettext("Choose how high the risk is"),
                        choices="risk_levels",
                    ),
                    _sub(
                        RiskFlag,
                        "detail",
                        lazy_gettext("More about it (if needed)"),
                        "textarea",
                        rows=2,
                    ),
                ),
            ),
            _field(R, "summary", lazy_gettext("Summary"), "textarea"),
            Scores(
                "ndt",
                lazy_gettext("NDT assessment (New Directions Team)"),
                lazy_gettext(
                    "Score each from 0 (no problem) to 4 (very serious), or leave it not "
                    "scored. The total is worked out for you: risk to and from others count "
                    "double, out of 48."
                ),
            ),
            _field(R, "review_on", lazy_gettext("When to look at this again"), "date"),
        ),
    ),
    M: Form(
        M,
        (
            _field(
                M,
                "name",
                lazy_gettext("Name of the medicine"),
                "text",
                required=lazy_gettext("Enter the name of the medicine"),
            ),
            _field(M, "dose", MEDICATION_FIELDS["dose"], "text"),
            _field(M, "frequency", MEDICATION_FIELDS["frequency"], "text"),
            _field(
                M,
                "route",
                MEDICATION_FIELDS["route"],
                "text",
                hint=lazy_gettext("For example: tablet, liquid, injection"),
            ),
            _field(M, "prescriber", MEDICATION_FIELDS["prescriber"], "text"),
            _field(M, "reason", MEDICATION_FIELDS["reason"], "textarea", rows=3),
            _field(M, "started_on", MEDICATION_FIELDS["started_on"], "date"),
            _field(M, "stopped_on", MEDICATION_FIELDS["stopped_on"], "date"),
            _field(M, "notes", MEDICATION_FIELDS["notes"], "textarea", rows=3),
        ),
    ),
    W: Form(
        W,
        (
            _field(W, "name", lazy_gettext("Their name"), "text", required=ENTER_NAME),
            _field(
                W,
                "role",
                WORKER_FIELDS["role"],
                "text",
                hint=lazy_gettext("For example: housing support worker"),
            ),
            _field(W, "organisation", WORKER_FIELDS["organisation"], "text"),
            _field(
                W,
                "agency_id",
                lazy_gettext("Their agency in Passport"),
                "select",
                choices="agencies",
            ),
            _field(
                W,
                "staff_id",
                lazy_gettext("Their Passport account"),
                "select",
                choices="accounts",
                hint=lazy_gettext(
                    "If they use Passport. As lead worker they can then help you get back in."
                ),
            ),
            _field(W, "phone", WORKER_FIELDS["phone"], "tel"),
            _field(W, "email", WORKER_FIELDS["email"], "email"),
            _field(
                W,
                "is_lead",
                lazy_gettext("This is the lead worker"),
                "checkbox",
                hint=lazy_gettext(
                    "The one worker who stays with you through every service. There can be only one."
                ),
            ),
            _field(W, "since", WORKER_FIELDS["since"], "date"),
            _field(W, "until", WORKER_FIELDS["until"], "date"),
        ),
    ),
    C: Form(
        C,
        (
            Group(
                "contact",
                lazy_gettext("How should services contact you?"),
                lazy_gettext("Way %(n)s"),
                lazy_gettext("Add another way"),
                lazy_gettext("Take this way off"),
                (
                    _sub(
                        ContactPreference,
                        "method",
                        lazy_gettext("Way to contact"),
                        "select",
                        required=lazy_gettext("Choose a way to contact"),
                        choices="contact_methods",
                    ),
                    _sub(
                        ContactPreference,
                        "detail",
                        lazy_gettext("Number or address (if it needs one)"),
                        "text",
                    ),
                    _sub(ContactPreference, "best_times", lazy_gettext("Best times"), "text"),
                ),
                hint=lazy_gettext("Put the best way first."),
            ),
            *(
                _field(
                    C,
                    name,
                    PREFERENCE_FIELDS[name],
                    "text" if name == "interpreter" else "textarea",
                    rows=3,
                )
                for name in (
                    "appointment_times",
                    "what_helps",
                    "triggers",
                    "what_has_not_helped",
                    "communication_needs",
                    "interpreter",
                    "goals",
                )
            ),
        ),
    ),
}

NOT_SCORED = lazy_gettext("Not scored")


def _choices() -> dict[str, list[tuple[str, str]]]:
    """The options of every select (a stored id missing from a list is added by `_control`)."""
    choose = str(lazy_gettext("Choose"))
    none = str(lazy_gettext("None chosen"))
    levels = ("low", "medium", "high")
    return {
        "risk_kinds": [("", choose), *((k, str(v)) for k, v in RISK_KINDS.items())],
        "risk_levels": [("", choose), *((k, str(RISK_LEVELS[k])) for k in levels)],
        "contact_methods": [("", choose), *((k, str(v)) for k, v in CONTACT_METHODS.items())],
        "agencies": [("", none), *((a.id, a.name) for a in directory.list_agencies())],
        "accounts": [("", none), *writing.worker_accounts()],
    }


# Lists of ids: a stored id that is not (or no longer) in the list is kept, never dropped.
ID_CHOICES = {"agencies", "accounts"}


# -- content <-> form values ----------------------------------------------------------------

State = dict[str, str]
_ROW_KEY = re.compile(r"^([a-z_]+)-(\d+)-([a-z_]+)$")
MAX_ROWS = 50


def to_state(form: Form, content: dict[str, Any]) -> State:
    """The form values that show `content`, every field of it."""
    state: State = {}
    for part in form.parts:
        if isinstance(part, Field):
            _field_to_state(part, part.name, content.get(part.name), state)
        elif isinstance(part, Group):
            for i, row in enumerate(content.get(part.name) or []):
                for sub in part.fields:
                    _field_to_state(sub, f"{part.name}-{i}-{sub.name}", row.get(sub.name), state)
        else:
            for domain, score in (content.get(part.name) or {}).items():
                state[f"{part.name}-{domain}"] = str(score)
    return state


def _field_to_state(f: Field, key: str, value: Any, state: State) -> None:
    if value is None:
        return
    if f.kind == "date":
        day = date.fromisoformat(str(value))
        state[f"{key}-day"], state[f"{key}-month"] = str(day.day), str(day.month)
        state[f"{key}-year"] = f"{day.year:04d}"
    elif f.kind == "checkbox":
        if value:
            state[key] = "yes"
    else:
        state[key] = str(value)


def _typed(value: str) -> str:
    # Browsers send new lines in a text box as CR LF; the stored text has LF.
    return value.replace("\r\n", "\n").replace("\r", "\n")


def read_form(form: Form, data: Any) -> State:
    """The values of this form's controls in a request, nothing else."""
    state: State = {}
    for part in form.parts:
        if isinstance(part, Field):
            for key in _keys(part, part.name):
                if key in data:
                    state[key] = _typed(data.get(key, ""))
        elif isinstance(part, Scores):
            for domain in NDT_DOMAINS:
                key = f"{part.name}-{domain}"
                if key in data:
                    state[key] = data.get(key, "")
    for key in data:
        found = _ROW_KEY.match(key)
        if not found or int(found.group(2)) >= MAX_ROWS:
            continue
        group = _group(form, found.group(1))
        known = {f.name for f in group.fields} | {"remove"} if group else set()
        if found.group(3) in known:
            state[key] = _typed(data.get(key, ""))
    return state


def _group(form: Form, name: str) -> Group | None:
    return next((p for p in form.parts if isinstance(p, Group) and p.name == name), None)


def _keys(f: Field, key: str) -> list[str]:
    return [f"{key}-day", f"{key}-month", f"{key}-year"] if f.kind == "date" else [key]


def row_count(state: State, name: str) -> int:
    indexes = [int(m.group(2)) for k in state if (m := _ROW_KEY.match(k)) and m.group(1) == name]
    return max(indexes) + 1 if indexes else 0


def to_content(form: Form, state: State) -> tuple[dict[str, Any], dict[str, str]]:
    """Content from form values, and plain field errors (keyed by the control to go to)."""
    content: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for part in form.parts:
        if isinstance(part, Field):
            value = _field_value(part, part.name, state, errors)
            if value is not None:
                content[part.name] = value
        elif isinstance(part, Group):
            rows = []
            for i in range(row_count(state, part.name)):
                prefix = f"{part.name}-{i}"
                if state.get(f"{prefix}-remove") == "yes":
                    continue
                if all(not state.get(f"{prefix}-{sub.name}", "").strip() for sub in part.fields):
                    continue  # a blank row
                row = {}
                for sub in part.fields:
                    value = _field_value(sub, f"{prefix}-{sub.name}", state, errors)
                    if value is not None:
                        row[sub.name] = value
                rows.append(row)
            content[part.name] = rows
        else:
            scores = {}
            for domain in NDT_DOMAINS:
                key = f"{part.name}-{domain}"
                value = state.get(key, "")
                if value == "":
                    continue
                if value not in ("0", "1", "2", "3", "4"):
                    errors[key] = gettext("Choose a score from 0 to 4, or not scored")
                else:
                    scores[domain] = int(value)
            if scores:
                content[part.name] = scores
    return content, errors


def _field_value(f: Field, key: str, state: State, errors: dict[str, str]) -> Any:
    if f.kind == "checkbox":
        return state.get(key) == "yes"
    if f.kind == "date":
        return _date_value(f, key, state, errors)
    value = state.get(key, "")
    if not value.strip():  # only spaces counts as blank
        if f.required:
            errors[key] = str(f.required)
        return None
    if f.kind == "select":
        if f.choices in ID_CHOICES:
            allowed = set() if _is_uuid(value) else {"?"}
        else:
            allowed = {k for k, _ in _choices_fixed(f.choices)}
        if allowed and value not in allowed:
            errors[key] = gettext("Choose one from the list")
            return None
    if f.max_length is not None and len(value) > f.max_length:
        errors[key] = plain.too_long(f.label, f.max_length)
    return value


def _choices_fixed(name: str | None) -> list[tuple[str, str]]:
    return _choices().get(name or "", []) if name not in ID_CHOICES else []


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _date_value(f: Field, key: str, state: State, errors: dict[str, str]) -> str | None:
    """A GOV.UK date input's three boxes as an ISO day (passport.web.plain reads them)."""
    boxes = {f"{key}-{p}": state.get(f"{key}-{p}", "") for p in plain.PARTS}
    _, value, problem = plain.read_date(boxes, key)
    if problem == "blank":
        return None
    if problem == "incomplete":
        errors[f"{key}-day"] = plain.date_incomplete(f.label)
    elif value is None:
        errors[f"{key}-day"] = plain.date_not_real(f.label)
    return value.isoformat() if value else None


def domain_errors(form: Form, error: Invalid) -> dict[str, str]:
    """The domain's refusal of content, as errors on the controls (a second check: the form
    checks first), in the same plain words (passport.web.plain), in page order."""
    fields = {f.name: f for f in _all_fields(form)}
    out: dict[str, str] = {}
    for key, messages in (error.errors or {}).items():
        control = key.removeprefix("content.").replace(".", "-")
        f = fields.get(control.split("-")[-1])
        if f is None:
            continue
        spec = plain.Field(
            f.name,
            f.label,
            kind="choice" if f.kind == "select" else f.kind,
            required=f.required,
            max_length=f.max_length,
        )
        target = f"{control}-day" if f.kind == "date" else control
        out[target] = plain.sentence(spec, messages[0] if messages else "")
    if not out:
        return {"form": gettext("Check what you entered")}
    return plain.in_page_order(out, _control_order(form))


def _control_order(form: Form) -> list[str]:
    """Every control's id, in page order (the rows of a group, then the next part)."""
    order: list[str] = []
    for part in form.parts:
        if isinstance(part, Field):
            order.append(f"{part.name}-day" if part.kind == "date" else part.name)
        elif isinstance(part, Group):
            for i in range(MAX_ROWS):
                order.extend(
                    f"{part.name}-{i}-{sub.name}" + ("-day" if sub.kind == "date" else "")
                    for sub in part.fields
                )
        else:
            order.extend(f"{part.name}-{d}" for d in NDT_DOMAINS)
    return order


def _all_fields(form: Form) -> list[Field]:
    out: list[Field] = []
    for part in form.parts:
        if isinstance(part, Field):
            out.append(part)
        elif isinstance(part, Group):
            out.extend(part.fields)
    return out


# -- what the template draws ------------------------------------------------------------


def controls(
    form: Form, state: State, errors: dict[str, str], extra_rows: int
) -> list[dict[str, Any]]:
    """Each part of the form, ready for entries/_controls.html."""
    choices = _choices()
    out: list[dict[str, Any]] = []
    for part in form.parts:
        if isinstance(part, Field):
            out.append(_control(part, part.name, state, errors, choices))
        elif isinstance(part, Group):
            count = row_count(state, part.name) + extra_rows
            rows = []
            for i in range(max(count, 1)):
                prefix = f"{part.name}-{i}"
                rows.append(
                    {
                        "legend": part.row_legend % {"n": i + 1},
                        "controls": [
                            _control(sub, f"{prefix}-{sub.name}", state, errors, choices)
                            for sub in part.fields
                        ],
                        "remove": {
                            "name": f"{prefix}-remove",
                            "label": part.remove_label,
                            "checked": state.get(f"{prefix}-remove") == "yes",
                        },
                    }
                )
            out.append(
                {
                    "kind": "group",
                    "name": part.name,
                    "legend": part.legend,
                    "hint": part.hint,
                    "rows": rows,
                    "add_label": part.add_label,
                }
            )
        else:
            items = [("", str(NOT_SCORED))] + [(str(n), str(n)) for n in range(5)]
            out.append(
                {
                    "kind": "scores",
                    "legend": part.legend,
                    "hint": part.hint,
                    "controls": [
                        {
                            "kind": "select",
                            "id": f"{part.name}-{d}",
                            "name": f"{part.name}-{d}",
                            "label": NDT_DOMAIN_NAMES[d],
                            "items": _items(items, state.get(f"{part.name}-{d}", "")),
                            "error": errors.get(f"{part.name}-{d}"),
                        }
                        for d in NDT_DOMAINS
                    ],
                }
            )
    return out


def _items(options: list[tuple[str, str]], value: str) -> list[dict[str, Any]]:
    return [{"value": k, "text": v, "selected": k == value} for k, v in options]


def _control(
    f: Field,
    key: str,
    state: State,
    errors: dict[str, str],
    choices: dict[str, list[tuple[str, str]]],
) -> dict[str, Any]:
    control: dict[str, Any] = {
        "kind": f.kind,
        "id": key,
        "name": key,
        "label": f.label,
        "hint": f.hint,
        "rows": f.rows,
        "value": state.get(key, ""),
        "error": errors.get(f"{key}-day" if f.kind == "date" else key),
    }
    if f.kind == "select":
        options = list(choices.get(f.choices or "", []))
        value = state.get(key, "")
        if value and value not in {k for k, _ in options}:
            options.append((value, str(lazy_gettext("Kept as it is (not in the list)"))))
        control["items"] = _items(options, value)
    if f.kind == "date":
        control["parts"] = {p: state.get(f"{key}-{p}", "") for p in ("day", "month", "year")}
    if f.kind == "checkbox":
        control["checked"] = state.get(key) == "yes"
    return control


# -- who may open these pages -------------------------------------------------------------


def writer(view: F) -> F:
    """Signed in; staff pass the same checks as on every staff page (a DPO or admin their
    second factor). What they may write is the domain's decision, refusals logged there."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if current_user.is_authenticated and current_actor().is_staff:
            return staff_with(*Role)(view)(*args, **kwargs)
        return signed_in(view)(*args, **kwargs)

    return cast(F, wrapped)


def _person_id(person_id: Any) -> str:
    actor = current_actor()
    if person_id is not None:
        return str(person_id)
    if not actor.is_person:  # /me/... is the person's own passport
        abort(403)
    return actor.id


def _back(person_id: str, section: Section) -> str:
    actor = current_actor()
    if actor.is_person and actor.id == person_id:
        return url_for("web.my_passport") + "#" + section.value
    return url_for("web.entry_section", person_id=person_id, section=section.value)


def _urls(person_id: str) -> dict[str, Any]:
    """url_for for these pages, on /me for the person and /people/<id> for workers."""
    actor = current_actor()
    own = actor.is_person and actor.id == person_id

    def link(endpoint: str, **values: Any) -> str:
        if not own:
            values["person_id"] = person_id
        return url_for(f"web.{endpoint}", **values)

    return {"link": link}


def _page(template: str, opened: writing.OpenSection, **context: Any) -> str:
    actor = current_actor()
    person_id = opened.person["id"]
    own = actor.is_person and actor.id == person_id
    return render_template(
        template,
        person=opened.person,
        section=opened.section.value,
        own=own,
        titles=SECTION_TITLES if own else STAFF_SECTION_TITLES,
        back=_back(person_id, opened.section),
        **_urls(person_id),
        **context,
    )


# -- the pages ----------------------------------------------------------------------------

ADD_TITLES = {
    "profile": lazy_gettext("Name and details"),
    "story": lazy_gettext("Add to the story"),
    "risk": lazy_gettext("Add risks"),
    "medication": lazy_gettext("Add a medicine"),
    "workers": lazy_gettext("Add a worker"),
    "preferences": lazy_gettext("Write what works"),
}
CHANGE_TITLES = {
    "profile": lazy_gettext("Change name and details"),
    "story": lazy_gettext("Change this part of the story"),
    "risk": lazy_gettext("Change risks"),
    "medication": lazy_gettext("Change this medicine"),
    "workers": lazy_gettext("Change this worker"),
    "preferences": lazy_gettext("Change what works"),
}


@bp.route("/people/<uuid:person_id>/<" + SECTIONS + ":section>")
@writer
def entry_section(person_id: Any, section: str) -> ResponseReturnValue:
    """A worker's page for one section they write: what is there, and what they can do."""
    opened = writing.open_section(current_actor(), str(person_id), Section(section))
    return _page("entries/section.html", opened, entries=opened.entries)


@bp.route(
    "/me/<" + SECTIONS + ":section>/new", methods=["GET", "POST"], defaults={"person_id": None}
)
@bp.route("/people/<uuid:person_id>/<" + SECTIONS + ":section>/new", methods=["GET", "POST"])
@writer
def entry_new(person_id: Any, section: str) -> ResponseReturnValue:
    return _write(_person_id(person_id), Section(section), None)


@bp.route(
    "/me/<" + SECTIONS + ":section>/<uuid:entry_id>/change",
    methods=["GET", "POST"],
    defaults={"person_id": None},
)
@bp.route(
    "/people/<uuid:person_id>/<" + SECTIONS + ":section>/<uuid:entry_id>/change",
    methods=["GET", "POST"],
)
@writer
def entry_change(person_id: Any, section: str, entry_id: Any) -> ResponseReturnValue:
    return _write(_person_id(person_id), Section(section), str(entry_id))


@bp.route("/me/what-works", methods=["GET", "POST"])
@writer
def what_works() -> ResponseReturnValue:
    """The person's "what works for me": their first preferences entry, or a new one."""
    actor = current_actor()
    person_id = _person_id(None)
    opened = writing.open_section(actor, person_id, Section.PREFERENCES)
    first = opened.entries[0].id if opened.entries else None
    return _write(person_id, Section.PREFERENCES, first, opened)


# -- someone else changed it first ------------------------------------------------------
# Every change form carries the revision it showed (a hidden field). If someone else has
# changed the entry since, nothing is saved: the form comes back with everything typed and
# their version beside it, so nothing is lost on either side.

THEIR_VERSION = "their-version"  # the error summary links to their version on the page
GONE = "gone"


def _stale_message() -> str:
    return str(
        gettext(
            "Someone else changed this after you opened it. Their version is below; copy "
            "anything you need, then save again."
        )
    )


def _gone_message() -> str:
    return str(
        gettext(
            "Someone else removed this after you opened it, so it cannot be changed. What you "
            "typed is below; copy anything you need."
        )
    )


def shown_revision() -> int:
    """The revision the form showed. A form without one (or with one that is not a number)
    cannot say what it changed, so it is treated as out of date: never saved over."""
    value = request.form.get("revision", "")
    return int(value) if value.isdigit() and len(value) < 10 else 0


def _write(
    person_id: str,
    section: Section,
    entry_id: str | None,
    opened: writing.OpenSection | None = None,
) -> ResponseReturnValue:
    actor = current_actor()
    opened = opened or writing.open_section(actor, person_id, section)
    entry = opened.entry(entry_id) if entry_id else None
    if entry_id and entry is None and request.method != "POST":
        raise NotFound("there is no such entry in this section")
    gone = bool(entry_id) and entry is None  # removed (or hidden) by someone else meanwhile
    if section is Section.PROFILE and entry is None and opened.entries:
        entry = opened.entries[0]  # one profile: adding is changing it
    form = FORMS[section]
    with_person = actor.is_staff and section in WITH_PERSON
    errors: dict[str, str] = {}
    extra_rows = 0
    checked_with_person = False
    their_version: EntryView | None = None
    if request.method == "POST":
        state = read_form(form, request.form)
        checked_with_person = request.form.get("with_person") == "yes"
        expected = shown_revision() if entry else None
        if gone:
            errors[GONE] = _gone_message()
        elif entry is not None and expected != entry.revision:
            their_version = entry  # shown whatever else is wrong with the form
        if gone or request.form.get("add_row"):
            extra_rows = 1  # "add another": nothing is saved, everything typed is kept
        else:
            content, errors = to_content(form, state)
            if with_person and not checked_with_person:
                errors["with_person"] = gettext(
                    "Write this only with %(name)s there with you, and tick the box",
                    name=shown_name(opened.person),
                )
            if not errors:
                try:
                    _save(opened, entry, content, with_person, expected)
                except PreconditionFailed:
                    # The refusal is logged by the domain; show the latest, as now read.
                    opened = writing.open_section(actor, person_id, section)
                    assert entry is not None
                    their_version = opened.entry(entry.id)
                    if their_version is None:
                        errors[GONE] = _gone_message()
                        gone = True
                    else:
                        errors[THEIR_VERSION] = _stale_message()
                    entry = their_version
                except SecondLeadWorker:
                    errors["is_lead"] = gettext(
                        "There is already a lead worker. Untick this box, or first change "
                        "the other worker so they are not the lead."
                    )
                except Invalid as error:
                    errors = domain_errors(form, error)
                else:
                    flash(gettext("Saved."))
                    return redirect(_back(person_id, section))
        if their_version is not None and THEIR_VERSION not in errors:
            errors = {THEIR_VERSION: _stale_message(), **errors}
    else:
        state = to_state(form, entry.content if entry else {})
        extra_rows = 1  # a blank row to add one more
    title = (CHANGE_TITLES if entry or gone else ADD_TITLES)[section.value]
    return _page(
        "entries/form.html",
        opened,
        title=title,
        entry=entry,
        their_version=their_version,
        gone=gone,
        parts=controls(form, state, errors, extra_rows),
        errors=errors,
        with_person=with_person,
        checked_with_person=checked_with_person,
        ndt_total=(entry.content.get("ndt_total") if entry else None),
    )


def _entry(opened: writing.OpenSection, entry_id: str) -> EntryView:
    entry = opened.entry(entry_id)
    if entry is None:
        raise NotFound("there is no such entry in this section")
    return entry


def _save(
    opened: writing.OpenSection,
    entry: EntryView | None,
    content: dict[str, Any],
    with_person: bool,
    expected: int | None,
) -> None:
    actor = current_actor()
    person_id = opened.person["id"]
    if entry is None:
        operations.add_entry(
            actor, person_id, opened.section, content, written_with_person=with_person
        )
    else:
        operations.revise_entry(
            actor,
            person_id,
            opened.section,
            entry.id,
            content,
            written_with_person=with_person,
            expected_revision=expected,
        )


@bp.route(
    "/me/<" + SECTIONS + ":section>/<uuid:entry_id>/remove",
    methods=["GET", "POST"],
    defaults={"person_id": None},
)
@bp.route(
    "/people/<uuid:person_id>/<" + SECTIONS + ":section>/<uuid:entry_id>/remove",
    methods=["GET", "POST"],
)
@writer
def entry_remove(person_id: Any, section: str, entry_id: Any) -> ResponseReturnValue:
    """Retiring, after a page that says what it does."""
    pid = _person_id(person_id)
    opened = writing.open_section(current_actor(), pid, Section(section))
    if opened.section is Section.PROFILE:
        raise NotFound("the name and details cannot be removed, only changed")
    found = opened.entry(str(entry_id))
    if found is None and request.method == "POST":
        flash(gettext("Someone else removed this already."))
        return redirect(_back(pid, opened.section))
    entry = _entry(opened, str(entry_id))
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            operations.retire_entry(
                current_actor(), pid, opened.section, entry.id, expected_revision=shown_revision()
            )
        except PreconditionFailed:
            errors[THEIR_VERSION] = gettext(
                "Someone else changed this after you opened it. Their version is below; "
                "check it, then remove it if you still want to."
            )
        else:
            flash(gettext("Removed. Services no longer see it. It is kept in the history."))
            return redirect(_back(pid, opened.section))
    return _page("entries/remove.html", opened, entry=entry, errors=errors)


# Ending without removing: a new revision with the day it ended.
ENDINGS = {
    "medication": (
        "stopped_on",
        lazy_gettext("Stop this medicine"),
        lazy_gettext("When did it stop?"),
    ),
    "workers": ("until", lazy_gettext("Mark as left"), lazy_gettext("When did they leave?")),
}


@bp.route(
    "/me/<any(medication,workers):section>/<uuid:entry_id>/end",
    methods=["GET", "POST"],
    defaults={"person_id": None},
)
@bp.route(
    "/people/<uuid:person_id>/<any(medication,workers):section>/<uuid:entry_id>/end",
    methods=["GET", "POST"],
)
@writer
def entry_end(person_id: Any, section: str, entry_id: Any) -> ResponseReturnValue:
    """Stop a medicine, or mark a worker as left: the entry stays, with the day it ended."""
    pid = _person_id(person_id)
    actor = current_actor()
    opened = writing.open_section(actor, pid, Section(section))
    if opened.entry(str(entry_id)) is None and request.method == "POST":
        flash(gettext("Someone else removed this after you opened it, so it cannot be changed."))
        return redirect(_back(pid, opened.section))
    entry = _entry(opened, str(entry_id))
    key, title, question = ENDINGS[section]
    day_field = Field(key, question, "date")
    today = db.utcnow().date()
    state: State = {
        f"{key}-day": str(today.day),
        f"{key}-month": str(today.month),
        f"{key}-year": str(today.year),
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        state = {k: request.form.get(k, "") for k in _keys(day_field, key)}
        ended = _date_value(day_field, key, state, errors)
        if ended is None and not errors:
            errors[f"{key}-day"] = gettext("Enter the day, for example 27 3 2027")
        if not errors:
            content = {**entry.content, key: ended}
            try:
                operations.revise_entry(
                    actor,
                    pid,
                    opened.section,
                    entry.id,
                    content,
                    expected_revision=shown_revision(),
                )
            except PreconditionFailed:
                # Their version is the one on the page; the day typed is kept.
                errors[THEIR_VERSION] = _stale_message()
            except Invalid as error:
                errors = domain_errors(FORMS[opened.section], error)
            else:
                flash(gettext("Saved."))
                return redirect(_back(pid, opened.section))
    return _page(
        "entries/end.html",
        opened,
        entry=entry,
        title=title,
        date_control=_control(day_field, key, state, errors, {}),
        errors=errors,
    )


@bp.app_context_processor
def _entry_helpers() -> dict[str, Any]:
    names: dict[str, str] = {}

    def agency_name(agency_id: str | None) -> str:
        if agency_id and not names:
            names.update(writing.agency_names())
        return names.get(agency_id or "", "")

    def url_for_me(endpoint: str, **values: Any) -> str:
        return url_for(f"web.{endpoint}", **values)

    return {"agency_name": agency_name, "url_for_me": url_for_me, "ADD_LINKS": ADD_LINKS}


# The person's own passport page (/me): one link per section to add to it.
ADD_LINKS = {
    "profile": lazy_gettext("Add your name and details"),
    "story": lazy_gettext("Add to your story"),
    "risk": lazy_gettext("Add risks"),
    "medication": lazy_gettext("Add a medicine"),
    "workers": lazy_gettext("Add a worker"),
    "preferences": lazy_gettext("Write what works for you"),
}

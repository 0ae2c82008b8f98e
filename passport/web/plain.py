"""Plain error messages for every form on the pages: the one place that turns a validation
failure into a sentence that says what to do, in English and Welsh (issue 14).

Validator wording ("Length must be between 1 and 20000.", "Must be one of: housing, …",
"Missing data for required field.") never reaches a page: a form declares its fields once,
in page order, with what each needs, and this module writes the messages, GOV.UK style
("Enter a name", "Name must be 100 characters or fewer", "Date of the meeting must be a real
date"). The same declaration turns the domain's refusals (`passport.errors.Invalid`, whose
field messages are marshmallow's or written like them) into the same sentences on the same
fields. Every error is collected at once and handed back in page order, for the error
summary (templates/layout.html, which links each one to its field by id) and for the field.

Using it on a new page::

    from .plain import Check, Field

    FIELDS = (  # in page order; _l is flask_babel.lazy_gettext
        Field("name", _l("Name"), required=_l("Enter a name"), max_length=100),
        Field("kind", _l("Kind"), kind="choice", required=_l("Choose a kind of service"),
              choose=_l("Choose a kind of service")),
        Field("held_on", _l("Date of the meeting"), kind="date",
              required=_l("Enter the date of the meeting")),
    )

    check = Check(FIELDS)
    name = check.text(request.form, "name")          # stripped; errors noted, never raised
    kind = check.choice(request.form, "kind", {"housing", "health"})
    held_on = check.date(request.form, "held_on", first=..., last=...)
    if check.ok:
        try:
            domain.do_it(actor, name, kind, held_on)
        except Invalid as error:
            check.invalid(error)                     # the domain's refusal, in plain words
    return render_template(..., errors=check.errors, values=check.values)

`check.errors` is ordered as FIELDS are; a date's error is keyed "<name>-day" (the summary
links to the day box, as GOV.UK asks). `check.values` holds what was typed, a date as its
three boxes ("held_on-day", "held_on-month", "held_on-year"), so a refused form shows it all
again; `_macros.html`'s `date_input` draws a date field from them. A date also reads
"held_on=2027-03-03" when the three boxes are absent (links and older clients).

`Check.add(key, message)` records a message the form worked out itself (a refusal from the
domain that is not about one field's shape, say: a Conflict for a duplicate name);
`check.invalid(error, {"expires_on": "days"})` puts a domain key on the form's own field;
`in_page_order` orders a plain dict. `required` and `choose` are whole sentences because
GOV.UK's are specific ("Choose who the action is for"); the rest ("… must be N characters
or fewer", "… must be a real date", "… must be between 1 January 2000 and …") start with the
label. State the rule in the hint too ("Up to %(n)s characters.", from the same constant),
so the hint and the message never disagree. A new sentence needs its Welsh in
translations/cy (docs/welsh-review.md says how).

The template side: layout.html draws the summary from `errors`; each govuk-frontend-jinja
macro takes `'errorMessage': {'text': errors.name} if errors.name else None`; a date is
`{{ date_input('held_on', _('Date of the meeting'), values, errors) }}`.

Used by every page form: admin (agencies, staff, forums), MDT (meeting, agenda, action),
DPO (log filters, break-glass review), caseworker (emergency access and search,
registration, assisted consent), set-up, and the entry forms (web/entries.py, whose own
field list maps to these sentences).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import format_date, gettext

from .. import db
from ..errors import Invalid

PARTS = ("day", "month", "year")


@dataclass(frozen=True)
class Field:
    """One form field and what it needs. `label` starts the sentences ("Name must be …");
    `required` and `choose` are whole sentences ("Enter a name", "Choose a service")."""

    name: str
    label: Any
    kind: str = "text"  # text, choice, date, email, password
    required: Any = None
    choose: Any = None
    max_length: int | None = None
    min_length: int | None = None
    short: Any = None  # a plainer sentence than "… must be N characters or more"
    long: Any = None  # a plainer sentence than "… must be N characters or fewer"

    @property
    def key(self) -> str:
        """The id of the control the error summary links to."""
        return f"{self.name}-day" if self.kind == "date" else self.name


# -- the sentences ----------------------------------------------------------------------------


def too_long(label: Any, most: int) -> str:
    return str(gettext("%(label)s must be %(max)s characters or fewer", label=label, max=most))


def too_short(label: Any, least: int) -> str:
    return str(gettext("%(label)s must be %(min)s characters or more", label=label, min=least))


def enter(label: Any) -> str:
    return str(gettext("Enter %(label)s", label=str(label).lower()))


def choose_from_list(label: Any) -> str:
    return str(gettext("Choose %(label)s from the list", label=str(label).lower()))


def check_field(label: Any) -> str:
    return str(gettext("Check %(label)s", label=str(label).lower()))


def email(label: Any) -> str:
    """GOV.UK's wording; the label is not needed to say it."""
    return str(gettext("Enter an email address in the correct format, like name@example.com"))


def whole_number(label: Any) -> str:
    return str(gettext("%(label)s must be a whole number", label=label))


def date_incomplete(label: Any) -> str:
    return str(gettext("%(label)s must include a day, a month and a year", label=label))


def date_not_real(label: Any) -> str:
    return str(gettext("%(label)s must be a real date, for example 27 3 2027", label=label))


def date_between(label: Any, first: date, last: date) -> str:
    return str(
        gettext(
            "%(label)s must be between %(first)s and %(last)s",
            label=label,
            first=_day(first),
            last=_day(last),
        )
    )


def date_in_past(label: Any) -> str:
    return str(gettext("%(label)s must be in the past", label=label))


def date_not_past(label: Any) -> str:
    return str(gettext("%(label)s must be today or in the future", label=label))


def date_not_before(label: Any, other: Any) -> str:
    return str(
        gettext(
            "%(label)s must be the same as or after %(other)s",
            label=label,
            other=str(other).lower(),
        )
    )


def example_day(days_ahead: int = 0) -> str:
    """A day as a person types it in a date input ("27 3 2027"), for a hint."""
    day = db.utcnow().date() + timedelta(days=days_ahead)
    return f"{day.day} {day.month} {day.year}"


def _day(value: date) -> str:
    return str(format_date(value, "d MMMM yyyy"))


# -- what a validator's message means ---------------------------------------------------------

# marshmallow's default messages (and ours, written like them), by what went wrong.
_REQUIRED = re.compile(
    r"^(Missing data for required field|Field may not be null|Must not be empty|"
    r"Shorter than minimum length 1|Give at least one .*|Name at least one .*)\.?$"
)
_LONGER = re.compile(r"^Longer than maximum length (\d+)\.$")
_BETWEEN = re.compile(r"^Length must be between (\d+) and (\d+)\.$")
_SHORTER = re.compile(r"^Shorter than minimum length (\d+)\.$")
_CHOICE = re.compile(
    r"^(Must be one of: .*|Must be equal to .*|One or more of the choices you made was not in"
    r".*|Not a valid UUID\.|Unknown.*|Must be .* or .*)$"
)
_EMAIL = re.compile(r"^Not a valid email address\.$")
_NUMBER = re.compile(r"^(Not a valid (integer|number)\.|Number too large\.|Must be .*\d+\.)$")
_DATE_RANGE = re.compile(r"^Must be between (\d{4}-\d\d-\d\d) and (\d{4}-\d\d-\d\d)\.$")
_DATE = re.compile(r'^(Not a valid (date|datetime)\.|".*" cannot be formatted as a date.*)$')


def sentence(spec: Field, message: str, value: str | None = None) -> str:
    """A validator's message about `spec`'s field, as a plain sentence."""
    if _REQUIRED.match(message):
        if spec.kind == "choice":
            return str(spec.choose or spec.required or choose_from_list(spec.label))
        return str(spec.required or enter(spec.label))
    if found := _LONGER.match(message):
        return too_long(spec.label, int(found.group(1)))
    if found := _BETWEEN.match(message):
        least, most = int(found.group(1)), int(found.group(2))
        if value is not None and len(value) > most:
            return too_long(spec.label, most)
        if not value:
            return str(spec.required or enter(spec.label))
        return too_short(spec.label, least)
    if found := _SHORTER.match(message):
        return str(spec.short or too_short(spec.label, int(found.group(1))))
    if _EMAIL.match(message):
        return email(spec.label)
    if found := _DATE_RANGE.match(message):
        first, last = (date.fromisoformat(found.group(i)) for i in (1, 2))
        return date_between(spec.label, first, last)
    if _DATE.match(message):
        return date_not_real(spec.label)
    if _NUMBER.match(message) and spec.kind != "choice":
        return whole_number(spec.label)
    if _CHOICE.match(message) or _NUMBER.match(message):
        return str(spec.choose or choose_from_list(spec.label))
    return str(spec.choose if spec.kind == "choice" and spec.choose else check_field(spec.label))


def in_page_order(errors: Mapping[str, str], order: Sequence[str]) -> dict[str, str]:
    """The same errors, the fields of `order` in that order; anything else first (a message
    about the whole form, or that someone else changed it, is read before the fields)."""
    rank = {key: i for i, key in enumerate(order)}
    others = [k for k in errors if k not in rank]
    fields = sorted((k for k in errors if k in rank), key=lambda k: rank[k])
    return {k: errors[k] for k in [*others, *fields]}


# -- one form's check -----------------------------------------------------------------------


class Check:
    """Reads one submitted form field by field, noting every problem at once."""

    def __init__(self, fields: Iterable[Field]) -> None:
        self.fields = {f.name: f for f in fields}
        self._errors: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    @property
    def ok(self) -> bool:
        return not self._errors

    @property
    def errors(self) -> dict[str, str]:
        return in_page_order(self._errors, [f.key for f in self.fields.values()])

    def add(self, key: str, message: Any) -> None:
        """A message for a control (the first one for each control is kept)."""
        self._errors.setdefault(self.fields[key].key if key in self.fields else key, str(message))

    def has_error(self, name: str) -> bool:
        spec = self.fields.get(name)
        return (spec.key if spec else name) in self._errors

    def text(self, data: Mapping[str, Any], name: str, *, strip: bool = True) -> str:
        spec = self.fields[name]
        raw = data.get(name, "")
        value = (raw.strip() if strip else raw) if isinstance(raw, str) else ""
        self.values[name] = value
        if not value.strip():
            if spec.required:
                self.add(name, spec.required)
            return value
        if spec.max_length is not None and len(value) > spec.max_length:
            self.add(name, spec.long or too_long(spec.label, spec.max_length))
        elif spec.min_length is not None and len(value) < spec.min_length:
            self.add(name, spec.short or too_short(spec.label, spec.min_length))
        return value

    def choice(self, data: Mapping[str, Any], name: str, allowed: Iterable[str]) -> str:
        """One of `allowed`, or "" (noted when it is required or not in the list)."""
        spec = self.fields[name]
        raw = data.get(name, "")
        value = raw.strip() if isinstance(raw, str) else ""
        self.values[name] = value
        if not value:
            if spec.required:
                self.add(name, spec.required)
            return ""
        if value not in set(allowed):
            self.add(name, spec.choose or choose_from_list(spec.label))
            return ""
        return value

    def choices(self, data: Any, name: str, allowed: Iterable[str]) -> list[str]:
        """Several of `allowed` (checkboxes); one not in the list is noted, not dropped."""
        spec = self.fields[name]
        picked = [v for v in data.getlist(name) if isinstance(v, str)]
        self.values[name] = picked
        if not picked:
            if spec.required:
                self.add(name, spec.required)
        elif not set(picked) <= set(allowed):
            self.add(name, spec.choose or choose_from_list(spec.label))
        return picked

    def date(
        self,
        data: Mapping[str, Any],
        name: str,
        *,
        first: date | None = None,
        last: date | None = None,
        too_early: Any = None,
        too_late: Any = None,
    ) -> date | None:
        """A GOV.UK date input (day, month, year boxes), or `name=YYYY-MM-DD`. Blank is None
        (noted when required); a day outside first..last is named with the bounds, or with
        `too_early`/`too_late` when the form has plainer words for it."""
        spec = self.fields[name]
        parts, value, problem = read_date(data, name)
        self.values.update({f"{name}-{p}": parts[p] for p in PARTS})
        if problem == "blank":
            if spec.required:
                self.add(name, spec.required)
            return None
        if problem == "incomplete":
            self.add(name, date_incomplete(spec.label))
            return None
        if value is None:
            self.add(name, date_not_real(spec.label))
            return None
        if first is not None and value < first:
            self.add(name, too_early or _bounds(spec.label, first, last))
            return None
        if last is not None and value > last:
            self.add(name, too_late or _bounds(spec.label, first, last))
            return None
        return value

    def invalid(self, error: Invalid, aliases: Mapping[str, str] | None = None) -> None:
        """The domain's refusal of what was sent, on the fields it names, in plain words.
        `aliases` names this form's field for a key the domain uses ("expires_on": "days")."""
        for key, messages in (error.errors or {}).items():
            name = (aliases or {}).get(key) or key.split(".")[-1]
            spec = self.fields.get(name)
            message = messages[0] if messages else ""
            if spec is None:
                # Not a field of this form (it should not happen): say so on the first field.
                first = next(iter(self.fields.values()), None)
                target = first.name if first else "form"
                self.add(target, gettext("Check what you entered"))
                continue
            value = self.values.get(name)
            self.add(name, sentence(spec, message, value if isinstance(value, str) else None))
        if not error.errors:
            first = next(iter(self.fields.values()), None)
            self.add(first.name if first else "form", gettext("Check what you entered"))


def _bounds(label: Any, first: date | None, last: date | None) -> str:
    if first is not None and last is not None:
        return date_between(label, first, last)
    return date_not_past(label) if first is not None else date_in_past(label)


def read_date(data: Mapping[str, Any], name: str) -> tuple[dict[str, str], date | None, str]:
    """The three boxes as typed, the day they make (or None), and what is wrong:
    "" (nothing), "blank", "incomplete" or "not-real"."""
    parts = {p: _str(data.get(f"{name}-{p}")) for p in PARTS}
    if not any(parts.values()) and _str(data.get(name)):
        iso = _str(data.get(name))  # one ISO day: a link, or an older client
        try:
            as_date = date.fromisoformat(iso) if len(iso) == 10 else None
        except ValueError:
            as_date = None
        if as_date is None:
            return {"day": iso, "month": "", "year": ""}, None, "not-real"
        parts = {"day": str(as_date.day), "month": str(as_date.month), "year": f"{as_date.year}"}
        return parts, as_date, ""
    if not any(parts.values()):
        return parts, None, "blank"
    if not all(parts.values()):
        return parts, None, "incomplete"
    day, month, year = parts["day"], parts["month"], parts["year"]
    if not (day.isdigit() and month.isdigit() and year.isdigit()) or len(year) != 4:
        return parts, None, "not-real"
    if len(day) > 2 or len(month) > 2:
        return parts, None, "not-real"
    try:
        return parts, date(int(year), int(month), int(day)), ""
    except ValueError:
        return parts, None, "not-real"


def is_uuid(value: str) -> bool:
    """An id as Passport writes them (a UUID in its usual form, any case)."""
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""

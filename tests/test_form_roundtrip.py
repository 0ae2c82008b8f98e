"""No form loses data: for any valid content of any section, the change form sent back
unchanged stores the same content.

The content is generated from the section schemas' own rules (records/sections.py: lengths,
OneOf choices, 0..4 scores, dates, ids, e-mail addresses), stored through the domain, and the
change page is read as a browser reads it: every form control's name and value (text inputs,
hidden fields, checked boxes, selected options, text areas, with the browser's rules for new
lines), then posted back as it is.

Strings made only of spaces are not generated: the forms treat such a value as blank (a
required one is asked for again, never stored blank). An empty NDT assessment (`ndt: {}`)
is not generated either: with nothing scored the form stores no assessment.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, fields, validate

from passport.identity.actor import Actor
from passport.records import operations, writing
from passport.records.sections import CONTENT_SCHEMAS
from passport.vocabulary import Section
from passport.web import entries

from .factories import Factory
from .web_helpers import sign_in

# -- reading a form as a browser does -------------------------------------------------------


class _FormReader(HTMLParser):
    """Every successful control of each <form>: what a browser would send, unchanged."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: dict[str, Any] | None = None
        self._option: dict[str, Any] | None = None
        self._textarea: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action"), "method": a.get("method", "get"), "values": []}
            self.forms.append(self._form)
        if self._form is None or "disabled" in a:
            return
        values = self._form["values"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file") or "name" not in a:
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            value = a.get("value", "on" if kind in ("checkbox", "radio") else "")
            # Browsers drop new lines from one-line inputs.
            values.append((a["name"], value.replace("\r", "").replace("\n", "")))
        elif tag == "select" and "name" in a:
            self._select = {"name": a["name"], "options": [], "selected": None}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "text": ""}
            self._select["options"].append(self._option)
            if "selected" in a:
                self._select["selected"] = self._option
        elif tag == "textarea" and "name" in a:
            self._textarea = {"name": a["name"], "text": ""}

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea["text"] += data
        elif self._option is not None:
            self._option["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None and self._form is not None:
            chosen = self._select["selected"] or (
                self._select["options"][0] if self._select["options"] else None
            )
            if chosen is not None:
                value = chosen["value"] if chosen["value"] is not None else chosen["text"]
                self._form["values"].append((self._select["name"], value))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            text = self._textarea["text"]
            if text.startswith("\n"):  # the HTML parsing rule for <textarea>
                text = text[1:]
            # Browsers send a text box's new lines as CR LF.
            self._form["values"].append((self._textarea["name"], text.replace("\n", "\r\n")))
            self._textarea = None


def form_values(html: str) -> dict[str, list[str]]:
    """The values the page's own form (not the sign-out form) would send, unchanged."""
    reader = _FormReader()
    reader.feed(html)
    reader.close()
    forms = [f for f in reader.forms if f["method"].lower() == "post" and not f["action"]]
    assert len(forms) == 1, "expected one form on the page"
    out: dict[str, list[str]] = {}
    for name, value in forms[0]["values"]:
        out.setdefault(name, []).append(value)
    return out


# -- valid content, from the schemas' rules ------------------------------------------------

_LINE = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn"))
_LINES = st.one_of(_LINE, st.just("\n"))


def _length(field: fields.Field[Any]) -> tuple[int, int | None]:
    for validator in field.validators:
        if isinstance(validator, validate.Length):
            return validator.min or 0, validator.max
    return 0, None


def _one_of(field: fields.Field[Any]) -> list[Any] | None:
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            return list(validator.choices)
    return None


def _text(field: fields.Field, multiline: bool) -> st.SearchStrategy[str]:
    low, high = _length(field)
    high = high or 200
    alphabet = _LINES if multiline else _LINE
    short = st.text(alphabet, min_size=max(low, 1), max_size=min(high, 40))
    longest = st.sampled_from(["a", "é", "字", "ab"]).map(lambda c: (c * high)[:high])
    return st.one_of(short, longest).filter(lambda s: s.strip() != "")


def _multiline(section: Section, name: str) -> bool:
    form = entries.FORMS[section]
    return any(f.name == name and f.kind == "textarea" for f in entries._all_fields(form))


def _value(section: Section, name: str, field: fields.Field[Any]) -> st.SearchStrategy[Any]:
    if isinstance(field, fields.Email):
        return st.from_regex(r"[a-z0-9]{1,12}@[a-z0-9]{1,12}\.[a-z]{2,6}", fullmatch=True)
    if isinstance(field, fields.String):
        choices = _one_of(field)
        if choices:
            return st.sampled_from(choices)
        return _text(field, _multiline(section, name))
    if isinstance(field, fields.Date):
        return st.dates(date(1000, 1, 1), date(9999, 12, 31)).map(date.isoformat)
    if isinstance(field, fields.UUID):
        return st.uuids().map(str)
    if isinstance(field, fields.Boolean):
        return st.booleans()
    if isinstance(field, fields.Integer):
        for validator in field.validators:
            if isinstance(validator, validate.Range):
                return st.integers(validator.min, validator.max)
        return st.integers(0, 1000)
    if isinstance(field, fields.Nested):
        return _object(section, _schema(field.nested), non_empty=True)
    if isinstance(field, fields.List):
        inner = field.inner
        assert isinstance(inner, fields.Nested)
        return st.lists(_object(section, _schema(inner.nested)), max_size=4)
    raise AssertionError(f"no strategy for {type(field).__name__}")


def _schema(nested: Any) -> type[Schema]:
    assert isinstance(nested, type) and issubclass(nested, Schema)
    return nested


def _object(
    section: Section, schema: type[Schema], non_empty: bool = False
) -> st.SearchStrategy[dict[str, Any]]:
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, field in schema._declared_fields.items():
        if field.dump_only:
            continue  # added by the server (ndt_total)
        strategy = _value(section, name, field)
        if field.required or isinstance(field, fields.Boolean):
            required[name] = strategy
        else:
            optional[name] = strategy
    built = st.fixed_dictionaries(required, optional=optional)
    return built.filter(bool) if non_empty else built


def content_of(section: Section) -> st.SearchStrategy[dict[str, Any]]:
    return _object(section, CONTENT_SCHEMAS[section])


# -- the property -----------------------------------------------------------------------------

SECTIONS = [
    Section.PROFILE,
    Section.STORY,
    Section.RISK,
    Section.MEDICATION,
    Section.WORKERS,
    Section.PREFERENCES,
]


def _store(person: Actor, section: Section, content: dict[str, Any]) -> Any:
    """Store content as the API would: a new entry (the profile: its one entry, changed)."""
    if section is Section.PROFILE:
        (profile,) = writing.open_section(person, person.id, section).entries
        return operations.revise_entry(person, person.id, section, profile.id, content)
    return operations.add_entry(person, person.id, section, content)


def roundtrip(client: FlaskClient, person: Actor, section: Section, stored: Any) -> Any:
    """GET the change form, POST every value back unchanged; the entry as it is then."""
    url = f"/me/{section.value}/{stored.id}/change"
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(url, data=form_values(page.get_data(as_text=True)))
    assert response.status_code == 302, response.get_data(as_text=True)
    return writing.open_section(person, person.id, section).entry(stored.id)


@pytest.fixture
def signed_in_person(client: FlaskClient, make: Factory) -> Iterator[Actor]:
    person = make.person()
    sign_in(client, person)
    yield person


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.value)
def test_every_form_sent_back_unchanged_keeps_the_content(
    client: FlaskClient, make: Factory, signed_in_person: Actor, section: Section
) -> None:
    person = signed_in_person
    strategy = content_of(section)
    if section is Section.WORKERS:  # ids from the directory too, not only unknown ones
        worker = make.staff("caseworker")
        known = {"agency_id": worker.agency_id, "staff_id": worker.id}
        strategy = st.one_of(strategy, strategy.map(lambda c: {**c, **known}))

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )
    @given(content=strategy)
    def check(content: dict[str, Any]) -> None:
        stored = _store(person, section, content)
        make.commit()
        after = roundtrip(client, person, section, stored)
        assert after is not None and after.revision == stored.revision + 1
        assert after.content == stored.content
        if section is not Section.PROFILE:  # one at a time: a single lead worker, one list
            operations.retire_entry(person, person.id, section, stored.id)
            make.commit()

    check()


def test_the_property_catches_a_form_that_drops_a_field(
    client: FlaskClient, make: Factory, signed_in_person: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A control: the old "what works" form had no place for a contact's detail. With such a
    form the same check fails."""
    person = signed_in_person
    stored = _store(
        person,
        Section.PREFERENCES,
        {"contact": [{"method": "phone", "detail": "07700 900123"}], "goals": "A flat"},
    )
    make.commit()
    form = entries.FORMS[Section.PREFERENCES]
    group = next(p for p in form.parts if isinstance(p, entries.Group))
    lossy = entries.Group(
        group.name,
        group.legend,
        group.row_legend,
        group.add_label,
        group.remove_label,
        tuple(f for f in group.fields if f.name != "detail"),
    )
    parts = tuple(lossy if p is group else p for p in form.parts)
    monkeypatch.setitem(entries.FORMS, Section.PREFERENCES, entries.Form(form.section, parts))
    after = roundtrip(client, person, Section.PREFERENCES, stored)
    assert after.content != stored.content
    assert after.content["contact"] == [{"method": "phone"}]

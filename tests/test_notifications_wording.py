"""Nothing sensitive in a text, email or letter: every template, for every kind, in English
and Welsh, names no section (its id or any of its labels on the pages, in either language),
no agency (every demo agency, and the words for kinds of agency), no record content and no
notification kind; and every kind has a template."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask_babel import force_locale

from passport import demo
from passport.notifications import wording
from passport.vocabulary import AgencyKind, NotificationKind, Section
from passport.web import common

from .factories import SAMPLE_CONTENT

LANGUAGES = ("en", "cy")


def forbidden_words(app: Any) -> set[str]:
    words: set[str] = set()
    for section in Section:
        words.add(section.value)
        words.update(section.value.split("_"))
    for titles in (common.SECTION_TITLES, common.STAFF_SECTION_TITLES, common.SECTION_WORDS):
        for language in LANGUAGES:
            with app.test_request_context(), force_locale(language):
                words.update(str(title) for title in titles.values())
    # Every demo agency, and what kinds of service there are.
    source = Path(demo.__file__).read_text(encoding="utf-8")
    words.update(re.findall(r'add_agency\(\s*SYSTEM,\s*"([^"]+)"', source))
    words.update(
        re.findall(r'"([A-Z][A-Za-z& ]+(?:Service|Team|Housing|First|Trust|Police))"', source)
    )
    for kind in AgencyKind:
        words.update(kind.value.split("_"))
    words.update({"police", "probation", "hospital", "GP", "drug", "alcohol", "mental"})
    # Content words from sample records.
    words.update({"naloxone", "methadone", "overdose", "self-harm", "suicide", "heroin"})
    for kind in NotificationKind:
        words.add(kind.value)
    words.discard("other")  # AgencyKind.OTHER is an everyday word
    return {w for w in words if w}


def test_the_demo_agencies_are_in_the_list(ctx: Any) -> None:
    words = forbidden_words(ctx)
    assert len([w for w in words if " " in w]) > 10  # the section labels and agency names
    assert "story" in words and "medication" in words
    assert {"Riverside Housing First", "City Probation Service", "Your story"} <= words
    with ctx.test_request_context(), force_locale("cy"):
        welsh = str(common.SECTION_TITLES["story"])
    assert welsh != "Your story" and welsh in words


def test_the_check_finds_a_section_label(ctx: Any) -> None:
    """The check itself can fail: a message naming a section is caught."""
    words = forbidden_words(ctx)
    assert "story" in named("Someone looked at your story today.", words)
    assert named("Riverside Housing First looked.", words)


def named(text: str, words: set[str]) -> list[str]:
    lowered = text.lower()
    return sorted(
        w for w in words if re.search(rf"(?<![\w-]){re.escape(w.lower())}(?![\w-])", lowered)
    )


def test_every_kind_has_every_template() -> None:
    assert set(wording.OUTSIDE) == set(NotificationKind)
    assert set(wording.INBOX) == set(NotificationKind)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(NotificationKind))
def test_no_section_agency_or_content_in_any_text_email_or_letter(
    ctx: Any, kind: NotificationKind, language: str
) -> None:
    words = forbidden_words(ctx)
    with ctx.test_request_context():
        subject, message = wording.outside(kind.value, language)
    for text in (subject, message):
        found = named(text, words)
        assert not found, f"{kind} ({language}) names {found}: {text!r}"
        assert "%(" not in text  # nothing is filled in: the same words for everyone
    if language == "cy":
        with ctx.test_request_context():
            assert wording.outside(kind.value, "en")[1] != message, "not translated"


def test_sample_content_never_reaches_a_template(ctx: Any) -> None:
    values = [str(v) for content in SAMPLE_CONTENT.values() for v in content.values()]
    with ctx.test_request_context():
        texts = [wording.outside(k.value, lang)[1] for k in NotificationKind for lang in LANGUAGES]
    for value in values:
        assert all(value not in text for text in texts)

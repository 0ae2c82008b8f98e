"""No page shows markup as text (issue 14): every page of every role, in English and Welsh,
is scanned for escaped tags. The fuzz scene has what brings out the harder parts: an MDT
agenda with an open action (the "Mark done" and "Drop" buttons) and a person who no longer
agrees to share with the MDT (the "no longer agrees" notice)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from .test_pages_fuzz import _page_paths, scene

# How the templates escape does not depend on the database: run once, in the SQLite pass.
pytestmark = pytest.mark.once

__all__ = ["scene"]

# "&lt;span", "&lt;/" and the like; the action's own text "Book a <b>GP</b> visit" is the
# one place a person typed angle brackets, and it must stay escaped (it is text).
ESCAPED_TAG = re.compile(r"&lt;/?[a-zA-Z]")
TYPED = "Book a &lt;b&gt;GP&lt;/b&gt; visit"


def _escaped_tags(html: str) -> list[str]:
    html = html.replace(TYPED, "")
    return [html[max(0, m.start() - 60) : m.end() + 60] for m in ESCAPED_TAG.finditer(html)]


def test_no_page_shows_markup_as_text_in_english_or_welsh(
    app: Flask, scene: dict[str, Any]
) -> None:
    paths = [p for p in _page_paths(app, scene["values"]) if not p.endswith(".pdf")]
    found: dict[str, list[str]] = {}
    pages = 0
    for lang in ("en", "cy"):
        for role, client in scene["clients"].items():
            client.get(f"/?lang={lang}")
            for path in paths:
                response = client.get(path)
                if response.status_code >= 300 or "html" not in response.content_type:
                    continue
                pages += 1
                bad = _escaped_tags(response.get_data(as_text=True))
                if bad:
                    found[f"{lang} {role} {path}"] = bad
    assert pages > 60  # the control: real pages were read
    assert not found, found


def test_the_scan_finds_escaped_markup() -> None:
    assert _escaped_tags('<button>Drop&lt;span class="x"&gt;</button>')
    assert _escaped_tags("a &lt;/span&gt;")
    assert not _escaped_tags(f"<p>{TYPED}</p> 3 &lt; 4")


def test_the_action_buttons_and_the_notice_show_their_words(scene: dict[str, Any]) -> None:
    meeting = scene["values"]["meeting_id"]
    html = scene["clients"]["chair"].get(f"/mdt/meetings/{meeting}/summary").get_data(as_text=True)
    assert (
        '<span class="govuk-visually-hidden"> – Book a &lt;b&gt;GP&lt;/b&gt; visit</span>' in html
    )
    assert "no longer agrees to share with this MDT" in html

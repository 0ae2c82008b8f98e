"""Every string on the pages has a Welsh translation: a page never falls back to English
half-way through because a new string was added without one."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

# Only the catalogue files are read: run once, in the SQLite pass.
pytestmark = pytest.mark.once

TRANSLATIONS = Path(__file__).parent.parent / "passport" / "translations"


def test_every_string_in_the_template_has_a_welsh_translation() -> None:
    with (TRANSLATIONS / "messages.pot").open("rb") as source:
        template = read_po(source)
    with (TRANSLATIONS / "cy" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        welsh = read_po(source, locale="cy")
    missing = []
    for message in template:
        if not message.id:
            continue
        translated = welsh.get(message.id)
        strings = translated.string if translated is not None else None
        values = strings if isinstance(strings, tuple) else (strings,)
        if translated is None or translated.fuzzy or not all(values):
            missing.append(message.id)
    assert not missing, f"no Welsh for: {missing}"
    # The header carries Welsh plural rules into the compiled catalog (without it gettext
    # falls back to English's two forms); `pybabel update --omit-header` would drop it.
    header = (TRANSLATIONS / "cy" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    assert '"Plural-Forms: nplurals=5;' in header

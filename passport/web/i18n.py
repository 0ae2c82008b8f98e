"""English and Welsh (Flask-Babel): `?lang=cy` switches and is remembered in the session;
otherwise the browser's Accept-Language decides; English is the default."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request, session
from flask_babel import Babel

from ..languages import LANGUAGES, preferred

TRANSLATIONS = Path(__file__).parent.parent / "translations"

babel = Babel()


def select_locale() -> str:
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
        return asked
    remembered = session.get("lang")
    if remembered in LANGUAGES:
        return str(remembered)
    return preferred(request.accept_languages)


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(TRANSLATIONS),
    )

"""Every page fits a 375 px screen (issue 14, item 7), in English and Welsh, for every role:
no sideways scrolling of the page itself (tables stack or scroll inside a labelled region of
their own), and axe finds nothing.

The pages come from the app's url_map, filled with the values of the pages fuzz scene
(tests/test_pages_fuzz.py): a new page is loaded here from the day it is added, and a page
whose path cannot be filled fails the test there and here. Each role loads every page it can
open (200, HTML); the others answer that role 403 or 404, or are files, not pages."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask

from passport.mdt import operations
from passport.vocabulary import Section

from ..factories import PASSWORD, Factory
from ..test_pages_fuzz import _page_paths, page_scene
from ..web_helpers import username_of
from .browsing import Browsing
from .conftest import AXE

WIDTH = 375
ROLES = ("nobody", "person", "caseworker", "chair", "representative", "dpo", "admin")
# Pages a role opens that must be there, so a sign-in that failed cannot pass as "nothing
# to load" (the control).
MUST_OPEN = {
    "nobody": "/login",
    "person": "/me",
    "caseworker": "/caseload",
    "chair": "/mdt",
    "representative": "/represent",
    "dpo": "/dpo/log",
    "admin": "/admin",
}


@pytest.fixture
def pages(fresh_app: Flask, live_server: str) -> dict[str, Any]:
    with fresh_app.app_context():
        make = Factory()
        values, users = page_scene(make)
        # Words longer than a phone is wide (a link pasted in, a name with no spaces) must
        # wrap, not push the page sideways.
        long = "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch" * 2
        jess = users["person"]
        make.entry(jess, jess, Section.STORY, {"title": long, "text": f"See {long}"})
        make.entry(jess, jess, Section.PREFERENCES, {"what_helps": long, "goals": long})
        operations.add_action(
            users["chair"],
            values["meeting_id"],
            jess.id,
            users["caseworker"].id,
            f"Read {long}",
            date.today() + timedelta(days=7),
        )
        make.commit()
        paths = _page_paths(fresh_app, values)
        logins = {role: username_of(actor) for role, actor in users.items()}
    return {"base": live_server, "paths": paths, "logins": logins}


def _sign_in(tab: Browsing, role: str, username: str) -> None:
    page = tab.page
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.press("#password", "Enter")
    if role in ("dpo", "admin"):  # the second factor, set up on first sign-in
        assert "/login/set-up-code" in page.url, page.url
        secret = page.inner_text("#secret").replace(" ", "")
        page.fill("#code", pyotp.TOTP(secret).now())
        with page.expect_navigation():
            page.press("#code", "Enter")
    assert "/login" not in page.url, f"{role} did not sign in: {page.url}"


def _opens(tab: Browsing, path: str) -> bool:
    """Whether this role opens this page itself (not a refusal, a redirect or a file)."""
    response = tab.context.request.get(path, max_redirects=0)
    kind = response.headers.get("content-type", "")
    return response.status == 200 and kind.startswith("text/html")


def _too_wide(tab: Browsing) -> str | None:
    """None if the page fits; else its width and the widest elements that stick out."""
    found = tab.page.evaluate(
        """(width) => {
            const page = document.documentElement.scrollWidth;
            if (page <= width) return null;
            const wide = [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > width)
              .filter(e => !e.closest('.passport-scroll'))
              .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                   + (e.className && typeof e.className === 'string'
                      ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
                   + ' ' + Math.round(e.getBoundingClientRect().right) + 'px');
            return page + 'px wide: ' + wide.slice(-6).join(', ');
        }""",
        WIDTH,
    )
    return None if found is None else str(found)


def _scroll_regions_usable(tab: Browsing) -> list[str]:
    """Every region that scrolls sideways is labelled and reachable by keyboard."""
    found = tab.page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.scrollWidth > e.clientWidth + 1
                    && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
            .filter(e => !(e.getAttribute('role') === 'region' && e.tabIndex === 0
                           && (e.getAttribute('aria-label')
                               || document.getElementById(e.getAttribute('aria-labelledby')))))
            .map(e => e.tagName.toLowerCase() + '.' + e.className)"""
    )
    return [str(f) for f in found]


def test_every_page_of_every_role_fits_375px_in_english_and_welsh(
    browser: Any, pages: dict[str, Any]
) -> None:
    started = time.monotonic()
    problems: list[str] = []
    loaded = 0
    for role in ROLES:
        tab = Browsing(browser, pages["base"])
        tab.page.set_viewport_size({"width": WIDTH, "height": 812})
        tab.context.add_init_script(path=str(AXE))  # on every page, not injected after each
        try:
            if role != "nobody":
                _sign_in(tab, role, pages["logins"][role])
            mine = [path for path in pages["paths"] if _opens(tab, path)]
            assert MUST_OPEN[role] in mine, f"{role} cannot open {MUST_OPEN[role]}: {mine}"
            print(f"{role}: {len(mine)} pages, {time.monotonic() - started:.0f} s")
            for lang in ("en", "cy"):
                for path in mine:
                    tab.go(f"{path}?lang={lang}")
                    assert tab.page.evaluate("document.documentElement.lang") == lang, path
                    wide = _too_wide(tab)
                    if wide:
                        problems.append(f"{role} {path} ({lang}): {wide}")
                    for region in _scroll_regions_usable(tab):
                        problems.append(f"{role} {path} ({lang}): {region} scrolls unlabelled")
                    loaded += 1
        finally:
            tab.close()
    print(f"{loaded} pages at {WIDTH} px in {time.monotonic() - started:.0f} s")
    assert loaded > 60  # the control: the pages were loaded
    assert not problems, "wider than 375 px:\n" + "\n".join(problems)

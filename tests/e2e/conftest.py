"""Browser tests: the app served by werkzeug on 127.0.0.1 in a thread (on the `fresh_app`
database, where commits are real), driven by Debian's Chromium through Playwright.

Chromium is installed by scripts/install (apt-get), never downloaded by Playwright. axe-core
comes from node_modules (npm). The browser context bypasses the page's Content-Security-Policy
only so that axe can be injected; the pages themselves never need inline script.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def live_server(fresh_app: Flask) -> Iterator[str]:
    from passport.web.auth import limiter

    limiter.reset()
    server = make_server("127.0.0.1", 0, fresh_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/install (it installs Debian's chromium)")
    if not AXE.exists():
        pytest.fail("axe-core is missing: run scripts/install (npm ci)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()

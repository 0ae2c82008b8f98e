"""A wheel built from the repo is complete (issue 12, item 8): it carries the compiled Welsh
translations, the GOV.UK CSS, JavaScript and fonts, and the migrations; and an app run from
the unpacked wheel alone initialises its database, speaks Welsh and serves the styles.

Runs once, in the SQLite pass: building a wheel does not touch the run's database."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.once


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install .` builds the wheel with the project's backend (hatchling) and its
    hook, as here."""
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from hatchling.build import build_wheel; print(build_wheel(sys.argv[1]))",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    return out / built.stdout.strip().splitlines()[-1]


def test_the_wheel_carries_translations_assets_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "passport/translations/cy/LC_MESSAGES/messages.mo" in names
    govuk = "passport/web/static/govuk/"
    assert {f"{govuk}govuk-frontend.min.css", f"{govuk}govuk-frontend.min.js"} <= names
    fonts = [n for n in names if n.startswith(f"{govuk}assets/fonts/")]
    assert any(n.endswith(".woff2") for n in fonts) and any(n.endswith(".woff") for n in fonts)
    assert f"{govuk}assets/images/favicon.ico" in names
    assert "passport/migrations/env.py" in names
    assert any(n.startswith("passport/migrations/versions/") for n in names)
    assert "passport/web/templates/layout.html" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_an_app_from_the_wheel_alone_speaks_welsh_and_serves_the_styles(
    wheel: Path, tmp_path: Path
) -> None:
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    script = """
import json, sys
import passport
from passport import create_app
from passport.cli import MIGRATIONS, upgrade_database
from passport.config import Settings

home = sys.argv[2]
app = create_app(Settings.from_env({"PASSPORT_HOME": home, "PASSPORT_ENV": "test"}),
                 initialise_keys=True)
with app.app_context():
    upgrade_database(app)
client = app.test_client()
page = client.get("/login?lang=cy")
css = client.get("/web-static/govuk/govuk-frontend.min.css")
font = client.get("/web-static/govuk/assets/fonts/bold-b542beb274-v2.woff2")
print(json.dumps({
    "package": passport.__file__, "migrations": str(MIGRATIONS),
    "page": page.status_code, "welsh": "Mewngofnodi" in page.get_data(as_text=True),
    "css": [css.status_code, len(css.get_data())], "font": font.status_code,
}))
"""
    ran = subprocess.run(
        [sys.executable, "-c", script, str(unpacked), str(tmp_path / "home")],
        cwd=tmp_path,  # away from the source tree: nothing is found there
        env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    seen = json.loads(ran.stdout.strip().splitlines()[-1])
    assert seen["package"].startswith(str(unpacked))
    assert seen["migrations"] == str(unpacked / "passport" / "migrations")
    assert seen["page"] == 200 and seen["welsh"]
    assert seen["css"][0] == 200 and seen["css"][1] > 10_000
    assert seen["font"] == 200


def test_a_build_without_node_modules_fails_naming_what_to_run(tmp_path: Path) -> None:
    """No GOV.UK Frontend to copy: the build stops and says so, rather than make a wheel
    that serves unstyled pages."""
    tree = tmp_path / "tree"
    skip = shutil.ignore_patterns("__pycache__", "govuk", "*.mo")
    for name in ("passport", "migrations"):
        shutil.copytree(ROOT / name, tree / name, ignore=skip)
    for name in ("pyproject.toml", "hatch_build.py", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    built = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from hatchling.build import build_wheel; build_wheel(sys.argv[1])",
            str(tmp_path / "out"),
        ],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode != 0
    assert "GOV.UK Frontend is not in node_modules" in built.stderr
    assert "run `npm ci` (or scripts/install)" in built.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.whl"))

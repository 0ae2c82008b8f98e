"""The wheel's build hook: a plain `pip install .` serves Welsh and the GOV.UK styles.

Into the wheel (never into the source tree) it puts
- the compiled translations: every passport/translations/*/LC_MESSAGES/messages.po compiled
  to messages.mo with Babel;
- GOV.UK Frontend's CSS, JavaScript, fonts and images, copied from node_modules (the
  versions in package-lock.json: run `npm ci`, or scripts/install, first) to
  passport/web/static/govuk, as scripts/install lays them out for development;
- the Alembic migrations, as passport/migrations, for `passport init-db`.

An editable install (`uv sync`, `pip install -e .`) is left alone: it serves the source tree,
where scripts/install compiles and copies the same files."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

GOVUK_SOURCE = Path("node_modules/govuk-frontend/dist/govuk")
GOVUK_TARGET = "passport/web/static/govuk"
GOVUK_FILES = ("govuk-frontend.min.css", "govuk-frontend.min.js")


class PassportBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        self._scratch = Path(tempfile.mkdtemp(prefix="passport-build-"))
        include: dict[str, str] = build_data.setdefault("force_include", {})
        include.update(self._translations(root))
        include.update(self._govuk_assets(root))
        # `passport init-db` runs the migrations, so the package carries them.
        include[str(root / "migrations")] = "passport/migrations"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)

    def _translations(self, root: Path) -> dict[str, str]:
        found: dict[str, str] = {}
        for po in sorted(root.glob("passport/translations/*/LC_MESSAGES/messages.po")):
            relative = po.relative_to(root).with_suffix(".mo")
            mo = self._scratch / relative
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as source:
                catalog = read_po(source, locale=po.parts[-3])
            with mo.open("wb") as target:
                write_mo(target, catalog, use_fuzzy=False)
            found[str(mo)] = relative.as_posix()
        if not found:
            raise RuntimeError("no translations found under passport/translations")
        return found

    def _govuk_assets(self, root: Path) -> dict[str, str]:
        source = root / GOVUK_SOURCE
        missing = [name for name in (*GOVUK_FILES, "assets") if not (source / name).exists()]
        if missing:
            raise RuntimeError(
                f"GOV.UK Frontend is not in {GOVUK_SOURCE} (missing: {', '.join(missing)}): "
                "run `npm ci` (or scripts/install) before building the wheel, so it can "
                "serve the GOV.UK styles"
            )
        found = {str(source / name): f"{GOVUK_TARGET}/{name}" for name in GOVUK_FILES}
        found[str(source / "assets")] = f"{GOVUK_TARGET}/assets"
        found[str(root / "node_modules/govuk-frontend/package.json")] = f"{GOVUK_TARGET}/.version"
        return found

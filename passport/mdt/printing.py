"""The printable summary: an HTML print view and a PDF made from it with WeasyPrint.

Dated, marked OFFICIAL-SENSITIVE on every page, page-numbered, with a footer naming who
printed it and when. Rendered with Jinja directly (the domain does not import Flask)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ..audit.events import format_time

_env = Environment(
    loader=PackageLoader("passport.mdt", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

SECTION_TITLES = {
    "profile": "Profile",
    "story": "Their story",
    "risk": "Risks",
    "medication": "Medication",
    "workers": "Workers",
    "preferences": "What works for them",
}


def _label(value: Any) -> str:
    return str(value).replace("_", " ")


_env.filters["label"] = _label


def render_html(summary: dict[str, Any], printed_by: str, printed_at: datetime) -> str:
    return _env.get_template("summary_print.html").render(
        summary=summary,
        printed_by=printed_by,
        printed_at=format_time(printed_at)[:16].replace("T", " ") + " UTC",
        section_titles=SECTION_TITLES,
    )


def render_pdf(summary: dict[str, Any], printed_by: str, printed_at: datetime) -> bytes:
    from weasyprint import HTML

    html = render_html(summary, printed_by, printed_at)
    pdf: bytes = HTML(string=html, base_url=None).write_pdf()
    return pdf

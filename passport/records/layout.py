"""How a brief (and an MDT summary) lays out allowed entries: alerts first, high before low;
who is involved now; what medication is current. Pure functions over entries already read
through the decision point."""

from __future__ import annotations

from typing import Any

from .content import EntryView

LEVEL_ORDER = {"high": 0, "medium": 1, "low": 2}


def alerts(risk_entries: list[EntryView]) -> list[dict[str, Any]]:
    """Every risk flag, highest level first, with the entry it came from."""
    found = [
        {**flag, "entry_id": view.id, "review_on": view.content.get("review_on")}
        for view in risk_entries
        for flag in view.content.get("flags", [])
    ]
    return sorted(found, key=lambda a: LEVEL_ORDER.get(a["level"], len(LEVEL_ORDER)))


def current(entries: list[EntryView], end_field: str, today: str) -> list[EntryView]:
    """Entries whose end date (`until`, `stopped_on`) is unset or not yet past."""
    return [v for v in entries if (v.content.get(end_field) or "9999-12-31") >= today]


def lead_worker(workers: list[EntryView]) -> EntryView | None:
    return next((w for w in workers if w.content.get("is_lead")), None)

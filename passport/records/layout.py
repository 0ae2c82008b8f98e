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
        {
            **flag,
            "entry_id": view.id,
            "review_on": view.content.get("review_on"),
            "dispute": view.dispute,
        }
        for view in risk_entries
        for flag in view.content.get("flags", [])
    ]
    return sorted(found, key=lambda a: LEVEL_ORDER.get(a["level"], len(LEVEL_ORDER)))


def current(entries: list[EntryView], end_field: str, today: str) -> list[EntryView]:
    """Entries whose end date (`until`, `stopped_on`) is unset or not yet past."""
    return [v for v in entries if (v.content.get(end_field) or "9999-12-31") >= today]


def lead_worker(workers: list[EntryView]) -> EntryView | None:
    return next((w for w in workers if w.content.get("is_lead")), None)


def disputed(entries: list[EntryView]) -> list[EntryView]:
    """The entries the person says are wrong (issue 16), once each, oldest dispute first."""
    seen: dict[str, EntryView] = {}
    for view in entries:
        if view.dispute is not None and view.id not in seen:
            seen[view.id] = view
    return sorted(seen.values(), key=lambda v: v.dispute.raised_at if v.dispute else v.created_at)


def risk_notes(risk_entries: list[EntryView], today: str) -> list[dict[str, Any]]:
    """Each risk entry's summary, review date (and whether it is overdue) and NDT scores with
    their total, newest first; entries with none of these are left out."""
    notes = []
    for view in risk_entries:
        c = view.content
        if not (c.get("summary") or c.get("review_on") or c.get("ndt")):
            continue
        review_on = c.get("review_on")
        notes.append(
            {
                "entry_id": view.id,
                "summary": c.get("summary"),
                "review_on": review_on,
                "review_overdue": bool(review_on and review_on < today),
                "ndt": c.get("ndt") or {},
                "ndt_total": c.get("ndt_total"),
            }
        )
    return notes


def communication(profile: list[EntryView], preferences: list[EntryView]) -> dict[str, Any]:
    """How to talk with the person: their language (the profile, when it is shared), and the
    interpreter and communication needs written in what works for them."""
    languages = [v.content["language"] for v in profile if v.content.get("language")]
    found: dict[str, Any] = {"language": languages[-1] if languages else None}
    found.update(interpreter=[], needs=[])
    for view in preferences:
        if view.content.get("interpreter"):
            found["interpreter"].append(view.content["interpreter"])
        if view.content.get("communication_needs"):
            found["needs"].append(view.content["communication_needs"])
    return found

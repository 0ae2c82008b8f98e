"""Logging decisions: one event per basis (allowed) and per reason (refused)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from .. import audit, metrics
from ..identity.actor import Actor
from ..vocabulary import Outcome
from .decision import Decision


def log_decisions(
    actor: Actor,
    action: str,
    person_id: str,
    decisions: Iterable[Decision],
    purpose: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    allowed: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    refused: dict[str, list[str]] = defaultdict(list)
    for decision in decisions:
        if decision.allowed:
            assert decision.basis_kind is not None
            allowed[(decision.basis_kind.value, decision.basis_id)].append(decision.section)
        else:
            assert decision.reason is not None
            refused[decision.reason.value].append(decision.section)
    for (kind, basis_id), sections in sorted(allowed.items()):
        metrics.observe_decision(True, kind, None, len(sections))
        audit.record(
            actor=actor.as_event(),
            action=action,
            outcome=Outcome.ALLOWED,
            person_id=person_id,
            sections=sections,
            purpose=purpose,
            basis={"kind": kind, "id": basis_id},
            detail=detail,
        )
    for reason, sections in sorted(refused.items()):
        metrics.observe_decision(False, None, reason, len(sections))
        audit.record(
            actor=actor.as_event(),
            action=action,
            outcome=Outcome.DENIED,
            person_id=person_id,
            sections=sections,
            purpose=purpose,
            reason=reason,
            detail=detail,
        )

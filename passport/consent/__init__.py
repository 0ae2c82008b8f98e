"""Consent: grants, receipts, break-glass, and THE decision point (`decide`)."""

from .decision import (
    Decision,
    decide,
    decide_people,
    decide_sections,
    decide_write,
    grant_status,
)
from .journal import log_decisions

__all__ = [
    "Decision",
    "decide",
    "decide_people",
    "decide_sections",
    "decide_write",
    "grant_status",
    "log_decisions",
]

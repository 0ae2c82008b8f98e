"""Consent: grants, receipts, break-glass, and THE decision point (`decide`)."""

from .decision import (
    Decision,
    acting_as_person,
    decide,
    decide_people,
    decide_sections,
    decide_write,
    decide_writes,
    grant_status,
    may_act_as_person,
)
from .journal import log_decisions

__all__ = [
    "Decision",
    "acting_as_person",
    "decide",
    "decide_people",
    "decide_sections",
    "decide_write",
    "decide_writes",
    "grant_status",
    "log_decisions",
    "may_act_as_person",
]

"""The person is told: the one call site through which the rights tell a person what happened.

Every step of a right that the person must hear about calls `tell_person` with a kind from
`Told`. Notifications (passport/notifications) are wired in here at merge: this function is the
hook, and the only place that needs to change. Messages never hold record content, a service,
a section or any free text: the kind and the ids are all it is given.
"""

from __future__ import annotations

from enum import StrEnum


class Told(StrEnum):
    SUBJECT_ACCESS_MADE = "subject_access_made"  # a DPO made a copy of the passport for them
    ERASURE_REFUSED = "erasure_refused"  # a DPO refused their erasure request (with why)
    ERASURE_APPROVED = "erasure_approved"  # their passport was erased, as they asked


def tell_person(person_id: str, kind: Told, about_id: str) -> None:
    """Tell the person `kind` happened (`about_id`: the request it is about).

    Until notifications land this tells them through what they already see: the subject
    access pack appears in "who has looked" (its `record.subject_access` event) and a refused
    erasure, with its reason, on their erasure page."""
    del person_id, kind, about_id

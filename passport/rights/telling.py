"""The person is told: the one call site through which the rights tell a person what happened.

Every step of a right that the person must hear about calls `tell_person` with a kind from
`Told`; it goes to their inbox and, if they chose one, a text, email or letter
(passport.notifications), in the caller's transaction. Messages never hold record content, a
service, a section or any free text: the kind and the request's id are all it is given.
"""

from __future__ import annotations

from enum import StrEnum

from .. import notifications
from ..vocabulary import NotificationKind


class Told(StrEnum):
    SUBJECT_ACCESS_MADE = "subject_access_made"  # a DPO made a copy of the passport for them
    ERASURE_REFUSED = "erasure_refused"  # a DPO refused their erasure request (with why)
    ERASURE_APPROVED = "erasure_approved"  # their passport was erased, as they asked


_KINDS = {
    Told.SUBJECT_ACCESS_MADE: NotificationKind.SUBJECT_ACCESS,
    Told.ERASURE_REFUSED: NotificationKind.ERASURE_REFUSED,
}


def tell_person(person_id: str, kind: Told, about_id: str) -> None:
    """Tell the person `kind` happened (`about_id`: the request it is about).

    An approved erasure is not sent: it destroys the keys that seal the person's contact
    details, so no text, email or letter could be addressed, and their inbox goes with the
    passport. They asked for it, and their erasure page said what would happen."""
    notification = _KINDS.get(kind)
    if notification is None:
        return
    notifications.tell_person(
        person_id, notification, {"request_id": about_id}, once=f"{kind.value}:{about_id}"
    )

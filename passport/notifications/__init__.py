"""Telling people what happened to their record, and staff what needs them (API.md
"Representatives and notifications"): an inbox for every account, and GOV.UK Notify texts,
emails and letters through an outbox that a separate sender delivers (notifications.sender).

Domain code tells through the functions below, in its own transaction."""

from .outbox import configure, first_look, representative_added, tell, tell_person, tell_staff

__all__ = ["configure", "first_look", "representative_added", "tell", "tell_person", "tell_staff"]

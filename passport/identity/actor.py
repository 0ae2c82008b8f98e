"""Who is asking: the one shape every domain function receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..vocabulary import ActorKind, Role


@dataclass(frozen=True)
class Actor:
    id: str
    kind: ActorKind
    name: str
    agency_id: str | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    scheme_wide: bool = False

    @property
    def is_person(self) -> bool:
        return self.kind is ActorKind.PERSON

    @property
    def is_staff(self) -> bool:
        return self.kind is ActorKind.STAFF

    @property
    def is_representative(self) -> bool:
        """Someone who acts for people through their own account. Whom they represent, and
        how, is not held here: the decision point reads it afresh on every request."""
        return self.kind is ActorKind.REPRESENTATIVE

    def has_role(self, role: Role) -> bool:
        return self.is_staff and role in self.roles

    def as_event(self) -> dict[str, Any]:
        """The actor as the access log records it: identifiers only, never a name."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "agency_id": self.agency_id,
            "roles": sorted(r.value for r in self.roles),
        }


SYSTEM = Actor(id="system", kind=ActorKind.SYSTEM, name="Passport")

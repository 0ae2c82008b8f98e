"""Outside channels behind one interface (STYLE.md #5), each with a real default.

- The in-passport inbox is always used; it is a table (models.Notification), written with
  the event, not sent.
- GOV.UK Notify sends texts, emails and letters, through the official client
  (`notifications-python-client`), when PASSPORT_NOTIFY_API_KEY and a template per channel
  are set (config.Settings). Point PASSPORT_NOTIFY_BASE_URL elsewhere only to test.
- `NoChannel`, without a key: nothing goes outside (the outbox is not even written).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

from ..config import Settings

# Notify answers these when the request itself is wrong (a bad number, a missing
# template, a bad key): sending it again would fail the same way.
PERMANENT_STATUSES = frozenset({400, 403, 404})


@dataclass(frozen=True)
class Outgoing:
    """One message to send: where (sealed until now), what, and the idempotency key."""

    channel: str
    kind: str
    contact: str | list[str]  # a phone number, an email address, or address lines
    subject: str
    message: str
    reference: str


class SendFailed(Exception):
    """A send did not go through. `permanent` ones are not tried again. The message says
    why in words without personal data."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Sender(Protocol):
    def channels(self) -> frozenset[str]:
        """The channels it can send on."""
        ...

    def send(self, outgoing: Outgoing) -> str:
        """Send it; return the provider's id for it, or raise SendFailed."""
        ...


class NoChannel:
    """No outside channel: the inbox only."""

    def channels(self) -> frozenset[str]:
        return frozenset()

    def send(self, outgoing: Outgoing) -> str:
        raise SendFailed(f"no {outgoing.channel} channel is configured", permanent=True)


class GovukNotify:
    """GOV.UK Notify, v2 API. One template per channel, whose body is ((message)) (and
    subject ((subject))); PASSPORT_NOTIFY_TEMPLATE_<CHANNEL>_<KIND> overrides it for a kind."""

    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        assert settings.notify_api_key is not None
        kwargs = {"base_url": settings.notify_base_url} if settings.notify_base_url else {}
        self.client = NotificationsAPIClient(  # type: ignore[no-untyped-call]
            settings.notify_api_key, timeout=timeout, **kwargs
        )
        self.templates = settings.notify_templates
        self._channels = settings.notify_channels

    def channels(self) -> frozenset[str]:
        return self._channels

    def template(self, channel: str, kind: str) -> str:
        return self.templates.get(f"{channel}_{kind}") or self.templates[channel]

    def send(self, outgoing: Outgoing) -> str:
        if outgoing.channel not in self._channels:
            raise SendFailed(f"no {outgoing.channel} template is configured", permanent=True)
        template = self.template(outgoing.channel, outgoing.kind)
        personalisation = {"subject": outgoing.subject, "message": outgoing.message}
        try:
            if outgoing.channel == "sms":
                assert isinstance(outgoing.contact, str)
                answer = self.client.send_sms_notification(  # type: ignore[no-untyped-call]
                    outgoing.contact, template, personalisation, reference=outgoing.reference
                )
            elif outgoing.channel == "email":
                assert isinstance(outgoing.contact, str)
                answer = self.client.send_email_notification(  # type: ignore[no-untyped-call]
                    outgoing.contact, template, personalisation, reference=outgoing.reference
                )
            else:
                lines = list(outgoing.contact)
                address = {f"address_line_{i}": line for i, line in enumerate(lines[:7], 1)}
                answer = self.client.send_letter_notification(  # type: ignore[no-untyped-call]
                    template, {**address, **personalisation}, reference=outgoing.reference
                )
        except APIError as error:
            status = error.status_code
            raise SendFailed(
                f"GOV.UK Notify answered {status}", permanent=status in PERMANENT_STATUSES
            ) from None
        return str(answer.get("id", "")) if isinstance(answer, dict) else ""


def sender_for(settings: Settings) -> Sender:
    if settings.notify_channels:
        return GovukNotify(settings)
    return NoChannel()

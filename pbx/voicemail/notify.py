"""What a new voicemail message sends (F-06, U-02): the e-mail with the audio, the SMS/webhook text, and to whom."""

from __future__ import annotations

from pbx.notify import Attachment
from pbx.notify import Message as Notification
from pbx.routing.compile import RoutingTable, TenantTable
from pbx.routing.validate import notify_channel
from pbx.voicemail.messages import Message

__all__ = ["TEXTS", "message_notification"]

# subject, body; the same text serves e-mail, SMS and webhook (only the e-mail carries the audio)
TEXTS = {
    "sv": ("Nytt röstmeddelande från {caller} ({box})",
           "Nytt meddelande i röstbrevlådan {box}.\n\nFrån: {caller}\nTill: {dialled}\nMottaget: {at}\n"
           "Längd: {duration}\n"),
    "en": ("New voicemail from {caller} ({box})",
           "New message in the voicemail box {box}.\n\nFrom: {caller}\nTo: {dialled}\nReceived: {at}\n"
           "Length: {duration}\n"),
}
UNKNOWN_CALLER = {"sv": "okänt nummer", "en": "unknown number"}
FILE_PREFIX = {"sv": "rostmeddelande", "en": "voicemail"}
_ANONYMOUS = {"", "anonymous", "unknown", "restricted", "private"}


def message_notification(msg: Message, table: RoutingTable, audio: bytes) -> tuple[Notification, list[tuple[str, str]]]:
    """The notification of a new message in its tenant's language, and whom it goes to: the listeners' e-mail
    addresses, then the box's own addresses and SMS/webhook recipients, each once.

    `audio` is the message's WAV (attached to the e-mail as audio/wav; the SMS gateway sends only the
    text, a webhook only describes the attachment). A box no longer in the configuration still gets a
    notification text, but nobody to send it to."""
    tenant = table.tenants.get(msg.tenant)
    if tenant is None:
        raise LookupError(f"no tenant {msg.tenant!r} in the routing table")
    language = tenant.language if tenant.language in TEXTS else "en"
    box = tenant.boxes.get(msg.box)
    at = msg.received_at.astimezone(tenant.tz)
    fields = {
        "caller": _number(msg.caller, tenant, language),
        "dialled": _number(msg.dialled, tenant, language),
        "box": " ".join(box.name.split()) if box is not None else msg.box,
        "at": f"{at:%Y-%m-%d %H:%M}",
        "duration": _duration(msg.duration_s),
    }
    subject, body = TEXTS[language]
    attachment = Attachment(f"{FILE_PREFIX[language]}-{at:%Y%m%d-%H%M}.wav", audio, "audio/wav")
    notification = Notification(tenant=msg.tenant, kind="voicemail", ref=msg.id, subject=subject.format(**fields),
                                text=body.format(**fields), attachments=(attachment,))
    return notification, _recipients(msg, tenant)


def _recipients(msg: Message, tenant: TenantTable) -> list[tuple[str, str]]:
    box = tenant.boxes.get(msg.box)
    if box is None:
        return []
    wanted: list[str] = []
    for key in box.listeners:
        user = tenant.users.get(key)
        if user is not None and user.email:
            wanted.append(user.email)
    wanted.extend(box.email)
    wanted.extend(box.notify)
    recipients: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for recipient in wanted:
        channel = notify_channel(recipient)
        if channel is None:
            continue  # validation refuses these; an old stored configuration might still hold one
        # e-mail addresses compare without case (nobody wants the same mail twice for "Anna@" and "anna@")
        identity = (channel, recipient.lower() if channel == "email" else recipient)
        if identity not in seen:
            seen.add(identity)
            recipients.append((channel, recipient))
    return recipients


def _number(number: str, tenant: TenantTable, language: str) -> str:
    """A number as people at the tenant write it: national form for their own country (+4670… → 070…)."""
    number = " ".join(number.split())  # caller ID is the caller's to choose: no line breaks into the text
    if number.lower() in _ANONYMOUS:
        return UNKNOWN_CALLER[language]
    home = f"+{tenant.home_cc}"
    if number.startswith(home) and number[len(home):].isdigit():
        return "0" + number[len(home):]
    return number


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


"""The default prompts every tenant may use, with their Swedish and English text (audio lands in sounds/)."""

from __future__ import annotations

from types import MappingProxyType

# key -> (Swedish, English). Flows refer to prompts by key; a tenant's own prompts add to these.
# Compound keys number:N, minutes:N, digit:K, digits:S, time:HH:MM are spoken from words by pbx.ivr.say.expand.
SYSTEM_PROMPTS: MappingProxyType[str, tuple[str, str]] = MappingProxyType(
    {
        "welcome": ("Välkommen.", "Welcome."),
        "closed": ("Vi har stängt just nu.", "We are closed right now."),
        "holiday": ("Vi har stängt i dag på grund av helgdag.", "We are closed today for a public holiday."),
        "menu-invalid": ("Felaktigt val.", "Invalid choice."),
        "menu-timeout": ("Vi uppfattade inget val.", "We did not hear a choice."),
        "callback-enter-number": (
            "Slå det nummer du vill bli uppringd på, avsluta med fyrkant.",
            "Enter the number to call you back on, then press hash.",
        ),
        "callback-confirm": ("Tack, vi ringer upp dig.", "Thank you, we will call you back."),
        "callback-at": ("Vi räknar med att ringa dig klockan", "We expect to call you back at"),  # then the time
        "callback-to": ("Återuppringning till", "Call back to"),  # the agent hears it, then the digits
        "ss-noservice": ("Numret du ringt är inte i bruk.", "The number you called is not in service."),
        "unavailable": ("Personen kan inte svara just nu.", "The person cannot answer right now."),
        "presence-busy": ("är upptagen", "is busy"),
        "presence-lunch": ("är på lunch", "is at lunch"),
        "presence-meeting": ("sitter i möte", "is in a meeting"),
        "presence-away": ("är borta", "is away"),
        "presence-vacation": ("har semester", "is on vacation"),
        "presence-custom": ("är inte tillgänglig", "is not available"),
        "presence-until": ("till klockan", "until"),
        "queue-position": ("Du har plats nummer", "You are number"),
        "queue-wait": ("Beräknad väntetid är", "The estimated wait is"),
        "queue-you-are-next": ("Du står först i kön.", "You are next in line."),
        "queue-wait-under-minute": ("mindre än en minut", "less than a minute"),
        "queue-wait-more-than": ("mer än", "more than"),
        "queue-still-waiting": ("Tack för att du väntar.", "Thank you for waiting."),
        "callback-offer": ("Vill du bli uppringd i stället, tryck", "To be called back instead, press"),
        "voicemail-greeting": ("Lämna ett meddelande efter tonen.", "Please leave a message after the tone."),
        "goodbye": ("Tack för samtalet, hej då.", "Thank you for calling, goodbye."),
    }
)

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
        # phone services (pbx.ivr.services): listening to voicemail, recording prompts
        "service-refused": ("Ditt nummer har inte tillgång till den här tjänsten.",
                            "Your number does not have access to this service."),
        "service-failed": ("Tjänsten fungerar inte just nu. Försök igen senare.",
                           "The service is not working right now. Please try again later."),
        "vm-no-box": ("Du har ingen röstbrevlåda.", "You have no voicemail box."),
        "vm-new-count": ("Nya meddelanden:", "New messages:"),  # then the number
        "vm-saved-count": ("Sparade meddelanden:", "Saved messages:"),
        "vm-saved-messages": ("Sparade meddelanden.", "Saved messages."),
        "vm-from": ("Från", "From"),  # then the digits
        "vm-received-today": ("Mottaget i dag", "Received today"),  # then the time
        "vm-received-yesterday": ("Mottaget i går", "Received yesterday"),
        "vm-received": ("Mottaget för", "Received"),  # then the number of days
        "vm-days-ago": ("dagar sedan", "days ago"),
        "vm-options": (
            "Tryck 1 för att lyssna igen, 2 för att spara, 3 för nästa meddelande, 5 för att behålla det som nytt, "
            "7 för att radera, eller stjärna för att avsluta.",
            "Press 1 to listen again, 2 to save, 3 for the next message, 5 to keep it as new, 7 to delete, "
            "or star to finish.",
        ),
        "vm-saved": ("Meddelandet är sparat.", "Message saved."),
        "vm-kept-new": ("Meddelandet är markerat som nytt.", "Message marked as new."),
        "vm-deleted": ("Meddelandet är raderat.", "Message deleted."),
        "vm-no-more": ("Inga fler meddelanden.", "No more messages."),
        "prompt-enter-code": (
            "Slå numret på meddelandet du vill spela in, avsluta med fyrkant.",
            "Enter the number of the prompt to record, then press hash.",
        ),
        "prompt-record": ("Tala in meddelandet efter tonen. Tryck fyrkant när du är klar.",
                          "Record the prompt after the tone. Press hash when you are done."),
        "prompt-review": (
            "Tryck 1 för att spara, 2 för att spela in igen, 3 för att lyssna igen, eller stjärna för att avbryta.",
            "Press 1 to keep it, 2 to record again, 3 to listen again, or star to cancel.",
        ),
        "prompt-stored": ("Inspelningen är sparad.", "The recording is saved."),
        "prompt-cancelled": ("Inspelningen är borttagen.", "The recording was discarded."),
        "prompt-not-recorded": ("Ingen inspelning kom fram.", "Nothing was recorded."),
        "prompt-rejected": ("Inspelningen gick inte att använda, den var tyst.",
                            "The recording could not be used, it was silent."),
        # calls from users' phones (pbx.routing.phone) and what their feature codes did (pbx.features)
        "phone-unknown-device": ("Den här telefonen är inte kopplad till någon användare.",
                                 "This phone is not connected to a user."),
        "phone-busy": ("Numret är upptaget.", "The number is busy."),
        "phone-no-answer": ("Ingen svarar.", "There is no answer."),
        "barred-international": ("Du har inte behörighet att ringa utlandssamtal.",
                                 "You are not allowed to make international calls."),
        "barred-premium": ("Du har inte behörighet att ringa betalnummer.",
                           "You are not allowed to call premium-rate numbers."),
        "barred-mobile": ("Du har inte behörighet att ringa till mobiltelefoner.",
                          "You are not allowed to call mobile phones."),
        "barred-domestic": ("Du har inte behörighet att ringa externa samtal.",
                            "You are not allowed to make outside calls."),
        "agent-logged-in": ("Du är inloggad.", "You are logged in."),
        "agent-logged-out": ("Du är utloggad.", "You are logged out."),
        "agent-paused": ("Du har paus.", "You are on a break."),
        "agent-unpaused": ("Pausen är slut, du kan ta samtal igen.", "Your break is over, you can take calls again."),
        "agent-not-member": ("Du är inte med i den kön.", "You are not a member of that queue."),
        "forward-on": ("Dina samtal kopplas vidare till", "Your calls are forwarded to"),  # then the digits
        "forward-off": ("Vidarekopplingen är borttagen.", "Forwarding is off."),
        "presence-set": ("Din hänvisning är sparad. Du", "Your presence is set. Callers hear that this user"),
        "presence-cleared": ("Din hänvisning är borttagen.", "Your presence is cleared."),
        "feature-invalid": ("Koden går inte att använda.", "That code cannot be used."),
    }
)

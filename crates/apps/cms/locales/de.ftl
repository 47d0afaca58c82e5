# The content application's messages: an event's page.
event-when = Wann
event-where = Wo
event-next-dates = Nächste Termine
event-contact = Kontakt
event-website = Website

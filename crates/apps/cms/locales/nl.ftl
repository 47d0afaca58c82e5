# The content application's messages: an event's page.
event-when = Wanneer
event-where = Waar
event-next-dates = Volgende data
event-contact = Contact
event-website = Website

# The content application's messages: an event's page.
event-when = When
event-where = Where
event-contact = Contact
event-website = Website
event-next-dates = Next dates

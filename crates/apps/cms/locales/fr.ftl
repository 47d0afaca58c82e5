# The content application's messages: an event's page.
event-when = Quand
event-where = Où
event-contact = Contact
event-website = Site web
event-next-dates = Prochaines dates

# Dutch: to be completed by a translator; missing messages fall back to French.
skip-to-content = Naar de inhoud
main-navigation = Hoofdnavigatie
breadcrumbs = U bent hier
home = Home
not-found-title = Pagina niet gevonden
event-when = Wanneer
event-where = Waar
event-next-dates = Volgende data
download-file = { $name } downloaden
search-label = Zoeken op de site
search-button = Zoeken
search-title = Zoeken

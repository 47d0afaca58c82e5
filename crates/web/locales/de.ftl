# German: to be completed by a translator; missing messages fall back to French.
skip-to-content = Zum Inhalt springen
main-navigation = Hauptnavigation
breadcrumbs = Sie sind hier
home = Startseite
not-found-title = Seite nicht gefunden
event-when = Wann
event-where = Wo
event-next-dates = Nächste Termine
download-file = { $name } herunterladen
search-label = Auf der Website suchen
search-button = Suchen
search-title = Suche

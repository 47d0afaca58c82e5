meetings-reference = Aktenzeichen
meetings-number = Nummer auf der Tagesordnung
meetings-proposing-group = Vorschlagender Dienst
meetings-category = Kategorie
meetings-privacy = Öffentlichkeit
meetings-secret = nicht öffentlich
meetings-public = in öffentlicher Sitzung
meetings-meeting = Sitzung
meetings-date = Datum
meetings-place = Ort
meetings-agenda = Tagesordnung
meetings-agenda-empty = Noch kein Punkt auf der Tagesordnung.
meetings-available = Validierte Punkte zum Vorlegen
meetings-present = Vorlegen
meetings-number-short = Nr.
meetings-item = Punkt
meetings-state = Status
meetings-upcoming = Kommende Sitzungen
meetings-past = Vergangene Sitzungen
meetings-none = Keine Sitzung.
meetings-mine = Meine Punkte
meetings-to-validate = Zu prüfende Punkte
meetings-to-present = Validierte Punkte, noch in keiner Sitzung
meetings-nothing = Derzeit nichts.
meetings-order = Reihenfolge
meetings-up = Nach oben
meetings-down = Nach unten
meetings-late = Zusatzpunkt
meetings-advices = Stellungnahmen
meetings-to-advise = Abzugebende Stellungnahmen
meetings-advice-service = Dienststelle
meetings-advice-type = Stellungnahme
meetings-advice-due = Fällig am
meetings-advice-left = Verbleibende Frist
meetings-advice-days = { $days ->
    [one] 1 Arbeitstag
   *[other] { $days } Arbeitstage
}
meetings-advice-late = { $days ->
    [one] 1 Arbeitstag überfällig
   *[other] { $days } Arbeitstage überfällig
}
meetings-advice-positive = positiv
meetings-advice-positive_with_remarks = positiv mit Bemerkungen
meetings-advice-negative = negativ
meetings-advice-nil = gegenstandslos
meetings-advice-outdated = überholt: der Punkt wurde seither geändert
meetings-attendance = Anwesenheit
meetings-signatory = Unterzeichner
meetings-vote = Abstimmung
meetings-vote-secret = geheime Abstimmung
meetings-vote-unanimous = einstimmig ({ $yes } Stimmen)
meetings-vote-sentence = mit { $yes } Ja-Stimmen, { $no } Nein-Stimmen und { $abstain ->
    [0] keiner Enthaltung
    [one] 1 Enthaltung
   *[other] { $abstain } Enthaltungen
}
meetings-attendance-present = Anwesend
meetings-attendance-excused = Entschuldigt
meetings-attendance-absent = Abwesend

fieldset-votes = Abstimmung
fieldset-advices = Stellungnahmen
fieldset-attendance = Anwesenheit
meetings-annexes = Anlagen
meetings-annex-to_print = zu drucken
meetings-annex-confidential = vertraulich
meetings-annex-publishable = veröffentlichbar
meetings-annex-details = Details
meetings-templates = Neuer Punkt aus einer Vorlage
meetings-use-template = Von dieser Vorlage ausgehen
meetings-batch-select = Auswählen
meetings-batch-forward = Auswahl freigeben
meetings-batch-back = Auswahl an die vorige Stufe zurückschicken
meetings-batch-none = Kreuzen Sie mindestens einen Punkt an.
meetings-action-search = Punkte suchen
meetings-search-title = Punkte suchen
meetings-search-any = (alle)
meetings-search-words = Wörter
meetings-search-submit = Suchen
meetings-search-found = { $count ->
    [0] Keine Punkte gefunden
    [one] 1 Punkt gefunden
   *[other] { $count } Punkte gefunden
}
meetings-search-none = Kein Punkt entspricht diesen Kriterien.
meetings-search-capped = Nur die 100 neuesten werden aufgeführt: verfeinern Sie die Suche.
meetings-search-back = Zurück zu { $body }
meetings-in-charge = Zuständig
meetings-meeting-number = Nummer der Sitzung

meetings-reference = Referentie
meetings-number = Nummer op de agenda
meetings-proposing-group = Voorstellende dienst
meetings-category = Categorie
meetings-privacy = Openbaarheid
meetings-secret = met gesloten deuren
meetings-public = in openbare zitting
meetings-meeting = Zitting
meetings-date = Datum
meetings-place = Plaats
meetings-agenda = Agenda
meetings-agenda-empty = Er staat nog geen punt op de agenda.
meetings-available = Gevalideerde punten om voor te leggen
meetings-present = Voorleggen
meetings-number-short = Nr.
meetings-item = Punt
meetings-state = Status
meetings-upcoming = Komende zittingen
meetings-past = Vorige zittingen
meetings-none = Geen zitting.
meetings-mine = Mijn punten
meetings-to-validate = Te valideren punten
meetings-to-present = Gevalideerde punten, nog niet op een zitting
meetings-nothing = Voorlopig niets.
meetings-order = Volgorde
meetings-up = Omhoog
meetings-down = Omlaag
meetings-late = bijkomend punt
meetings-advices = Adviezen
meetings-to-advise = Te geven adviezen
meetings-advice-service = Dienst
meetings-advice-type = Advies
meetings-advice-due = Uiterlijk op
meetings-advice-left = Resterende termijn
meetings-advice-days = { $days ->
    [one] 1 werkdag
   *[other] { $days } werkdagen
}
meetings-advice-late = { $days ->
    [one] 1 werkdag te laat
   *[other] { $days } werkdagen te laat
}
meetings-advice-positive = gunstig
meetings-advice-positive_with_remarks = gunstig met opmerkingen
meetings-advice-negative = ongunstig
meetings-advice-nil = zonder voorwerp
meetings-advice-outdated = achterhaald: het punt is sindsdien gewijzigd
meetings-attendance = Aanwezigheden
meetings-signatory = ondertekenaar
meetings-vote = Stemming
meetings-vote-secret = geheime stemming
meetings-vote-unanimous = eenparig ({ $yes } stemmen)
meetings-vote-sentence = met { $yes } stemmen voor, { $no } tegen en { $abstain ->
    [0] geen onthoudingen
    [one] 1 onthouding
   *[other] { $abstain } onthoudingen
}
meetings-attendance-present = Aanwezig
meetings-attendance-excused = Verontschuldigd
meetings-attendance-absent = Afwezig

fieldset-votes = Stemming
fieldset-advices = Adviezen
fieldset-attendance = Aanwezigheden
meetings-annexes = Bijlagen
meetings-annex-to_print = af te drukken
meetings-annex-confidential = vertrouwelijk
meetings-annex-publishable = publiceerbaar
meetings-annex-details = details
meetings-templates = Nieuw punt vanuit een sjabloon
meetings-use-template = Van dit sjabloon vertrekken
meetings-batch-select = Selecteren
meetings-batch-forward = Selectie valideren
meetings-batch-back = Selectie terugsturen naar het vorige niveau
meetings-batch-none = Vink minstens één punt aan.
meetings-action-search = Punten zoeken
meetings-search-title = Punten zoeken
meetings-search-any = (alle)
meetings-search-words = Woorden
meetings-search-submit = Zoeken
meetings-search-found = { $count ->
    [0] Geen punten gevonden
    [one] 1 punt gevonden
   *[other] { $count } punten gevonden
}
meetings-search-none = Geen enkel punt voldoet aan deze criteria.
meetings-search-capped = Alleen de 100 recentste worden getoond: verfijn de zoekopdracht.
meetings-search-back = Terug naar { $body }
meetings-in-charge = Bevoegd
meetings-meeting-number = Nummer van de zitting

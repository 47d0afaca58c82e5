meetings-reference = Référence
meetings-number = Numéro à l'ordre du jour
meetings-proposing-group = Service proposant
meetings-category = Catégorie
meetings-privacy = Publicité
meetings-secret = à huis clos
meetings-public = en séance publique
meetings-meeting = Séance
meetings-date = Date
meetings-place = Lieu
meetings-agenda = Ordre du jour
meetings-agenda-empty = Aucun point n'est encore à l'ordre du jour.
meetings-available = Points validés à présenter
meetings-present = Présenter
meetings-number-short = N°
meetings-item = Point
meetings-state = État
meetings-upcoming = Séances à venir
meetings-past = Séances passées
meetings-none = Aucune séance.
meetings-mine = Mes points
meetings-to-validate = Points à valider
meetings-to-present = Points validés, pas encore en séance
meetings-nothing = Rien pour l'instant.
meetings-order = Ordre
meetings-up = Monter
meetings-down = Descendre
meetings-late = point supplémentaire
meetings-advices = Avis
meetings-to-advise = Avis à rendre
meetings-advice-service = Service
meetings-advice-type = Avis
meetings-advice-due = À rendre pour le
meetings-advice-left = Délai restant
meetings-advice-days = { $days ->
    [one] 1 jour ouvrable
   *[other] { $days } jours ouvrables
}
meetings-advice-late = { $days ->
    [one] en retard d'1 jour ouvrable
   *[other] en retard de { $days } jours ouvrables
}
meetings-advice-positive = favorable
meetings-advice-positive_with_remarks = favorable avec remarques
meetings-advice-negative = défavorable
meetings-advice-nil = sans objet
meetings-advice-outdated = dépassé : le point a changé depuis
meetings-attendance = Présences
meetings-signatory = signataire
meetings-vote = Vote
meetings-vote-secret = vote secret
meetings-vote-unanimous = à l'unanimité ({ $yes } voix)
meetings-vote-sentence = par { $yes } voix pour, { $no } contre et { $abstain ->
    [0] aucune abstention
    [one] 1 abstention
   *[other] { $abstain } abstentions
}
meetings-attendance-present = Présents
meetings-attendance-excused = Excusés
meetings-attendance-absent = Absents

fieldset-votes = Vote
fieldset-advices = Avis
fieldset-attendance = Présences
meetings-annexes = Annexes
meetings-annex-to_print = à imprimer
meetings-annex-confidential = confidentielle
meetings-annex-publishable = publiable
meetings-annex-details = détails
meetings-templates = Nouveau point à partir d'un modèle
meetings-use-template = Partir de ce modèle
meetings-batch-select = Sélectionner
meetings-batch-forward = Valider la sélection
meetings-batch-back = Renvoyer la sélection au niveau précédent
meetings-batch-none = Cochez au moins un point.
meetings-action-search = Rechercher des points
meetings-search-title = Rechercher des points
meetings-search-any = (tous)
meetings-search-words = Mots
meetings-search-submit = Rechercher
meetings-search-found = { $count ->
    [0] Aucun point trouvé
    [one] 1 point trouvé
   *[other] { $count } points trouvés
}
meetings-search-none = Aucun point ne répond à ces critères.
meetings-search-capped = Seuls les 100 plus récents sont listés : précisez la recherche.
meetings-search-back = Retour à { $body }
meetings-in-charge = En charge
meetings-meeting-number = Numéro de la séance

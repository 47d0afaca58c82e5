meetings-reference = Référence
meetings-number = Numéro à l'ordre du jour
meetings-proposing-group = Service proposant
meetings-category = Catégorie
meetings-privacy = Séance
meetings-secret = à huis clos
meetings-public = publique

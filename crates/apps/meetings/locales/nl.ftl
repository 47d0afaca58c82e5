meetings-reference = Referentie
meetings-number = Nummer op de agenda
meetings-proposing-group = Voorstellende dienst
meetings-category = Categorie
meetings-privacy = Zitting
meetings-secret = met gesloten deuren
meetings-public = openbaar

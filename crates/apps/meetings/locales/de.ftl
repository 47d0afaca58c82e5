meetings-reference = Aktenzeichen
meetings-number = Nummer auf der Tagesordnung
meetings-proposing-group = Vorschlagender Dienst
meetings-category = Kategorie
meetings-privacy = Sitzung
meetings-secret = nicht öffentlich
meetings-public = öffentlich

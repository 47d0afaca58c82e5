meetings-reference = Reference
meetings-number = Number on the agenda
meetings-proposing-group = Proposing service
meetings-category = Category
meetings-privacy = Session
meetings-secret = in camera
meetings-public = public

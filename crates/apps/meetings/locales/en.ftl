meetings-reference = Reference
meetings-number = Number on the agenda
meetings-proposing-group = Proposing service
meetings-category = Category
meetings-privacy = Privacy
meetings-secret = in camera
meetings-public = in public session
meetings-meeting = Meeting
meetings-date = Date
meetings-place = Place
meetings-agenda = Agenda
meetings-agenda-empty = No item is on the agenda yet.
meetings-available = Validated items to present
meetings-present = Present
meetings-number-short = No.
meetings-item = Item
meetings-state = State
meetings-upcoming = Upcoming meetings
meetings-past = Past meetings
meetings-none = No meeting.
meetings-mine = My items
meetings-to-validate = Items to validate
meetings-to-present = Validated items not yet on an agenda
meetings-nothing = Nothing for now.
meetings-order = Order
meetings-up = Move up
meetings-down = Move down
meetings-late = late item
meetings-advices = Advices
meetings-to-advise = Advices to give
meetings-advice-service = Service
meetings-advice-type = Advice
meetings-advice-due = Due
meetings-advice-left = Time left
meetings-advice-days = { $days ->
    [one] 1 working day
   *[other] { $days } working days
}
meetings-advice-late = { $days ->
    [one] 1 working day late
   *[other] { $days } working days late
}
meetings-advice-positive = positive
meetings-advice-positive_with_remarks = positive with remarks
meetings-advice-negative = negative
meetings-advice-nil = nil
meetings-advice-outdated = outdated: the item changed since
meetings-attendance = Attendance
meetings-signatory = signatory
meetings-vote = Vote
meetings-vote-secret = secret vote
meetings-vote-unanimous = unanimously ({ $yes } votes)
meetings-vote-sentence = by { $yes } votes for, { $no } against and { $abstain ->
    [0] no abstention
    [one] 1 abstention
   *[other] { $abstain } abstentions
}
meetings-attendance-present = Present
meetings-attendance-excused = Excused
meetings-attendance-absent = Absent

fieldset-votes = Vote
fieldset-advices = Advice
fieldset-attendance = Attendance
meetings-annexes = Annexes
meetings-annex-to_print = to print
meetings-annex-confidential = confidential
meetings-annex-publishable = publishable
meetings-annex-details = details
meetings-templates = New item from a template
meetings-use-template = Start from this template
meetings-batch-select = Select
meetings-batch-forward = Validate the selection
meetings-batch-back = Send the selection back a level
meetings-batch-none = Tick at least one item.
meetings-action-search = Search items
meetings-search-title = Search items
meetings-search-any = (any)
meetings-search-words = Words
meetings-search-submit = Search
meetings-search-found = { $count ->
    [0] No items found
    [one] 1 item found
   *[other] { $count } items found
}
meetings-search-none = No item meets these criteria.
meetings-search-capped = Only the 100 most recent are listed: narrow the search.
meetings-search-back = Back to { $body }
meetings-in-charge = In charge
meetings-meeting-number = Meeting number

skip-to-content = Skip to content
main-navigation = Main navigation
breadcrumbs = You are here
home = Home
folder-contents = Folder contents
folder-empty = This folder is empty.
items-count = { $count ->
    [0] No items
    [one] { $count } item
   *[other] { $count } items
}
pagination = Pagination
page-previous = Previous page
page-next = Next page
page-n-of-m = Page { $page } of { $pages }
last-modified = Last modified on { $date }
published-on = Published on { $date }
not-found-title = Page not found
not-found-text = The page you asked for does not exist or was deleted. Check the address or start again from the home page.
bad-request-title = Bad request
unauthorized-title = Access denied
unauthorized-text = You do not have access to this page.
error-title = Error
error-text = Something went wrong. Please try again in a moment.
unavailable-title = Service temporarily unavailable
landing-title = Beffroi
landing-intro = This Beffroi installation hosts these sites:
landing-empty = No site has been created yet. Create one with: beffroi site create ID --title "Title"
footer-powered = Powered by Beffroi, free software under the EUPL.
type-page = Page
type-folder = Folder
back-home = Back to the home page
login-title = Log in
login-field = Login name
password-field = Password
login-submit = Log in
login-failed = Wrong login name or password.
login-throttled = Too many failed attempts. Try again in { $seconds } seconds.
login-throttled-title = Too many attempts
logout-title = Log out
logout-confirm = Do you want to log out?
logged-in-as = Logged in as { $name }
log-in = Log in
log-out = Log out
changes-saved = Changes saved.
sharing-title = Sharing of “{ $title }”
sharing-search = Search for a user or a group
search-submit = Search
sharing-caption = Who may do what here
sharing-who = User or group
sharing-inherit = Inherit permissions from parent folders
role-inherited = Inherited from a parent folder
role-contributor = Can add
role-editor = Can edit
role-reader = Can view
role-reviewer = Can review
save = Save
group = group
users-groups-title = Users and groups
users = Users
groups = Groups
fullname = Full name
email = Email
roles = Roles
state = State
enabled = Enabled
disabled = Disabled
enable = Enable
disable = Disable
add-user = Add a user
add-group = Add a group
add-member = Add a member to a group
group-id = Group id
title-field = Title
members = Members
toolbar = Tools
action-sharing = Sharing
action-users-groups = Users and groups
state-label = State:
change-state = Change state
comment-optional = Comment (optional)
apply = Apply
review-list-title = Items to review
review-list-empty = Nothing is waiting for review.
submitted-by = Created by { $name }
action-review-list = Review list
form-has-errors = The form has errors:
required = required
cancel = Cancel
delete = Delete
delete-title = Delete “{ $title }”
delete-confirm = Do you really want to delete “{ $title }”?
delete-inside = { $count ->
    [one] It holds 1 item, which will be deleted too.
   *[other] It holds { $count } items, which will be deleted too.
}
edit-title = Edit “{ $title }”
add-title = Add: { $type }
action-edit = Edit
action-delete = Delete
action-add = Add
current-file = Current file:
event-when = When
event-where = Where
event-contact = Contact
event-website = Website
event-next-dates = Next dates
download-file = Download { $name }
search-label = Search the site
search-button = Search
search-title = Search
search-results-count = { $count ->
    [0] No results
    [one] 1 result
   *[other] { $count } results
}
search-no-results = Nothing matches your search. Try other words or remove a filter.
search-sort-by = Sort by:
search-sort-relevance = relevance
search-sort-date = date
search-filters = Filters
search-filter-type = Content type
search-filter-subject = Tags
search-filter-date = Modified in the last
search-since-day = day
search-since-week = week
search-since-month = month
search-since-year = year
edit-locked-by = { $name } is editing this item right now. Your changes can be saved only once they finish or if you take over.
edit-take-lock = Take over
edit-conflict = Someone saved this item ({ $date }) since you opened the form. Compare both versions; saving again keeps yours.
edit-conflict-caption = Fields changed meanwhile
edit-their-version = Saved version
edit-your-version = Your version
field = Field
action-contents = Contents
contents-title = Contents of “{ $title }”
contents-back = Back to the folder
contents-select = Select
contents-select-item = Select “{ $title }”
contents-col-title = Title
contents-col-type = Type
contents-col-state = State
contents-col-modified = Modified
contents-col-order = Order
contents-move-up = Move “{ $title }” up
contents-move-down = Move “{ $title }” down
contents-rename = rename
contents-cut = Cut
contents-copy = Copy
contents-paste = Paste here
contents-clipboard = { $count ->
    [one] 1 item
   *[other] { $count } items
} { $kind ->
    [cut] cut, ready to paste.
   *[other] copied, ready to paste.
}
contents-nothing-selected = Select one or more items first.
contents-clipboard-empty = Nothing to paste: cut or copy items first.
contents-delete-title = Delete these items?
rename-title = Rename “{ $title }”
rename-id = Short name (in the address)
rename-id-help = Lower-case letters, digits, hyphens. The old address will redirect to the new one.
richtext-image-prompt = Image address (for example that of an image of the site)
action-history = History
contents-back-item = Back to the item
history-title = History of “{ $title }”
history-revision = Version { $n }
history-view = view
history-compare-previous = compare with the previous one
history-created = Created
history-revert = Revert to version { $n }
history-old-version = You are looking at version { $n }, saved on { $date } by { $name }.
history-back = Back to the history
history-version-title = Version { $n } of “{ $title }”
history-compare-title = Differences between versions { $a } and { $b }
history-no-difference = These two versions are the same.

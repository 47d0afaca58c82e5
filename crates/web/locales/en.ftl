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

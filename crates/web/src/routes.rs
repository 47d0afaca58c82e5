//! One registry of the named endpoints (`@name`, JSON) and views (`@@name`, HTML) a
//! site answers: each route says its name, method, how many path segments follow the
//! name, who may call it, what body it reads, and its handler. Traversal dispatches
//! through it, plone.restapi's `@components` and the toolbar read it, and the endpoint
//! table of docs/API.md is made from it. Applications add their routes to the same
//! registry; two applications may not claim one name.
//!
//! The access a route declares is checked before its handler runs, on the item found
//! by traversal. It is a gate, not the whole decision: every service the handler calls
//! checks the permission of what it does again, so a handler can never do more than
//! its caller may.

use std::future::Future;
use std::pin::Pin;

use axum::http::{HeaderMap, Method};
use axum::response::Response;
use beffroi_model::security::{Permission, Principal};
use beffroi_service::ItemView;

use crate::error::WebError;
use crate::traverse::Ctx;

/// What a handler answers.
pub type Answer<'r> = Pin<Box<dyn Future<Output = Result<Response, WebError>> + Send + 'r>>;

/// The request a handler serves.
pub struct Call<'r> {
    pub(crate) ctx: &'r Ctx<'r>,
    pub(crate) headers: &'r HeaderMap,
    /// The path segments after the route's name (`@users/<login>`: the login).
    pub(crate) rest: &'r [String],
    /// The body of a POST, PATCH or DELETE (None for GET and HEAD).
    pub(crate) body: Option<&'r [u8]>,
}

impl<'r> Call<'r> {
    /// The request: site, principal, query, the services.
    pub fn ctx(&self) -> &'r Ctx<'r> {
        self.ctx
    }

    /// The path segments after the route's name.
    pub fn rest(&self) -> &'r [String] {
        self.rest
    }

    /// The one segment after the route's name (`@users/<login>`), for a route
    /// registered with [`Args::One`].
    pub fn arg(&self) -> Result<&'r str, WebError> {
        match self.rest {
            [one] => Ok(one),
            _ => Err(WebError::NotFound(self.ctx.request_url.clone())),
        }
    }

    /// The body of a POST, PATCH or DELETE (None for GET and HEAD).
    pub fn body(&self) -> Option<&'r [u8]> {
        self.body
    }

    /// A JSON answer; to a GET with validators (304 when the client has it).
    pub fn json(&self, value: &serde_json::Value) -> Response {
        if self.body.is_none() {
            crate::traverse::finish(self.headers, crate::traverse::json_body(value), crate::traverse::JSON, None)
        } else {
            crate::traverse::json_answer(value)
        }
    }

    /// An HTML page made from `template` (the application's or the platform's) inside
    /// the site's layout, with `title` and the values of `extra`.
    pub fn page(&self, template: &str, extra: minijinja::Value) -> Result<Response, WebError> {
        crate::views::page(self.ctx, axum::http::StatusCode::OK, template, extra)
    }

    /// The fields of a form the view was posted (URL-encoded), in order.
    pub fn form(&self) -> Result<Vec<(String, String)>, WebError> {
        crate::views::form_pairs(self.body.unwrap_or_default())
    }

    /// After a form changed workflow states: back to `url` (303), which then says so.
    pub fn state_changed(&self, url: &str) -> Response {
        crate::views::done(url, crate::views::Status::StateChanged)
    }

    /// After a form made an item: to `url` (its edit form, say), saying it was made.
    pub fn created(&self, url: &str) -> Response {
        crate::views::done(url, crate::views::Status::Created)
    }

    /// After a JSON call made an item: 201 with the item at `path` as plone.restapi
    /// answers a creation (its URL in Location, the item as a GET gives it).
    pub async fn created_json(&self, path: &beffroi_model::ItemPath) -> Result<Response, WebError> {
        crate::json::created_item(self.ctx, path).await
    }

    /// The message `key` in the site's language.
    pub fn t(&self, key: &str) -> String {
        self.ctx.app.i18n.t(self.ctx.site.language, key, &[])
    }

    /// The message `key` in the site's language with numbers for its variables
    /// (which its plural forms select on).
    pub fn t_numbers(&self, key: &str, args: &[(&str, i64)]) -> String {
        let args: Vec<(&str, fluent_bundle::FluentValue<'_>)> =
            args.iter().map(|(k, n)| (*k, fluent_bundle::FluentValue::from(*n))).collect();
        self.ctx.app.i18n.t(self.ctx.site.language, key, &args)
    }

    /// A service's refusal as the HTTP error it means.
    pub fn error(&self, e: beffroi_service::ServiceError) -> WebError {
        WebError::from_service(e, &self.ctx.request_url)
    }
}

/// A handler: of an item (the one traversal found and the caller may view), or of the
/// site (answered on any path, whether its item may be viewed or not: login, logout).
#[derive(Clone, Copy)]
pub enum Handler {
    Item(for<'r> fn(Call<'r>, &'r ItemView) -> Answer<'r>),
    Site(for<'r> fn(Call<'r>) -> Answer<'r>),
}

impl Handler {
    /// Answers `call` on the item `view` (a site handler does not look at it).
    pub fn run<'r>(self, call: Call<'r>, view: &'r ItemView) -> Answer<'r> {
        match self {
            Handler::Item(handler) => handler(call, view),
            Handler::Site(handler) => handler(call),
        }
    }
}

/// An HTTP method a route answers (GET also answers HEAD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verb {
    Get,
    Post,
    Patch,
    Delete,
}

impl Verb {
    pub fn of(method: &Method) -> Option<Verb> {
        match *method {
            Method::GET | Method::HEAD => Some(Verb::Get),
            Method::POST => Some(Verb::Post),
            Method::PATCH => Some(Verb::Patch),
            Method::DELETE => Some(Verb::Delete),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }
}

/// How many path segments follow the route's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Args {
    /// `@name` alone.
    None,
    /// `@name/<one>`.
    One,
    /// Any number (`@@images/<field>/<scale>`).
    Any,
}

impl Args {
    fn fits(self, n: usize) -> bool {
        match self {
            Args::None => n == 0,
            Args::One => n == 1,
            Args::Any => true,
        }
    }
}

/// Who may call a route, checked on the item traversal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Whoever reached the item (traversal has checked View), or anyone for a site
    /// route; the services check the rest.
    Anyone,
    /// A signed-in user; what they may do is checked by the services.
    SignedIn,
    /// Holders of one of these permissions on the item.
    Item(&'static [Permission]),
    /// Holders of the permission on the site root.
    Site(Permission),
}

impl Access {
    /// Whether `principal` passes the gate on `view`.
    pub fn allows(self, principal: &Principal, view: Option<&ItemView>) -> bool {
        match (self, view) {
            (Access::Anyone, _) => true,
            (Access::SignedIn, _) => *principal != Principal::Anonymous,
            (Access::Item(ps), Some(v)) => ps.iter().any(|p| v.allows(principal, *p)),
            (Access::Site(p), Some(v)) => v.allows_on_site(principal, p),
            (Access::Item(_) | Access::Site(_), None) => false,
        }
    }

    #[cfg(test)]
    fn describe(self) -> String {
        match self {
            Access::Anyone => "anyone who may view the item".into(),
            Access::SignedIn => "signed in".into(),
            Access::Item(ps) => ps.iter().map(|p| p.name()).collect::<Vec<_>>().join(" or "),
            Access::Site(p) => format!("{} (site)", p.name()),
        }
    }
}

/// What body a writing route reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// A JSON or form-encoded body of at most 1 MiB.
    Small,
    /// A form that may carry files (multipart, spooled to disk as it arrives), or JSON
    /// with files in base64: up to the upload limit.
    Upload,
}

/// Where a view appears in the item's toolbar.
#[derive(Clone, Copy)]
pub struct Action {
    /// The message key of its label.
    pub label: &'static str,
    /// Order in the toolbar (smaller first).
    pub order: u16,
    /// The action's target: the item's URL (false) or the site's (true).
    pub on_site: bool,
    /// One entry per type that may be added here instead of one entry.
    pub per_addable_type: bool,
    /// Whether the action is offered on this item, besides the route's access.
    pub when: fn(&Ctx<'_>, &ItemView) -> bool,
}

/// One route of the registry.
#[derive(Clone)]
pub struct Route {
    pub name: &'static str,
    pub verb: Verb,
    pub args: Args,
    pub access: Access,
    pub body: Body,
    /// The application that registered it.
    pub app: &'static str,
    /// One line for docs/API.md.
    pub summary: &'static str,
    /// Its key in plone.restapi's `@components` of an item, if listed there.
    pub component: Option<&'static str>,
    /// Its entry in the toolbar of an item page, if any.
    pub action: Option<Action>,
    /// Whether an HTML view keeps the site's navigation and breadcrumbs.
    pub chrome: bool,
    /// Whether it answers a document programs read (a feed, a calendar, a sitemap)
    /// rather than a page: an anonymous caller refused gets 401, not the login form.
    pub document: bool,
    pub handler: Handler,
}

fn always(_: &Ctx<'_>, _: &ItemView) -> bool {
    true
}

impl Route {
    fn new(name: &'static str, verb: Verb, args: Args, handler: Handler) -> Self {
        Route {
            name,
            verb,
            args,
            access: Access::Anyone,
            body: Body::Small,
            app: "",
            summary: "",
            component: None,
            action: None,
            chrome: name.starts_with("@@"),
            document: false,
            handler,
        }
    }

    pub fn get(name: &'static str, args: Args, handler: Handler) -> Self {
        Self::new(name, Verb::Get, args, handler)
    }

    pub fn post(name: &'static str, args: Args, handler: Handler) -> Self {
        Self::new(name, Verb::Post, args, handler)
    }

    pub fn patch(name: &'static str, args: Args, handler: Handler) -> Self {
        Self::new(name, Verb::Patch, args, handler)
    }

    pub fn delete(name: &'static str, args: Args, handler: Handler) -> Self {
        Self::new(name, Verb::Delete, args, handler)
    }

    pub fn access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }

    pub fn uploads(mut self) -> Self {
        self.body = Body::Upload;
        self
    }

    pub fn summary(mut self, summary: &'static str) -> Self {
        self.summary = summary;
        self
    }

    pub fn component(mut self, key: &'static str) -> Self {
        self.component = Some(key);
        self
    }

    /// Shown in the toolbar with this label, in this order, when the access allows.
    pub fn action(mut self, label: &'static str, order: u16) -> Self {
        self.action = Some(Action { label, order, on_site: false, per_addable_type: false, when: always });
        self
    }

    /// Like [`Route::action`], offered only where `when` holds.
    pub fn action_when(mut self, label: &'static str, order: u16, when: fn(&Ctx<'_>, &ItemView) -> bool) -> Self {
        self.action = Some(Action { label, order, on_site: false, per_addable_type: false, when });
        self
    }

    /// The action opens the site's view rather than the item's.
    pub fn on_site(mut self) -> Self {
        if let Some(a) = &mut self.action {
            a.on_site = true;
        }
        self
    }

    /// The action is one entry per type that may be added here.
    pub fn per_addable_type(mut self) -> Self {
        if let Some(a) = &mut self.action {
            a.per_addable_type = true;
        }
        self
    }

    /// An HTML view without the site's navigation (login, logout, downloads).
    pub fn bare(mut self) -> Self {
        self.chrome = false;
        self
    }

    /// A document for programs (see [`Route::document`]), without the site's navigation.
    pub fn document(mut self) -> Self {
        self.document = true;
        self.chrome = false;
        self
    }

    /// Whether the view is HTML (`@@name`) rather than a JSON endpoint.
    pub fn is_view(&self) -> bool {
        self.name.starts_with("@@")
    }

    /// Whether the request's principal may call it on `view` and it is offered there:
    /// the site has it, its access gate lets them pass, and its toolbar action (if any)
    /// is shown on this item. The toolbar and `@actions` offer what this allows.
    pub fn offered(&self, ctx: &Ctx<'_>, view: &ItemView) -> bool {
        ctx.has_route(self)
            && self.access.allows(&ctx.principal, Some(view))
            && self.action.is_none_or(|a| (a.when)(ctx, view))
    }
}

/// What the registry says of a request for a name.
pub enum Lookup<'a> {
    Found(&'a Route),
    /// The name is known, not with this method: 405.
    WrongMethod,
    /// No such name, or not with these segments: 404.
    Unknown,
}

/// The routes of every application of the server.
#[derive(Clone, Default)]
pub struct Routes {
    list: Vec<Route>,
}

impl Routes {
    /// Adds an application's routes. A name another application registered, or the same
    /// name, method and segments twice, is refused with a message naming both.
    pub fn register(&mut self, app: &'static str, routes: Vec<Route>) -> Result<(), String> {
        for mut r in routes {
            if !r.name.starts_with('@') || r.name.len() < 2 {
                return Err(format!("application {app}: route {:?} must start with @ or @@", r.name));
            }
            if let Some(other) = self.list.iter().find(|o| o.name == r.name && o.app != app) {
                return Err(format!("applications {} and {app} both claim {}", other.app, r.name));
            }
            if self.list.iter().any(|o| o.name == r.name && o.verb == r.verb && o.args == r.args) {
                return Err(format!("application {app} registers {} {} twice", r.verb.name(), r.name));
            }
            r.app = app;
            self.list.push(r);
        }
        Ok(())
    }

    /// The route for `name` called with `method` and `n` segments after the name.
    pub fn lookup(&self, name: &str, method: &Method, n: usize) -> Lookup<'_> {
        let named: Vec<&Route> = self.list.iter().filter(|r| r.name == name).collect();
        if named.is_empty() {
            return Lookup::Unknown;
        }
        let Some(verb) = Verb::of(method) else {
            return Lookup::WrongMethod;
        };
        if let Some(r) = named.iter().find(|r| r.verb == verb && r.args.fits(n)) {
            return Lookup::Found(r);
        }
        // A GET of a readable name with other segments names nothing; any other call is
        // a method the name does not take there.
        if verb == Verb::Get && named.iter().any(|r| r.verb == Verb::Get) {
            Lookup::Unknown
        } else {
            Lookup::WrongMethod
        }
    }

    /// The GET route listed in `@components` as `key`.
    pub fn component(&self, key: &str) -> Option<&Route> {
        self.list.iter().find(|r| r.verb == Verb::Get && r.component == Some(key))
    }

    /// The item's `@components`: each listed endpoint the site has, its URL under the item.
    pub fn components(
        &self,
        item_url: &str,
        has: impl Fn(&Route) -> bool,
    ) -> serde_json::Map<String, serde_json::Value> {
        self.list
            .iter()
            .filter(|r| has(r))
            .filter_map(|r| r.component.map(|k| (k, r.name)))
            .map(|(k, name)| (k.to_owned(), serde_json::json!({"@id": format!("{item_url}/{name}")})))
            .collect()
    }

    /// The views in the toolbar, in their order.
    pub fn actions(&self) -> Vec<&Route> {
        let mut out: Vec<&Route> = self.list.iter().filter(|r| r.action.is_some() && r.verb == Verb::Get).collect();
        out.sort_by_key(|r| r.action.map(|a| a.order));
        out
    }

    #[cfg(test)]
    /// The endpoint table of docs/API.md: one row per name, its methods and access.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| name | methods | who may call it | application | what |\n| --- | --- | --- | --- | --- |\n",
        );
        let mut names: Vec<&str> = self.list.iter().map(|r| r.name).collect();
        names.dedup();
        let mut seen = Vec::new();
        for name in names {
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
            let named: Vec<&Route> = self.list.iter().filter(|r| r.name == name).collect();
            let methods: Vec<String> = named
                .iter()
                .map(|r| match r.args {
                    Args::None => r.verb.name().to_owned(),
                    Args::One => format!("{} `/<id>`", r.verb.name()),
                    Args::Any => format!("{} `/…`", r.verb.name()),
                })
                .collect();
            let mut access: Vec<String> = Vec::new();
            for r in &named {
                let a = match r.handler {
                    Handler::Site(_) => "anyone, on any path".to_owned(),
                    Handler::Item(_) => r.access.describe(),
                };
                if !access.contains(&a) {
                    access.push(a);
                }
            }
            let summary = named.iter().map(|r| r.summary).find(|s| !s.is_empty()).unwrap_or("");
            out.push_str(&format!(
                "| `{name}` | {} | {} | {} | {summary} |\n",
                methods.join(", "),
                access.join("; "),
                named[0].app
            ));
        }
        out
    }
}

/// A handler from an `async fn(Call, &ItemView) -> Result<Response, WebError>`.
#[macro_export]
macro_rules! item_handler {
    ($f:path) => {
        $crate::routes::Handler::Item(|c, v| Box::pin($f(c, v)))
    };
}

/// A handler from an `async fn(Call) -> Result<Response, WebError>`.
#[macro_export]
macro_rules! site_handler {
    ($f:path) => {
        $crate::routes::Handler::Site(|c| Box::pin($f(c)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn nothing<'r>(_: Call<'r>, _: &'r ItemView) -> Result<Response, WebError> {
        Err(WebError::NotFound(String::new()))
    }

    fn h() -> Handler {
        item_handler!(nothing)
    }

    #[test]
    fn names_are_claimed_once() {
        let mut r = Routes::default();
        r.register("a", vec![Route::get("@x", Args::None, h()), Route::post("@x", Args::One, h())]).unwrap();
        // The same application may add a method; another may not take the name.
        r.register("a", vec![Route::delete("@x", Args::One, h())]).unwrap();
        let e = r.register("b", vec![Route::get("@x", Args::One, h())]).unwrap_err();
        assert!(e.contains("a and b both claim @x"), "{e}");
        let e = r.register("a", vec![Route::get("@x", Args::None, h())]).unwrap_err();
        assert!(e.contains("twice"), "{e}");
        assert!(r.register("a", vec![Route::get("x", Args::None, h())]).is_err());
    }

    #[test]
    fn lookup_tells_unknown_from_wrong_method() {
        let mut r = Routes::default();
        r.register("a", vec![Route::get("@x", Args::None, h()), Route::patch("@x", Args::One, h())]).unwrap();
        assert!(matches!(r.lookup("@x", &Method::GET, 0), Lookup::Found(_)));
        assert!(matches!(r.lookup("@x", &Method::HEAD, 0), Lookup::Found(_)));
        assert!(matches!(r.lookup("@x", &Method::PATCH, 1), Lookup::Found(_)));
        assert!(matches!(r.lookup("@x", &Method::GET, 1), Lookup::Unknown));
        assert!(matches!(r.lookup("@x", &Method::PATCH, 0), Lookup::WrongMethod));
        assert!(matches!(r.lookup("@x", &Method::POST, 0), Lookup::WrongMethod));
        assert!(matches!(r.lookup("@x", &Method::PUT, 0), Lookup::WrongMethod));
        assert!(matches!(r.lookup("@y", &Method::GET, 0), Lookup::Unknown));
        r.register("a", vec![Route::post("@z", Args::None, h())]).unwrap();
        assert!(matches!(r.lookup("@z", &Method::GET, 0), Lookup::WrongMethod));
    }

    #[test]
    fn components_and_doc_come_from_the_routes() {
        let mut r = Routes::default();
        r.register("a", vec![Route::get("@x", Args::None, h()).component("ex").summary("does x")]).unwrap();
        assert_eq!(r.components("http://h/s", |_| true)["ex"]["@id"], "http://h/s/@x");
        assert!(r.components("http://h/s", |r| r.app != "a").is_empty());
        assert!(r.markdown().contains("| `@x` | GET | anyone who may view the item | a | does x |"));
    }
}

//! HTML views that belong to the site rather than to one item: the login form and
//! logout. They work without JavaScript and carry CSRF tokens once a session exists.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use beffroi_model::Language;
use beffroi_model::security::Principal;
use minijinja::context;

use beffroi_model::security::{Grantee, Role};
use beffroi_service::{ItemView, RoleOrigin, SharingChange};

use crate::auth::Via;
use crate::error::WebError;
use crate::routes::Call;
use crate::traverse::Ctx;

#[derive(serde::Deserialize)]
struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    came_from: String,
}

/// One field of a form-encoded body.
pub(crate) fn form_field(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// Where to go back after logging in: only a path on this host (no scheme, no
/// `//host`, no backslash trick), else the site's home page. No open redirect.
pub(crate) fn safe_return(ctx: &Ctx<'_>, came_from: &str) -> String {
    let ok = came_from.starts_with('/')
        && !came_from.starts_with("//")
        && !came_from.contains('\\')
        && came_from.len() <= 2000
        && !came_from.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok {
        let origin_end = ctx.base.find("://").map(|i| i + 3).and_then(|i| ctx.base[i..].find('/').map(|j| i + j));
        let origin = origin_end.map(|e| &ctx.base[..e]).unwrap_or(&ctx.base);
        format!("{origin}{came_from}")
    } else {
        ctx.base.clone()
    }
}

/// 302 to the login form, with the page to come back to.
pub(crate) fn redirect_to_login(ctx: &Ctx<'_>, came_from: &str) -> Response {
    let q = serde_urlencoded::to_string([("came_from", came_from)]).unwrap_or_default();
    let location = format!("{}/@@login?{q}", ctx.base);
    (StatusCode::FOUND, [(header::LOCATION, HeaderValue::from_str(&location).expect("encoded URL"))]).into_response()
}

/// The cookie that carries a confirmation across a redirect to the page that shows
/// it (once: that page clears it).
pub(crate) const STATUS_COOKIE: &str = "beffroi_status";

/// What an action that went well tells on the next page, as Plone's status messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Saved,
    Created,
    StateChanged,
    Pasted,
    Renamed,
    Reverted,
    SharingSaved,
    Deleted,
    Moved,
}

impl Status {
    const ALL: [Status; 9] = [
        Status::Saved,
        Status::Created,
        Status::StateChanged,
        Status::Pasted,
        Status::Renamed,
        Status::Reverted,
        Status::SharingSaved,
        Status::Deleted,
        Status::Moved,
    ];

    fn key(self) -> &'static str {
        match self {
            Status::Saved => "saved",
            Status::Created => "created",
            Status::StateChanged => "state-changed",
            Status::Pasted => "pasted",
            Status::Renamed => "renamed",
            Status::Reverted => "reverted",
            Status::SharingSaved => "sharing-saved",
            Status::Deleted => "deleted",
            Status::Moved => "moved",
        }
    }

    /// The message of a status cookie, in the site's language (an unknown value says
    /// nothing).
    pub(crate) fn message(ctx: &Ctx<'_>) -> Option<String> {
        let sent = ctx.status.as_deref()?;
        let status = Status::ALL.into_iter().find(|s| s.key() == sent)?;
        Some(ctx.app.i18n.t(ctx.site.language, &format!("status-{}", status.key()), &[]))
    }
}

/// A redirect after an action, with its confirmation for the next page.
pub(crate) fn done(location: &str, status: Status) -> Response {
    let cookie = format!("{STATUS_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=120", status.key());
    see_other(location, HeaderValue::from_str(&cookie).ok())
}

pub(crate) fn see_other(location: &str, cookie: Option<HeaderValue>) -> Response {
    let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, HeaderValue::from_str(location).expect("checked URL"))])
        .into_response();
    if let Some(c) = cookie {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    res
}

pub(crate) fn page(
    ctx: &Ctx<'_>,
    status: StatusCode,
    template: &str,
    extra: minijinja::Value,
) -> Result<Response, WebError> {
    let lang: Language = ctx.site.language;
    let base = context! {
        lang => lang.code(),
        site_title => ctx.site.title.clone(),
        site_url => ctx.base.clone(),
        csrf => match &ctx.via { Via::Session { csrf, .. } => Some(csrf.clone()), _ => None },
        user => crate::html::user_name(&ctx.principal),
        login_url => (template != "login.html").then(|| crate::html::login_url(ctx)),
        status_message => Status::message(ctx),
        theme => crate::html::theme(ctx.app, &ctx.site, &ctx.base),
    };
    let chrome = ctx.chrome.get().cloned().unwrap_or_else(|| context! {});
    let body = crate::html::render(ctx.app, template, context! { ..extra, ..base, ..chrome })?;
    let mut res =
        (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], body).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

fn login_page(
    ctx: &Ctx<'_>,
    status: StatusCode,
    error: Option<String>,
    login: &str,
    came_from: &str,
) -> Result<Response, WebError> {
    let title = ctx.app.i18n.t(ctx.site.language, "login-title", &[]);
    page(ctx, status, "login.html", context! { title => title, error => error, login => login, came_from => came_from })
}

/// The login form (GET) and logging in (POST): a session cookie, then back to where
/// the visitor came from.
pub(crate) async fn login(c: Call<'_>) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let lang = ctx.site.language;
    let err = |e| WebError::from_service(e, &ctx.request_url);
    let Some(body) = c.body else {
        let came_from = ctx.query.iter().find(|(k, _)| k == "came_from").map(|(_, v)| v.clone()).unwrap_or_default();
        return login_page(ctx, StatusCode::OK, None, "", &came_from);
    };
    let form: LoginForm =
        serde_urlencoded::from_bytes(body).map_err(|_| WebError::BadRequest("malformed form".into()))?;
    let outcome =
        ctx.app.services.login(&ctx.site, form.login.trim(), &form.password, &ctx.client).await.map_err(err)?;
    match outcome {
        beffroi_service::LoginOutcome::Success(p) => {
            // A new session id at every login: a planted cookie is worth nothing.
            if let Via::Session { id, .. } = &ctx.via {
                ctx.app.services.close_session(&ctx.site, id, p.id(), &ctx.client).await.map_err(err)?;
            }
            let session = ctx.app.services.open_session(&ctx.site, &p).await.map_err(err)?;
            let cookie = crate::auth::session_cookie(Some(&session.id), ctx.secure);
            Ok(see_other(&safe_return(ctx, &form.came_from), Some(cookie)))
        }
        beffroi_service::LoginOutcome::WrongCredentials => {
            let msg = ctx.app.i18n.t(lang, "login-failed", &[]);
            login_page(ctx, StatusCode::UNAUTHORIZED, Some(msg), &form.login, &form.came_from)
        }
        beffroi_service::LoginOutcome::Throttled(wait) => {
            let secs = wait.as_secs().max(1) as i64;
            let msg = ctx.app.i18n.t(lang, "login-throttled", &[("seconds", secs.into())]);
            let mut res = login_page(ctx, StatusCode::TOO_MANY_REQUESTS, Some(msg), &form.login, &form.came_from)?;
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            Ok(res)
        }
    }
}

/// The logout page (GET: one button) and logging out (POST).
pub(crate) async fn logout(c: Call<'_>) -> Result<Response, WebError> {
    let ctx = c.ctx;
    if c.body.is_some() {
        if let Via::Session { id, .. } = &ctx.via {
            ctx.app
                .services
                .close_session(&ctx.site, id, ctx.principal.id(), &ctx.client)
                .await
                .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
        }
        return Ok(see_other(&ctx.base, Some(crate::auth::session_cookie(None, ctx.secure))));
    }
    if ctx.principal == Principal::Anonymous {
        return Ok(see_other(&ctx.base, None));
    }
    let title = ctx.app.i18n.t(ctx.site.language, "logout-title", &[]);
    page(ctx, StatusCode::OK, "logout.html", context! { title => title })
}

pub(crate) fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, WebError> {
    serde_urlencoded::from_bytes(body).map_err(|_| WebError::BadRequest("malformed form".into()))
}

/// A role's name in the site's language (the users and groups page).
/// A role's name in the site's language: an application's role by its own messages
/// (`role-name-request-handler`), else as declared.
fn role_name(ctx: &Ctx<'_>, r: Role) -> String {
    let key = format!("role-name-{}", r.name().to_ascii_lowercase().replace(' ', "-"));
    let text = ctx.app.i18n.t(ctx.site.language, &key, &[]);
    if text == key { r.name().to_owned() } else { text }
}

fn role_title(ctx: &Ctx<'_>, r: Role) -> String {
    let key = match r {
        Role::Contributor => "role-contributor",
        Role::Editor => "role-editor",
        Role::Reader => "role-reader",
        Role::Reviewer => "role-reviewer",
        other => return role_name(ctx, other),
    };
    ctx.app.i18n.t(ctx.site.language, key, &[])
}

/// The actions an item page offers the principal in its toolbar.
/// The views the toolbar shows as they are; the others go in its "More" menu, and what
/// may be added here in its "Add" menu.
const MAIN_ACTIONS: &[&str] = &["@@edit", "@@folder_contents", "@@history", "@@sharing"];

/// The toolbar's actions on `view` for the caller, each with its group: "main", "add"
/// (one per type that may be added here) or "more".
pub(crate) fn actions(ctx: &Ctx<'_>, view: &ItemView) -> Vec<minijinja::Value> {
    let mut out = Vec::new();
    if ctx.principal == Principal::Anonymous {
        return out;
    }
    let lang = ctx.site.language;
    for route in ctx.app.routes.actions() {
        let Some(action) = route.action.filter(|_| route.offered(ctx, view)) else { continue };
        let target = if action.on_site { ctx.base.clone() } else { ctx.url(&view.item.path) };
        let label = ctx.app.i18n.t(lang, action.label, &[]);
        if action.per_addable_type {
            let types = ctx.app.services.types();
            for t in types.all().iter().filter(|t| view.may_add(types, &ctx.type_rules, &ctx.principal, &t.id)) {
                let url = format!("{target}/{}?type={}", route.name, t.id);
                out.push(context! { url => url, title => t.title.get(lang), group => "add" });
            }
        } else {
            let group = if MAIN_ACTIONS.contains(&route.name) { "main" } else { "more" };
            out.push(context! { url => format!("{target}/{}", route.name), title => label, group => group });
        }
    }
    out
}

/// A transition chosen on the item page (a form post).
pub(crate) async fn workflow_form(ctx: &Ctx<'_>, view: &ItemView, body: Option<&[u8]>) -> Result<Response, WebError> {
    let pairs = form_pairs(body.unwrap_or_default())?;
    let field = |n: &str| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let req = beffroi_service::TransitionRequest { comment: field("comment"), ..Default::default() };
    ctx.app
        .services
        .transition(&ctx.principal, &ctx.site, &view.item.path, &field("transition"), req)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    Ok(done(&ctx.url(&view.item.path), Status::StateChanged))
}

/// The sharing form of an item.
pub(crate) async fn sharing(ctx: &Ctx<'_>, view: &ItemView, body: Option<&[u8]>) -> Result<Response, WebError> {
    let err = |e| WebError::from_service(e, &ctx.request_url);
    let path = &view.item.path;
    let item_url = ctx.url(path);
    if let Some(body) = body {
        let pairs = form_pairs(body)?;
        // Only the roles the form offered are read: the others keep their value.
        let offered = ctx.app.services.sharing(&ctx.principal, &ctx.site, path).await.map_err(err)?.available;
        let checked: Vec<&str> = pairs.iter().filter(|(k, _)| k == "role").map(|(_, v)| v.as_str()).collect();
        let mut change =
            SharingChange { entries: Vec::new(), inherit: Some(pairs.iter().any(|(k, _)| k == "inherit")) };
        for key in pairs.iter().filter(|(k, _)| k == "entry").map(|(_, v)| v) {
            let grantee =
                Grantee::from_key(key).ok_or_else(|| WebError::BadRequest(format!("unknown entry {key:?}")))?;
            let roles =
                offered.iter().map(|r| (*r, checked.contains(&format!("{key}|{}", r.name()).as_str()))).collect();
            change.entries.push((grantee, roles));
        }
        ctx.app.services.update_sharing(&ctx.principal, &ctx.site, path, change).await.map_err(err)?;
        return Ok(done(&format!("{item_url}/@@sharing"), Status::SharingSaved));
    }
    let current = ctx.app.services.sharing(&ctx.principal, &ctx.site, path).await.map_err(err)?;
    let search = ctx.query.iter().find(|(k, _)| k == "search").map(|(_, v)| v.clone()).unwrap_or_default();
    let mut entries: Vec<minijinja::Value> = current
        .entries
        .iter()
        .map(|e| {
            let (kind, title) = match &e.grantee {
                Grantee::User(l) => ("user", if e.title.is_empty() { l.clone() } else { format!("{} ({l})", e.title) }),
                Grantee::Group(g) if g == beffroi_model::security::AUTHENTICATED_USERS => {
                    ("group", ctx.app.i18n.t(ctx.site.language, "logged-in-users", &[]))
                }
                Grantee::Group(g) => ("group", if e.title.is_empty() { g.clone() } else { e.title.clone() }),
            };
            let roles: Vec<minijinja::Value> = e
                .roles
                .iter()
                .map(|(r, o)| context! { id => r.name(), here => *o == RoleOrigin::Here, inherited => *o == RoleOrigin::Inherited })
                .collect();
            context! { key => e.grantee.key(), kind => kind, title => title, roles => roles }
        })
        .collect();
    if !search.trim().is_empty() {
        let found = ctx.app.services.search_principals(&ctx.principal, &ctx.site, path, &search).await.map_err(err)?;
        for (g, title) in found {
            if current.entries.iter().any(|e| e.grantee == g) {
                continue;
            }
            let (kind, title) = match &g {
                Grantee::User(l) => ("user", if title.is_empty() { l.clone() } else { format!("{title} ({l})") }),
                Grantee::Group(id) => ("group", if title.is_empty() { id.clone() } else { title }),
            };
            let roles: Vec<minijinja::Value> = current
                .available
                .iter()
                .map(|r| context! { id => r.name(), here => false, inherited => false })
                .collect();
            entries.push(context! { key => g.key(), kind => kind, title => title, roles => roles });
        }
    }
    let roles: Vec<minijinja::Value> =
        current.available.iter().map(|r| context! { title => role_title(ctx, *r) }).collect();
    let title = ctx.app.i18n.t(ctx.site.language, "sharing-title", &[("title", view.item.title.clone().into())]);
    page(
        ctx,
        StatusCode::OK,
        "sharing.html",
        context! { title => title, item_url => item_url, entries => entries, roles => roles, inherit => current.inherit, search => search },
    )
}

pub(crate) async fn users_groups(ctx: &Ctx<'_>, body: Option<&[u8]>) -> Result<Response, WebError> {
    let services = &ctx.app.services;
    let err = |e| WebError::from_service(e, &ctx.request_url);
    let mut error = None;
    let mut status = StatusCode::OK;
    if let Some(body) = body {
        let pairs = form_pairs(body)?;
        let field =
            |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
        let roles: Result<Vec<Role>, _> =
            pairs.iter().filter(|(k, _)| k == "role").map(|(_, v)| Role::parse(v)).collect();
        let roles = roles.map_err(|e| WebError::BadRequest(e.to_string()))?;
        let result = match field("action").as_str() {
            "add-user" => match beffroi_model::Login::parse(&field("login")) {
                Ok(login) => {
                    let new = beffroi_service::NewUser {
                        login,
                        password: beffroi_service::Secret(field("password")),
                        fullname: field("fullname"),
                        email: field("email"),
                        roles,
                    };
                    services.create_user(&ctx.principal, &ctx.site, new).await
                }
                Err(e) => Err(beffroi_service::ServiceError::BadRequest(e.to_string())),
            },
            "add-group" => {
                services.create_group(&ctx.principal, &ctx.site, &field("group"), &field("title"), roles).await
            }
            "add-member" => services.add_member(&ctx.principal, &ctx.site, &field("group"), &field("login")).await,
            "enable" => services.set_enabled(&ctx.principal, &ctx.site, &field("login"), true).await,
            "disable" => services.set_enabled(&ctx.principal, &ctx.site, &field("login"), false).await,
            other => Err(beffroi_service::ServiceError::BadRequest(format!("unknown action {other:?}"))),
        };
        match result {
            Ok(()) => return Ok(see_other(&format!("{}/@@users-groups?saved=1", ctx.base), None)),
            Err(
                e @ (beffroi_service::ServiceError::BadRequest(_)
                | beffroi_service::ServiceError::Conflict(_)
                | beffroi_service::ServiceError::Invalid(_)),
            ) => {
                status = if matches!(e, beffroi_service::ServiceError::Conflict(_)) {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::BAD_REQUEST
                };
                error = Some(e.to_string());
            }
            Err(e) => return Err(err(e)),
        }
    }
    let users = services.list_users(&ctx.principal, &ctx.site).await.map_err(err)?;
    let groups = services.list_groups(&ctx.principal, &ctx.site).await.map_err(err)?;
    let users: Vec<minijinja::Value> = users
        .iter()
        .map(|u| {
            let roles: Vec<String> = u.roles.iter().map(|r| role_name(ctx, *r)).collect();
            context! { login => u.login.clone(), fullname => u.fullname.clone(), email => u.email.clone(), roles => roles, enabled => u.enabled }
        })
        .collect();
    let groups: Vec<minijinja::Value> = groups
        .iter()
        .map(|g| {
            let roles: Vec<String> = g.roles.iter().map(|r| role_name(ctx, *r)).collect();
            context! { id => g.id.clone(), title => g.title.clone(), roles => roles, members => g.members.clone() }
        })
        .collect();
    let grantable: Vec<minijinja::Value> = Role::every()
        .iter()
        .filter(|r| r.is_grantable())
        .map(|r| context! { value => r.name(), label => role_name(ctx, *r) })
        .collect();
    let title = ctx.app.i18n.t(ctx.site.language, "users-groups-title", &[]);
    let saved = ctx.query.iter().any(|(k, _)| k == "saved");
    page(
        ctx,
        status,
        "users_groups.html",
        context! { title => title, users => users, groups => groups, grantable => grantable, saved => saved, error => error },
    )
}

pub(crate) async fn review_list(ctx: &Ctx<'_>) -> Result<Response, WebError> {
    let lang = ctx.site.language;
    let items = ctx
        .app
        .services
        .review_list(&ctx.principal, &ctx.site)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    let items: Vec<minijinja::Value> = items
        .iter()
        .map(|r| {
            let s = &r.item;
            context! {
                url => ctx.url(&s.path),
                title => s.title.clone(),
                creator => r.submitter.clone().unwrap_or_else(|| s.creator.clone()),
                comment => r.comment.clone(),
                modified_iso => crate::json::iso(&s.modified),
                modified_text => crate::html::date_text(lang, &s.modified),
            }
        })
        .collect();
    let title = ctx.app.i18n.t(lang, "review-list-title", &[]);
    page(ctx, StatusCode::OK, "review_list.html", context! { title => title, items => items })
}

/// GET and POST `@@theme` (the site root, its managers): the site's accent colour,
/// logo and footer, checked when saved (a colour without enough contrast is refused
/// with its ratio, the form kept).
pub(crate) async fn theme(ctx: &Ctx<'_>, body: Option<&[u8]>) -> Result<Response, WebError> {
    use beffroi_model::theme::{FooterLink, Theme};
    let lang = ctx.site.language;
    let current = &ctx.site.theme;
    let links_text = |links: &[FooterLink]| -> String {
        links.iter().map(|l| format!("{} | {}", l.title, l.url)).collect::<Vec<_>>().join("\n")
    };
    let (mut accent, mut logo, mut footer_text, mut footer_links) = (
        current.accent.clone().unwrap_or_default(),
        current.logo.clone().unwrap_or_default(),
        current.footer_text.clone(),
        links_text(&current.footer_links),
    );
    let mut error = None;
    if let Some(body) = body {
        let pairs = form_pairs(body)?;
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
        (accent, logo, footer_text, footer_links) =
            (get("accent"), get("logo"), get("footer_text"), get("footer_links"));
        let links: Vec<FooterLink> = footer_links
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| match l.split_once('|') {
                Some((title, url)) => FooterLink { title: title.trim().to_owned(), url: url.trim().to_owned() },
                None => FooterLink { title: l.to_owned(), url: String::new() },
            })
            .collect();
        let wanted = Theme {
            accent: Some(accent.clone()),
            logo: Some(logo.clone()),
            footer_text: footer_text.clone(),
            footer_links: links,
        };
        match ctx.app.services.set_theme(&ctx.principal, &ctx.site, wanted).await {
            Ok(_) => return Ok(done(&ctx.base, Status::Saved)),
            Err(beffroi_service::ServiceError::BadRequest(m)) => error = Some(m),
            Err(e) => return Err(WebError::from_service(e, &ctx.request_url)),
        }
    }
    page(
        ctx,
        if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK },
        "theme.html",
        context! {
            title => ctx.app.i18n.t(lang, "theme-title", &[]),
            action => format!("{}/@@theme", ctx.base),
            cancel_url => ctx.base.clone(),
            accent => accent,
            logo => logo,
            footer_text => footer_text,
            footer_links => footer_links,
            error => error,
        },
    )
}

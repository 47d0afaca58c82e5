//! HTML views that belong to the site rather than to one item: the login form and
//! logout. They work without JavaScript and carry CSRF tokens once a session exists.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use beffroi_model::Language;
use beffroi_model::security::Principal;
use minijinja::context;

use crate::auth::Via;
use crate::error::WebError;
use crate::traverse::Ctx;

/// Views answered on any path of a site.
pub(crate) const SITE_VIEWS: &[&str] = &["@@login", "@@logout"];
/// Views that accept a form post.
pub(crate) const POST_VIEWS: &[&str] = &["@@login", "@@logout"];

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

fn see_other(location: &str, cookie: Option<HeaderValue>) -> Response {
    let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, HeaderValue::from_str(location).expect("checked URL"))])
        .into_response();
    if let Some(c) = cookie {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    res
}

fn page(ctx: &Ctx<'_>, status: StatusCode, template: &str, extra: minijinja::Value) -> Result<Response, WebError> {
    let lang: Language = ctx.site.language;
    let base = context! {
        lang => lang.code(),
        site_title => ctx.site.title.clone(),
        site_url => ctx.base.clone(),
        csrf => match &ctx.via { Via::Session { csrf, .. } => Some(csrf.clone()), _ => None },
        user => crate::html::user_name(&ctx.principal),
    };
    let body = crate::html::render(ctx.app, template, context! { ..extra, ..base })?;
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

pub(crate) async fn site_view(ctx: &Ctx<'_>, view: &str, body: Option<&[u8]>) -> Result<Response, WebError> {
    let lang = ctx.site.language;
    let err = |e| WebError::from_service(e, &ctx.request_url);
    match (view, body) {
        ("@@login", None) => {
            let came_from =
                ctx.query.iter().find(|(k, _)| k == "came_from").map(|(_, v)| v.clone()).unwrap_or_default();
            login_page(ctx, StatusCode::OK, None, "", &came_from)
        }
        ("@@login", Some(body)) => {
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
                    let mut res =
                        login_page(ctx, StatusCode::TOO_MANY_REQUESTS, Some(msg), &form.login, &form.came_from)?;
                    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
                    Ok(res)
                }
            }
        }
        ("@@logout", None) => {
            if ctx.principal == Principal::Anonymous {
                return Ok(see_other(&ctx.base, None));
            }
            let title = ctx.app.i18n.t(lang, "logout-title", &[]);
            page(ctx, StatusCode::OK, "logout.html", context! { title => title })
        }
        ("@@logout", Some(_)) => {
            if let Via::Session { id, .. } = &ctx.via {
                ctx.app.services.close_session(&ctx.site, id, ctx.principal.id(), &ctx.client).await.map_err(err)?;
            }
            Ok(see_other(&ctx.base, Some(crate::auth::session_cookie(None, ctx.secure))))
        }
        _ => Err(WebError::NotFound(ctx.request_url.clone())),
    }
}

//! Who a request acts as: a bearer token from `@login`, Basic credentials, or a browser
//! session cookie from the login form, always checked against the request's site.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use beffroi_model::security::Principal;
use beffroi_service::{LoginOutcome, SESSION_LIFETIME, SiteRow};

use crate::AppState;
use crate::error::WebError;
use crate::jwt::{Claims, JwtError};

/// How long a token from `@login` lives: twelve hours, as plone.restapi's default.
pub const TOKEN_LIFETIME_SECS: i64 = 12 * 3600;
/// The browser session cookie.
pub const SESSION_COOKIE: &str = "beffroi_session";

/// How the request was authenticated.
#[derive(Debug, Clone, Default)]
pub(crate) enum Via {
    #[default]
    Nothing,
    Bearer(Claims),
    Basic,
    /// A session cookie: its id and the CSRF token forms must carry.
    Session {
        id: String,
        csrf: String,
    },
}

/// The acting principal and how it was established.
pub(crate) struct Auth {
    pub principal: Principal,
    pub via: Via,
}

pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Maps a login attempt to the principal or the error the client gets.
pub(crate) fn outcome(o: LoginOutcome) -> Result<Principal, WebError> {
    match o {
        LoginOutcome::Success(p) => Ok(p),
        LoginOutcome::WrongCredentials => Err(WebError::Unauthenticated("Wrong login and/or password.".into())),
        LoginOutcome::Throttled(wait) => Err(WebError::TooManyRequests(wait.as_secs().max(1))),
    }
}

pub(crate) async fn authenticate(
    app: &AppState,
    site: &SiteRow,
    headers: &HeaderMap,
    client: &str,
) -> Result<Auth, WebError> {
    let err = |e| WebError::from_service(e, "");
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        // A stale or foreign session cookie is ignored: the visitor is anonymous.
        if let Some(id) = cookie(headers, SESSION_COOKIE)
            && let Some((principal, csrf)) = app.services.session(site, id).await.map_err(err)?
        {
            return Ok(Auth { principal, via: Via::Session { id: id.to_owned(), csrf } });
        }
        return Ok(Auth { principal: Principal::Anonymous, via: Via::Nothing });
    };
    let value = value.to_str().map_err(|_| WebError::Unauthenticated("Malformed Authorization header.".into()))?;
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        let now = chrono::Utc::now().timestamp();
        let claims = app.jwt.verify(credentials, now).map_err(|e| {
            WebError::Unauthenticated(match e {
                JwtError::Expired => "The token has expired.".into(),
                _ => "Invalid token.".into(),
            })
        })?;
        if claims.site != site.id.as_str() {
            return Err(WebError::Unauthenticated("This token is not valid on this site.".into()));
        }
        if app.services.is_revoked(&claims.jti).await.map_err(err)? {
            return Err(WebError::Unauthenticated("This token was revoked.".into()));
        }
        let principal = app
            .services
            .token_principal(site, &claims.sub, claims.generation, &claims.jti)
            .await
            .map_err(err)?
            .ok_or_else(|| {
                WebError::Unauthenticated("Unknown or disabled user, or a token older than its password.".into())
            })?;
        Ok(Auth { principal, via: Via::Bearer(claims) })
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = B64.decode(credentials).ok().and_then(|b| String::from_utf8(b).ok());
        let Some((login, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return Err(WebError::Unauthenticated("Malformed Basic credentials.".into()));
        };
        let principal = outcome(app.services.login(site, login, password, client).await.map_err(err)?)?;
        Ok(Auth { principal, via: Via::Basic })
    } else {
        Err(WebError::Unauthenticated(format!("Unsupported authorization scheme {scheme:?}.")))
    }
}

/// A fresh token for `login` on `site`.
pub(crate) fn issue(app: &AppState, site: &SiteRow, login: &str, fullname: &str, generation: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    app.jwt.sign(&Claims {
        sub: login.to_owned(),
        site: site.id.to_string(),
        fullname: fullname.to_owned(),
        iat: now,
        exp: now + TOKEN_LIFETIME_SECS,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        generation,
    })
}

/// The Set-Cookie value that opens (Some) or clears (None) a session.
pub(crate) fn session_cookie(id: Option<&str>, secure: bool) -> HeaderValue {
    let (value, age) = match id {
        Some(id) => (id, SESSION_LIFETIME.as_secs()),
        None => ("", 0),
    };
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={age}{secure}"))
        .expect("ASCII cookie")
}

/// Whether a state-changing request comes from a page of this very origin: an
/// `Origin` (or, without it, a `Referer`) naming another origin is refused.
pub(crate) fn same_origin(headers: &HeaderMap, origin: &str) -> bool {
    let check = |v: &str| v == origin || v.starts_with(&format!("{origin}/"));
    if let Some(o) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return o != "null" && check(o);
    }
    if let Some(r) = headers.get(header::REFERER).and_then(|v| v.to_str().ok()) {
        return check(r);
    }
    true
}

/// Compares two secrets in time independent of where they differ.
pub(crate) fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; beffroi_session=abc; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn cross_origin_posts_are_refused() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h, "http://x"), "no header: a non-browser client");
        h.insert(header::ORIGIN, HeaderValue::from_static("http://evil"));
        assert!(!same_origin(&h, "http://x"));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://x"));
        assert!(same_origin(&h, "http://x"));
        let mut r = HeaderMap::new();
        r.insert(header::REFERER, HeaderValue::from_static("http://x.evil/page"));
        assert!(!same_origin(&r, "http://x"));
        r.insert(header::REFERER, HeaderValue::from_static("http://x/namur/page"));
        assert!(same_origin(&r, "http://x"));
    }

    #[test]
    fn constant_time_comparison_is_equality() {
        assert!(constant_eq("abc", "abc"));
        assert!(!constant_eq("abc", "abd"));
        assert!(!constant_eq("abc", "ab"));
    }
}

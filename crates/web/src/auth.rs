//! Who a request acts as: a bearer token from `@login`, or Basic credentials, checked
//! against the request's site. (Browser sessions come with the HTML login form.)

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use beffroi_model::security::Principal;
use beffroi_service::SiteRow;

use crate::AppState;
use crate::error::WebError;
use crate::jwt::{Claims, JwtError};

/// How long a token from `@login` lives: twelve hours, as plone.restapi's default.
pub const TOKEN_LIFETIME_SECS: i64 = 12 * 3600;

/// The acting principal, and the token's claims when it came from a bearer token.
pub(crate) async fn principal(
    app: &AppState,
    site: &SiteRow,
    headers: &HeaderMap,
) -> Result<(Principal, Option<Claims>), WebError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok((Principal::Anonymous, None)) };
    let value = value.to_str().map_err(|_| WebError::Unauthenticated("Malformed Authorization header.".into()))?;
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    let credentials = credentials.trim();
    let err = |e| WebError::from_service(e, "");
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
        let p = app
            .services
            .principal(site, &claims.sub)
            .await
            .map_err(err)?
            .ok_or_else(|| WebError::Unauthenticated("Unknown or disabled user.".into()))?;
        Ok((p, Some(claims)))
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = B64.decode(credentials).ok().and_then(|b| String::from_utf8(b).ok());
        let Some((login, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return Err(WebError::Unauthenticated("Malformed Basic credentials.".into()));
        };
        let p = app
            .services
            .authenticate(site, login, password)
            .await
            .map_err(err)?
            .ok_or_else(|| WebError::Unauthenticated("Wrong login and/or password.".into()))?;
        Ok((p, None))
    } else {
        Err(WebError::Unauthenticated(format!("Unsupported authorization scheme {scheme:?}.")))
    }
}

/// A fresh token for `login` on `site`.
pub(crate) fn issue(app: &AppState, site: &SiteRow, login: &str, fullname: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    app.jwt.sign(&Claims {
        sub: login.to_owned(),
        site: site.id.to_string(),
        fullname: fullname.to_owned(),
        iat: now,
        exp: now + TOKEN_LIFETIME_SECS,
        jti: uuid::Uuid::new_v4().simple().to_string(),
    })
}

//! Internal links over HTTP: the service stores them by UID and shows them at their
//! items' current addresses (`beffroi_service::links`); `<site>/resolveuid/<uid>[/rest]`
//! redirects to the item, for links copied elsewhere.

use serde_json::{Map, Value};

pub(crate) use beffroi_service::links::rich_html;

use crate::error::WebError;
use crate::traverse::Ctx;

/// Rewrites the internal links of every rich-text value to the `resolveuid` form.
pub(crate) async fn internalize(ctx: &Ctx<'_>, values: &mut Map<String, Value>) -> Result<(), WebError> {
    ctx.app
        .services
        .internalize_links(&ctx.principal, &ctx.site, &ctx.base, values)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))
}

/// Rewrites the `resolveuid` links of every rich-text value of `fields` in place.
pub(crate) async fn externalize_fields(ctx: &Ctx<'_>, fields: &mut Map<String, Value>) -> Result<(), WebError> {
    ctx.app
        .services
        .externalize_fields(&ctx.site, &ctx.base, fields)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))
}

/// `<site>/…/resolveuid/<uid>[/rest]`: a redirect to the item's current address.
pub(crate) async fn redirect(ctx: &Ctx<'_>, uid: &str, rest: &[String]) -> Result<axum::response::Response, WebError> {
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::IntoResponse;
    let not_found = || WebError::NotFound(ctx.request_url.clone());
    let u = uuid::Uuid::try_parse(uid).map_err(|_| not_found())?;
    let paths =
        ctx.app.services.paths_of(&ctx.site, &[u]).await.map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    let path = paths.get(&u).ok_or_else(not_found)?;
    let mut location = ctx.url(path);
    for s in rest {
        location.push('/');
        location.push_str(
            &percent_encoding::utf8_percent_encode(s, crate::traverse::QUERY_ENCODE).to_string().replace("%40", "@"),
        );
    }
    let loc = HeaderValue::from_str(&location).map_err(|_| not_found())?;
    Ok((StatusCode::FOUND, [(header::LOCATION, loc)]).into_response())
}

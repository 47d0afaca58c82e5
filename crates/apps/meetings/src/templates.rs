//! Item templates (PloneMeeting's "item templates"): model items a body's meeting
//! managers write inside the body (a public contract, an appointment…), which the
//! services start from. `@@from-template` on the body makes a new item of the reader's
//! from one, in the reader's name and service, then opens its edit form;
//! `@from-template` does the same for API clients.

use beffroi_model::security::Permission;
use beffroi_service::{CatalogQuery, HookFuture, ItemRow, ServiceError, Work};
use beffroi_web::routes::Call;
use beffroi_web::{Ctx, WebError};
use serde_json::{Map, Value};

use crate::{BODY, ITEM, MANAGE_MEETINGS, text};

pub(crate) const TEMPLATE: &str = "Meeting Item Template";

/// What a template gives the item made from it.
const COPIED: [&str; 7] =
    ["description", "motivation", "decision", "category", "privacy", "to_discuss", "budget_impact"];

/// After a template is added or edited: it is in a body, written by its managers.
pub(crate) fn template_changed<'a>(work: &'a mut Work<'_>, template: &'a ItemRow) -> HookFuture<'a> {
    Box::pin(async move {
        let body = crate::body_of(work, template).await?;
        let manage = Permission::parse(MANAGE_MEETINGS).expect("the application declares it");
        if !work.actor_may(&body.path, manage).await? {
            return Err(ServiceError::Forbidden("only the body's meeting managers write item templates".into()));
        }
        Ok(())
    })
}

/// The body's templates the reader may see, by title: the site's few templates found by
/// type, those of the body kept (a query under the body would read all its items, and
/// this runs on every body page).
pub(crate) async fn of_body(ctx: &Ctx<'_>, body: &ItemRow) -> Result<Vec<ItemRow>, WebError> {
    let q = CatalogQuery {
        types: vec![TEMPLATE.into()],
        sort: beffroi_service::SortOn::Title,
        limit: beffroi_service::MAX_SEARCH_BATCH,
        ..Default::default()
    };
    let mut found = ctx
        .services()
        .search_rows(&ctx.principal, &ctx.site, q)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    found.retain(|t| t.path.parent().as_ref() == Some(&body.path));
    Ok(found)
}

/// `@@from-template` on a body (POST, a form with `template`: its id): a new item of
/// the reader's from it (see [`from_template`]); then its edit form.
pub(crate) async fn from_template_form<'r>(
    c: Call<'r>,
    view: &'r beffroi_service::ItemView,
) -> Result<axum::response::Response, WebError> {
    let form = c.form()?;
    let id = form.iter().find(|(k, _)| k == "template").map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let item = from_template(&c, view, &id).await?;
    Ok(c.created(&format!("{}/@@edit", c.ctx().url(&item.path))))
}

/// `@from-template` on a body (POST, JSON `{"template": "<its id>"}`): the same for
/// API clients; 201 with the new item, as a creation answers.
pub(crate) async fn from_template_json<'r>(
    c: Call<'r>,
    view: &'r beffroi_service::ItemView,
) -> Result<axum::response::Response, WebError> {
    let body: Value = serde_json::from_slice(c.body().unwrap_or_default())
        .map_err(|e| WebError::BadRequest(format!("invalid JSON body: {e}")))?;
    let id = body.get("template").and_then(Value::as_str).unwrap_or_default().trim().to_owned();
    let item = from_template(&c, view, &id).await?;
    c.created_json(&item.path).await
}

/// A new item of the caller's from the body's template `id`, with its title, texts and
/// settings, for the template's service or else the first the caller writes for.
async fn from_template(c: &Call<'_>, view: &beffroi_service::ItemView, id: &str) -> Result<ItemRow, WebError> {
    let ctx = c.ctx();
    let body = &view.item;
    if body.type_name != BODY {
        return Err(WebError::NotFound(ctx.url(&body.path)));
    }
    if id.is_empty() {
        return Err(WebError::BadRequest("which template? (template: its id)".into()));
    }
    let services = ctx.services();
    let template = of_body(ctx, body)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| WebError::BadRequest(format!("{id:?} is not a template of this body")))?;
    let mut values = Map::new();
    values.insert("title".into(), template.title.clone().into());
    // What the template says, of the fields the body's items use.
    let item_schema = services.types().get(ITEM);
    let used = |name: &str| item_schema.and_then(|t| t.field(name)).is_none_or(|f| f.used_in(&body.fields));
    for field in COPIED.into_iter().filter(|f| used(f)) {
        if let Some(v) = template.fields.get(field).filter(|v| !v.is_null() && *v != "") {
            values.insert(field.into(), v.clone());
        }
    }
    let service = match text(&template, "proposing_group") {
        "" => services
            .vocabulary(&ctx.principal, &ctx.site, &body.path, "meetings.proposing_services")
            .await
            .map_err(|e| c.error(e))?
            .into_iter()
            .next()
            .map(|t| t.token)
            .ok_or_else(|| c.error(ServiceError::Forbidden("you write items for no service".into())))?,
        s => s.to_owned(),
    };
    values.insert("proposing_group".into(), Value::String(service));
    services.create(&ctx.principal, &ctx.site, &body.path, ITEM, None, &values).await.map_err(|e| c.error(e))
}

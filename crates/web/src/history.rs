//! The history of an item in HTML (`@@history`): revisions and workflow steps merged,
//! newest first; an old version shown as it was (`?version=n`); two versions compared
//! field by field, with a word diff for texts (`?a=n&b=m`); revert (a new revision).

use axum::http::StatusCode;
use axum::response::Response;
use beffroi_model::diff::Part;
use beffroi_service::{ItemView, Moment, apply_snapshot};
use minijinja::context;

use crate::error::WebError;
use crate::traverse::Ctx;
use crate::views::{Status, done, form_pairs, page};

pub(crate) async fn history(ctx: &Ctx<'_>, view: &ItemView, body: Option<&[u8]>) -> Result<Response, WebError> {
    let services = &ctx.app.services;
    let err = |e| WebError::from_service(e, &ctx.request_url);
    let lang = ctx.site.language;
    let path = &view.item.path;
    let item_url = ctx.url(path);
    let action = format!("{item_url}/@@history");
    if let Some(body) = body {
        let pairs = form_pairs(body)?;
        let n = pairs
            .iter()
            .find(|(k, _)| k == "revert")
            .and_then(|(_, v)| v.parse::<i64>().ok())
            .ok_or_else(|| WebError::BadRequest("which version? (revert=n)".into()))?;
        // Reverting is asked for once more, on a page of its own.
        if !pairs.iter().any(|(k, v)| k == "confirm" && v == "1") {
            let title = ctx.app.i18n.t(ctx.site.language, "revert-title", &[("title", view.item.title.clone().into())]);
            return page(
                ctx,
                axum::http::StatusCode::OK,
                "revert.html",
                minijinja::context! { title => title, version => n, action => action },
            );
        }
        services.revert(&ctx.principal, &ctx.site, path, n).await.map_err(err)?;
        return Ok(done(&item_url, Status::Reverted));
    }
    let timeline = services.timeline(&ctx.principal, &ctx.site, path).await.map_err(err)?;
    let (revisions, may_revert) = (&timeline.revisions, timeline.may_revert);
    let param = |k: &str| ctx.query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let number = |k: &str| -> Result<Option<i64>, WebError> {
        param(k)
            .map(|v| v.parse::<i64>().map_err(|_| WebError::BadRequest(format!("{k} must be a version number"))))
            .transpose()
    };
    let find =
        |n: i64| revisions.iter().find(|r| r.version == n).ok_or_else(|| WebError::NotFound(ctx.request_url.clone()));
    let schema = services.types().get(&view.item.type_name);
    let title = ctx.app.i18n.t(lang, "history-title", &[("title", view.item.title.clone().into())]);

    if let (Some(a), Some(b)) = (number("a")?, number("b")?) {
        let (ra, rb) = (find(a)?, find(b)?);
        let label =
            |name: &str| schema.and_then(|s| s.field(name)).map(|f| f.title.get(lang).to_owned()).unwrap_or_default();
        let rows: Vec<minijinja::Value> = services
            .compare(&view.item, ra, rb)
            .into_iter()
            .map(|(name, parts)| {
                let parts: Vec<minijinja::Value> = parts
                    .into_iter()
                    .map(|p| match p {
                        Part::Same(t) => context! { kind => "same", text => t },
                        Part::Removed(t) => context! { kind => "removed", text => t },
                        Part::Added(t) => context! { kind => "added", text => t },
                    })
                    .collect();
                context! { label => label(&name), parts => parts }
            })
            .collect();
        return page(
            ctx,
            StatusCode::OK,
            "diff.html",
            context! {
                title => ctx.app.i18n.t(lang, "history-compare-title", &[("a", a.into()), ("b", b.into())]),
                rows => rows,
                back_url => action,
            },
        );
    }

    if let Some(n) = number("version")? {
        let rev = find(n)?;
        let mut old = apply_snapshot(&view.item, &rev.snapshot);
        crate::links::externalize_fields(ctx, &mut old.fields).await?;
        let rich_texts = crate::html::rich_texts(services.types(), &old.type_name, &old.fields, lang);
        return page(
            ctx,
            StatusCode::OK,
            "version.html",
            context! {
                title => ctx.app.i18n.t(lang, "history-version-title", &[("n", n.into()), ("title", old.title.clone().into())]),
                item_title => old.title,
                description => old.description,
                rich_texts => rich_texts,
                version => n,
                when => crate::html::date_time_text(lang, ctx.site.time_zone, &rev.at, true),
                actor => rev.actor.clone(),
                may_revert => may_revert,
                action => action,
                back_url => format!("{item_url}/@@history"),
            },
        );
    }

    // Newest first, revisions and workflow steps together.
    let when = |at: &chrono::DateTime<chrono::Utc>| crate::html::date_time_text(lang, ctx.site.time_zone, at, true);
    let entries: Vec<minijinja::Value> = timeline
        .moments
        .iter()
        .map(|m| match m {
            Moment::Revision { revision: r, previous, latest } => context! {
                kind => "revision",
                when => when(&r.at),
                iso => crate::json::iso(&r.at),
                actor => r.actor.clone(),
                comment => revision_comment(ctx, &r.comment),
                version => r.version,
                view_url => format!("{action}?version={}", r.version),
                compare_url => previous.map(|p| format!("{action}?a={p}&b={}", r.version)),
                may_revert => may_revert && !latest,
            },
            Moment::Step { step: h, state_title } => context! {
                kind => "workflow",
                when => when(&h.at),
                iso => crate::json::iso(&h.at),
                actor => h.actor.clone(),
                comment => h.comments.clone(),
                action_title => h.action.as_deref().map(|a| view.workflows.transition_title(&view.item.type_name, a, lang)),
                state_title => state_title.clone(),
            },
        })
        .collect();
    page(
        ctx,
        StatusCode::OK,
        "history.html",
        context! {
            title => title,
            entries => entries,
            action => action,
            item_url => item_url,
        },
    )
}

/// A revision's comment; the ones the system writes (a revert) in the site's language.
fn revision_comment(ctx: &Ctx<'_>, comment: &str) -> String {
    match comment.strip_prefix("Reverted to revision ").and_then(|n| n.parse::<i64>().ok()) {
        Some(n) => ctx.app.i18n.t(ctx.site.language, "history-reverted-to", &[("n", n.into())]),
        None => comment.to_owned(),
    }
}

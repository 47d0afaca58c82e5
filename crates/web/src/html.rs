//! Server-rendered HTML: templates embedded in the binary, rendered by minijinja with
//! HTML auto-escaping; every user-facing string goes through the catalog (`_()`).

use beffroi_model::schema::{FieldKind, LOCATION_COLUMN};
use std::sync::Arc;

use beffroi_model::Language;
use beffroi_service::{ItemView, Listing, SiteRow, Summary};
use fluent_bundle::FluentValue;
use minijinja::value::Kwargs;
use minijinja::{Environment, State, Value, context};

use crate::AppState;
use crate::error::WebError;
use crate::i18n::I18n;
use crate::traverse::Ctx;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("item.html", include_str!("../templates/item.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("landing.html", include_str!("../templates/landing.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("logout.html", include_str!("../templates/logout.html")),
    ("sharing.html", include_str!("../templates/sharing.html")),
    ("users_groups.html", include_str!("../templates/users_groups.html")),
    ("review_list.html", include_str!("../templates/review_list.html")),
    ("edit.html", include_str!("../templates/edit.html")),
    ("search.html", include_str!("../templates/search.html")),
    ("pagination.html", include_str!("../templates/pagination.html")),
    ("rich_texts.html", include_str!("../templates/rich_texts.html")),
    ("blocks.html", include_str!("../templates/blocks.html")),
    ("compose.html", include_str!("../templates/compose.html")),
    ("theme.html", include_str!("../templates/theme.html")),
    ("contents.html", include_str!("../templates/contents.html")),
    ("contents_delete.html", include_str!("../templates/contents_delete.html")),
    ("rename.html", include_str!("../templates/rename.html")),
    ("revert.html", include_str!("../templates/revert.html")),
    ("history.html", include_str!("../templates/history.html")),
    ("version.html", include_str!("../templates/version.html")),
    ("diff.html", include_str!("../templates/diff.html")),
    ("delete.html", include_str!("../templates/delete.html")),
    ("rss.xml", include_str!("../templates/rss.xml")),
    ("atom.xml", include_str!("../templates/atom.xml")),
    ("sitemap.xml", include_str!("../templates/sitemap.xml")),
];

/// The template environment with the `_` translation function.
pub(crate) fn environment(i18n: Arc<I18n>) -> Environment<'static> {
    let mut env = Environment::new();
    // Escape only what HTML needs (& < > " '), not '/', so URLs stay readable.
    env.set_formatter(|out, state, value| {
        if *state.auto_escape() == minijinja::AutoEscape::None || value.is_safe() {
            return minijinja::escape_formatter(out, state, value);
        }
        let text = match value.as_str() {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None if value.is_none() || value.is_undefined() => std::borrow::Cow::Borrowed(""),
            None => std::borrow::Cow::Owned(value.to_string()),
        };
        let mut last = 0;
        for (i, b) in text.bytes().enumerate() {
            let rep = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            out.write_str(&text[last..i])?;
            out.write_str(rep)?;
            last = i + 1;
        }
        out.write_str(&text[last..])?;
        Ok(())
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source).expect("embedded templates parse");
    }
    env.add_function("_", move |state: &State, key: &str, kwargs: Kwargs| -> Result<String, minijinja::Error> {
        let lang =
            state.lookup("lang").and_then(|v| v.as_str().and_then(|s| Language::parse(s).ok())).unwrap_or_default();
        let mut args: Vec<(&str, FluentValue<'_>)> = Vec::new();
        let names: Vec<&str> = kwargs.args().collect();
        for name in names {
            let v: Value = kwargs.get(name)?;
            let fv = match v.as_i64() {
                Some(n) => FluentValue::from(n),
                None => FluentValue::from(v.to_string()),
            };
            args.push((name, fv));
        }
        Ok(i18n.t(lang, key, &args))
    });
    env
}

pub(crate) fn render(app: &AppState, name: &str, ctx: Value) -> Result<String, WebError> {
    app.templates.get_template(name).and_then(|t| t.render(ctx)).map_err(|e| {
        tracing::error!(error = %e, template = name, "template rendering failed");
        WebError::Internal
    })
}

/// The path part of an absolute URL ("/namur/services").
/// The login form, coming back here (path and query) after.
pub(crate) fn login_url(ctx: &Ctx<'_>) -> String {
    let q = serde_urlencoded::to_string([("came_from", ctx.return_path())]).unwrap_or_default();
    format!("{}/@@login?{q}", ctx.base)
}

pub(crate) fn url_path(url: &str) -> String {
    let after = url.find("://").map(|i| i + 3).unwrap_or(0);
    url[after..].find('/').map(|i| url[after + i..].to_owned()).unwrap_or_else(|| "/".to_owned())
}

/// The name shown in the user bar: the login, or nothing for anonymous visitors.
pub(crate) fn user_name(p: &beffroi_model::security::Principal) -> Option<String> {
    match p {
        beffroi_model::security::Principal::User { login, .. } => Some(login.clone()),
        _ => None,
    }
}

pub(crate) fn date_text(lang: Language, dt: &chrono::DateTime<chrono::Utc>) -> String {
    match lang {
        Language::En => dt.format("%Y-%m-%d").to_string(),
        Language::De | Language::Nl | Language::Fr => dt.format("%d/%m/%Y").to_string(),
    }
}

/// A date (and time) as people of the site read it: in its time zone (stored in UTC).
pub fn date_time_text(
    lang: Language,
    zone: beffroi_model::zone::SiteZone,
    dt: &chrono::DateTime<chrono::Utc>,
    with_time: bool,
) -> String {
    let local = dt.with_timezone(&zone.tz());
    let date = match lang {
        Language::En => local.format("%Y-%m-%d"),
        Language::De | Language::Nl | Language::Fr => local.format("%d/%m/%Y"),
    };
    if with_time { format!("{date} {}", local.format("%H:%M")) } else { date.to_string() }
}

/// What the page's head says of the item to programs: its canonical address, its
/// feeds (a folder or a Collection) or calendar file (an event), OpenGraph's card, and
/// schema.org's description as JSON-LD (the site: a GovernmentOrganization; an event:
/// an Event; another page: an Article).
/// An item's title as its page and feeds show it: the site's for the site root.
pub(crate) fn item_title(ctx: &Ctx<'_>, item: &beffroi_service::ItemRow) -> String {
    if item.path.is_root() { ctx.site.title.clone() } else { item.title.clone() }
}

fn head_meta(ctx: &Ctx<'_>, view: &ItemView, has_image: bool) -> Value {
    let it = &view.item;
    let url = ctx.url(&it.path);
    let services = &ctx.app.services;
    let schema = services.types().get(&it.type_name);
    let root = it.path.is_root();
    let title = item_title(ctx, it);
    let mut feeds = Vec::new();
    if crate::feeds::has_feeds(ctx, view) {
        feeds.push(context! { kind => "application/rss+xml", title => format!("{title} (RSS)"), url => format!("{url}/@@rss") });
        feeds.push(context! { kind => "application/atom+xml", title => format!("{title} (Atom)"), url => format!("{url}/@@atom") });
    }
    let (start, end) = schema.map(|s| s.date_range(&it.fields)).unwrap_or_default();
    if start.is_some() || schema.is_some_and(|s| s.has_query()) {
        feeds.push(context! { kind => "text/calendar", title => format!("{title} (iCalendar)"), url => format!("{url}/@@ics_view") });
    }
    let image = has_image.then(|| format!("{url}/@@images/image/preview"));
    let folderish = view.is_folderish(services.types());
    let og_type = if root || folderish { "website" } else { "article" };
    let publisher = serde_json::json!({"@type": "GovernmentOrganization", "name": ctx.site.title, "url": ctx.base});
    // The site is its commune; an item is what its type file says it is for schema.org.
    let mut ld = if root {
        let mut o = publisher.clone();
        if !it.description.is_empty() {
            o["description"] = it.description.clone().into();
        }
        Some(o)
    } else {
        schema.and_then(|s| Some((s, s.schema_org.clone()?))).map(|(s, kind)| {
            let mut o = serde_json::json!({"@type": kind, "url": url, "inLanguage": it.language.code()});
            if let Some(start) = start {
                o["name"] = it.title.clone().into();
                o["startDate"] = crate::json::iso(&start).into();
                o["organizer"] = publisher.clone();
                if let Some(end) = end {
                    o["endDate"] = crate::json::iso(&end).into();
                }
                let place = s.column_value(&it.fields, LOCATION_COLUMN).and_then(|v| v.as_str()).unwrap_or("");
                if !place.trim().is_empty() {
                    o["location"] = serde_json::json!({"@type": "Place", "name": place, "address": place});
                }
            } else {
                o["headline"] = it.title.chars().take(110).collect::<String>().into();
                o["dateModified"] = crate::json::iso(&it.modified).into();
                o["publisher"] = publisher.clone();
                if let Some(e) = it.effective {
                    o["datePublished"] = crate::json::iso(&e).into();
                }
            }
            o
        })
    };
    if let Some(o) = ld.as_mut() {
        o["@context"] = "https://schema.org".into();
        if !root && !it.description.is_empty() {
            o["description"] = it.description.clone().into();
        }
        if let Some(i) = &image {
            o["image"] = i.clone().into();
        }
    }
    // Inside <script>, "</" would end it: JSON may write "<" as \u003c.
    let json_ld = ld.map(|o| Value::from_safe_string(o.to_string().replace('<', "\\u003c")));
    context! {
        canonical => url.clone(),
        feeds => feeds,
        og => context! {
            kind => og_type,
            title => title,
            description => it.description.clone(),
            url => url,
            image => image,
            site_name => ctx.site.title.clone(),
        },
        json_ld => json_ld,
    }
}

/// What a type shows besides its title, description and text, by what its type
/// declares: an image, a file to download, a link.
fn type_parts(ctx: &Ctx<'_>, view: &ItemView, file: Option<&beffroi_model::media::StoredFile>) -> Value {
    let it = &view.item;
    let url = ctx.url(&it.path);
    let schema = ctx.app.services.types().get(&it.type_name);
    let main_is = |kind| schema.is_some_and(|s| s.primary_is(kind));
    let image = file.filter(|f| f.width.is_some()).map(|f| {
        let (w, h) = f.width.zip(f.height).unwrap_or((0, 0));
        // An image item shows its image large; another item's lead image is smaller.
        let scale = if main_is(FieldKind::Image) { "large" } else { "preview" };
        let (max_w, max_h) = beffroi_model::media::scale(scale).unwrap_or((800, 65536));
        let (sw, sh) = beffroi_model::media::fit(w, h, max_w, max_h);
        context! {
            src => format!("{url}/@@images/image/{scale}"),
            full => format!("{url}/@@images/image"),
            width => sw,
            height => sh,
            caption => it.fields.get("image_caption").and_then(|c| c.as_str()).unwrap_or("").to_owned(),
        }
    });
    let download = file.filter(|_| main_is(FieldKind::File)).map(|f| {
        context! {
            url => format!("{url}/@@download/file"),
            filename => f.filename.clone(),
            size => crate::media::size_text(f.size),
            content_type => f.content_type.clone(),
        }
    });
    let link = schema
        .and_then(|s| s.primary())
        .filter(|f| f.kind == FieldKind::Url)
        .and_then(|f| it.fields.get(&f.name))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    context! { image => image, download => download, link => link }
}

/// The main navigation (the site's top folders, the one holding `view` marked) and the
/// breadcrumbs down to `view`: what every page of the site shows above its content.
pub(crate) fn site_chrome(ctx: &Ctx<'_>, view: &ItemView, nav: &[Summary]) -> (Vec<Value>, Vec<Value>) {
    let it = &view.item;
    let root = it.path.is_root();
    let top = view.lineage.get(1).map(|a| &a.path).or((!root).then_some(&it.path));
    let nav: Vec<Value> = nav
        .iter()
        .map(|n| {
            let current = top == Some(&n.path);
            context! { url => ctx.url(&n.path), title => n.title.clone(), current => current, exact => current && n.path == it.path }
        })
        .collect();
    let mut breadcrumbs: Vec<Value> = Vec::new();
    if !root {
        breadcrumbs.push(context! { url => ctx.base.clone(), title => ctx.app.i18n.t(ctx.site.language, "home", &[]) });
        let visible = view.visible_ancestors(&ctx.principal);
        // A folder's default page is the folder's view: not a step of its own (Plone).
        let is_default_page =
            view.parent().and_then(|p| p.fields.get(beffroi_service::DEFAULT_PAGE)).and_then(|v| v.as_str())
                == Some(it.uuid.simple().to_string().as_str());
        let last = (!is_default_page).then_some(it);
        for a in visible.into_iter().filter(|a| !a.path.is_root()).chain(last) {
            breadcrumbs.push(context! { url => ctx.url(&a.path), title => a.title.clone() });
        }
    }
    (nav, breadcrumbs)
}

/// What an item's page lists: a page of its contents or results (with the batch's
/// start and size), in its listing view, or its events by month.
pub(crate) struct Shown<'a> {
    pub listing: Option<(&'a Listing, i64, i64)>,
    pub layout: &'a str,
    pub events: Option<Value>,
    /// The item's translations the visitor may see: (path, language).
    pub translations: Vec<(beffroi_model::ItemPath, Language)>,
    /// The blocks it is composed of, as `blocks.html` draws them.
    pub blocks: Option<Vec<Value>>,
}

pub(crate) fn item_page(
    ctx: &Ctx<'_>,
    view: &ItemView,
    shown: Shown<'_>,
    nav: &[Summary],
    workflow: Option<&beffroi_service::WorkflowInfo>,
    own: Option<Value>,
) -> Result<String, WebError> {
    let it = &view.item;
    let lang = it.language;
    let root = it.path.is_root();
    let title = item_title(ctx, it);
    // The item's main or lead file: its page shows it, its head announces an image.
    let file = beffroi_service::stored_file(&ctx.app.services, view, None);
    let (nav, breadcrumbs) = site_chrome(ctx, view, nav);
    let listing = shown.listing;
    let (items, total, page, pages, prev_url, next_url) = match listing {
        Some((l, start, size)) => {
            let details = crate::listing::shows_details(shown.layout);
            let items: Vec<Value> = l.items.iter().map(|s| crate::listing::entry(ctx, lang, s, details)).collect();
            let pages = (l.total + size - 1) / size;
            let page = start / size + 1;
            let url = ctx.url(&it.path);
            let prev = (start > 0).then(|| format!("{url}?b_start={}", (start - size).max(0)));
            let next = (start + size < l.total).then(|| format!("{url}?b_start={}", start + size));
            (items, l.total, page, pages, prev, next)
        }
        None => (Vec::new(), 0, 1, 1, None, None),
    };
    // A type may have a page of its own (an application's `<Type>.html`).
    let own_template = format!("{}.html", it.type_name.replace(' ', ""));
    let template =
        if ctx.app.templates.get_template(&own_template).is_ok() { own_template.as_str() } else { "item.html" };
    render(
        ctx.app,
        template,
        context! {
            lang => lang.code(),
            title => title,
            description => it.description.clone(),
            site_title => ctx.site.title.clone(),
            site_url => ctx.base.clone(),
            nav => nav,
            breadcrumbs => breadcrumbs,
            rich_texts => rich_texts(ctx.app.services.types(), &it.type_name, &it.fields, lang),
            folderish => listing.is_some(),
            layout => shown.layout,
            // A news item or a page says when it was published; a folder does not.
            published => it.effective.filter(|_| !root && listing.is_none() && shown.events.is_none()).map(|e| context! { iso => crate::json::iso(&e), text => crate::listing::long_date(ctx, lang, &e, false) }),
            events => shown.events,
            items => items,
            items_total => total,
            page => page,
            pages => pages,
            prev_url => prev_url,
            next_url => next_url,
            modified_iso => crate::json::iso(&it.modified),
            modified_text => date_text(lang, &it.modified),
            type_class => it.type_name.to_ascii_lowercase().replace(' ', "-"),
            user => user_name(&ctx.principal),
            actions => crate::views::actions(ctx, view),
            item_url => ctx.url(&it.path),
            csrf => match &ctx.via { crate::auth::Via::Session { csrf, .. } => Some(csrf.clone()), _ => None },
            wf_state => workflow.and_then(|w| w.state.as_ref()).map(|(_, t)| t.clone()),
            transitions => workflow.map(|w| w.transitions.iter().map(|(id, t)| context! { id => id.clone(), title => t.clone() }).collect::<Vec<_>>()).unwrap_or_default(),
            parts => type_parts(ctx, view, file.as_ref()),
            head => head_meta(ctx, view, file.as_ref().is_some_and(|f| f.width.is_some())),
            languages => language_switcher(ctx, it, &shown.translations),
            own => own,
            blocks => shown.blocks,
            theme => theme(ctx.app, &ctx.site, &ctx.base),
            login_url => login_url(ctx),
            status_message => crate::views::Status::message(ctx),
        },
    )
}

/// The address of the site's logo image (its scales are below it), if it has one: an
/// item of the type whose main value is an image.
pub(crate) fn logo_url(app: &AppState, site: &SiteRow, base: &str) -> Option<String> {
    let field = app.services.types().image_type().map(|(_, f)| f.name.as_str())?;
    site.theme.logo.as_deref().map(|p| format!("{base}{p}/@@images/{field}"))
}

/// What the page frame shows of the site's theme: its accent colour, its logo and
/// favicon (scales of its image), its footer's text and links (site paths made
/// addresses).
pub(crate) fn theme(app: &AppState, site: &SiteRow, base: &str) -> Value {
    let t = &site.theme;
    let logo = logo_url(app, site, base);
    let links: Vec<Value> = t
        .footer_links
        .iter()
        .map(|l| {
            let url = if l.url.starts_with('/') { format!("{base}{}", l.url) } else { l.url.clone() };
            context! { title => l.title.clone(), url => url }
        })
        .collect();
    context! {
        accent => t.accent.clone(),
        logo => logo.as_ref().map(|l| format!("{l}/thumb")),
        favicon => logo.as_ref().map(|l| format!("{l}/icon")),
        footer_text => t.footer_text.clone(),
        footer_links => links,
    }
}

/// The language switcher of an item's page: on a site in several languages, each of
/// them — this page's, then its translation in each other language or, without one,
/// that language's root folder (`/nl`); on a site in one language, the page's
/// translations if it has any. `alternate`: the entry is this page in that language
/// (the page's head announces it with `hreflang`).
fn language_switcher(
    ctx: &Ctx<'_>,
    it: &beffroi_service::ItemRow,
    translations: &[(beffroi_model::ItemPath, Language)],
) -> Option<Vec<Value>> {
    let lang = it.language;
    let entry = |l: Language, url: String, current: bool, alternate: bool| {
        context! { lang => l.code(), name => l.native_name(), url => url, current => current, alternate => alternate }
    };
    let here = entry(lang, ctx.url(&it.path), true, true);
    let site_languages = &ctx.site.languages;
    if site_languages.len() > 1 {
        let mut out = vec![here];
        for l in site_languages.iter().filter(|l| **l != lang) {
            let (url, alternate) = match translations.iter().find(|(_, tl)| tl == l) {
                Some((p, _)) => (ctx.url(p), true),
                None => (format!("{}/{}", ctx.base, l.code()), false),
            };
            out.push(entry(*l, url, false, alternate));
        }
        return Some(out);
    }
    (!translations.is_empty()).then(|| {
        std::iter::once(here).chain(translations.iter().map(|(p, l)| entry(*l, ctx.url(p), false, true))).collect()
    })
}

/// The rich-text fields of an item that hold something, in its type's order, each with
/// its label when the type has several (a single one is the page's text).
pub(crate) fn rich_texts(
    types: &beffroi_model::schema::TypeRegistry,
    type_name: &str,
    fields: &serde_json::Map<String, serde_json::Value>,
    lang: Language,
) -> Vec<Value> {
    let Some(schema) = types.get(type_name) else { return Vec::new() };
    let several = schema.rich_text_fields().count() > 1;
    schema
        .rich_text_fields()
        .filter_map(|f| {
            let html = fields.get(&f.name).and_then(crate::links::rich_html).filter(|h| !h.trim().is_empty())?;
            Some(context! { name => f.name.clone(), label => several.then(|| f.title.get(lang).to_owned()), html => html })
        })
        .collect()
}

pub(crate) fn error_page(app: &AppState, err: &WebError, site: Option<(&SiteRow, &str)>) -> String {
    let lang = site.map(|(s, _)| s.language).unwrap_or_default();
    let (title_key, text_key) = err.page_keys();
    let title = app.i18n.t(lang, title_key, &[]);
    let message = match (text_key, err) {
        (Some(k), _) => app.i18n.t(lang, k, &[]),
        (None, e) => e.message(),
    };
    // A refusal that says what was refused says it under the general text.
    let detail = match err {
        WebError::Forbidden(m) if !m.is_empty() => Some(m.clone()),
        _ => None,
    };
    let ctx = context! {
        lang => lang.code(),
        title => title,
        message => message,
        detail => detail,
        site_title => site.map(|(s, _)| s.title.clone()),
        site_url => site.map(|(_, b)| b.to_owned()),
        theme => site.map(|(s, b)| theme(app, s, b)),
    };
    render(app, "error.html", ctx).unwrap_or_else(|_| "<!doctype html><title>Error</title><h1>Error</h1>".into())
}

/// The deployment's root page: how to create a first site, or a neutral word.
pub(crate) fn landing(app: &AppState, empty: bool) -> Result<String, WebError> {
    render(app, "landing.html", context! { lang => "fr", title => "Beffroi", empty => empty })
}

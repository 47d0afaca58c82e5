//! The pages of the application's types, each for the people who use it:
//!
//! - a decision body: its meetings to come and past, then what waits for the reader —
//!   the items they wrote, those waiting at a validation level they review, and for
//!   its meeting managers the validated items not yet on an agenda;
//! - a meeting: its date and place, its agenda in order (number, reference, service,
//!   state, privacy), and for its managers while it takes items, the validated items
//!   of the body with a button that puts each on this agenda (`@@present`);
//! - an item: its reference, number, meeting, service, category and privacy.
//!
//! Every list comes from the catalog with the reader's rights: nobody sees an item
//! here they could not open.

use beffroi_model::schema::parse_datetime;
use beffroi_model::security::{Permission, Principal};
use beffroi_model::{ItemPath, Language};
use beffroi_service::{CatalogQuery, IndexFilter, ItemRow, ItemView, PathQuery, SortOn, TransitionRequest};
use beffroi_web::minijinja::{Value, context};
use beffroi_web::routes::Call;
use beffroi_web::{BoxFuture, Ctx, TypePage, WebError, date_time_text, iso};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::advices::{ADVICE, working_days_left};
use crate::agenda::{in_agenda_order, number_of, number_text, on_meeting};
use crate::assembly::{Persons, VOTE, Vote, meeting_day};
use crate::organisation::{LEVELS, SERVICE};
use crate::{ANNEX, BODY, ITEM, MANAGE_MEETINGS, MEETING, list, meeting_date, meeting_query, text};

pub(crate) const PAGES: &[TypePage] = &[
    TypePage { type_name: ITEM, parts: item_page, contents: false },
    TypePage { type_name: MEETING, parts: meeting_page, contents: false },
    TypePage { type_name: BODY, parts: body_page, contents: false },
];

/// How many entries a list of the body's page shows.
const LIST: i64 = 50;

fn manage() -> Permission {
    Permission::parse(MANAGE_MEETINGS).expect("the application declares it")
}

/// The items (or meetings) a query finds, with the reader's rights.
async fn rows(ctx: &Ctx<'_>, mut q: CatalogQuery) -> Result<Vec<ItemRow>, WebError> {
    if q.limit <= 0 {
        q.limit = beffroi_service::MAX_SEARCH_BATCH;
    }
    ctx.services()
        .search_rows(&ctx.principal, &ctx.site, q)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))
}

fn when(lang: Language, ctx: &Ctx<'_>, d: &DateTime<Utc>) -> String {
    date_time_text(lang, ctx.site.time_zone, d, true)
}

/// The titles of the site's services by id, to name an item's service.
type Titles = std::collections::HashMap<String, String>;

async fn service_titles(ctx: &Ctx<'_>) -> Result<Titles, WebError> {
    let q =
        CatalogQuery { types: vec![SERVICE.into()], limit: beffroi_service::MAX_SEARCH_BATCH, ..Default::default() };
    let found = ctx
        .services()
        .search_first(&ctx.principal, &ctx.site, q)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    Ok(found.into_iter().map(|s| (s.id, s.title)).collect())
}

/// One line of a list: an item or a meeting.
fn line(ctx: &Ctx<'_>, view: &ItemView, titles: &Titles, row: &ItemRow) -> Value {
    let lang = view.item.language;
    let state = row.review_state.clone().unwrap_or_default();
    let date = meeting_date(row);
    context! {
        url => ctx.url(&row.path),
        uid => row.uuid.simple().to_string(),
        title => row.title.clone(),
        number => number_of(row).map(number_text),
        late => text(row, "list_type") == "late",
        reference => text(row, "reference"),
        service => titles.get(text(row, "proposing_group")).cloned().unwrap_or_else(|| text(row, "proposing_group").to_owned()),
        category => text(row, "category"),
        secret => text(row, "privacy") == "secret",
        state => state.clone(),
        state_title => view.workflows.state_title(&row.type_name, &state, lang),
        date_iso => date.map(|d| iso(&d)),
        date => date.map(|d| when(lang, ctx, &d)),
        place => text(row, "place"),
    }
}

fn in_body(body: ItemPath) -> Vec<PathQuery> {
    vec![PathQuery { path: body, depth: Some(1) }]
}

/// One advice: its service, type, state, due date and the working days left.
fn advice_line(ctx: &Ctx<'_>, view: &ItemView, titles: &Titles, advice: &ItemRow) -> Value {
    let lang = view.item.language;
    let service = text(advice, "advice_group");
    let due = parse_datetime(text(advice, "due"));
    let state = advice.review_state.clone().unwrap_or_default();
    let item = advice.path.parent().map(|p| ctx.url(&p));
    context! {
        url => ctx.url(&advice.path),
        item_url => item,
        title => advice.title.clone(),
        service => titles.get(service).cloned().unwrap_or_else(|| service.to_owned()),
        advice_type => text(advice, "advice_type"),
        given => state == "advice_given",
        state_title => view.workflows.state_title(&advice.type_name, &state, lang),
        outdated => advice.fields.get("outdated").and_then(serde_json::Value::as_bool) == Some(true),
        due => due.map(|d| date_time_text(lang, ctx.site.time_zone, &d, false)),
        due_iso => due.map(|d| iso(&d)),
        days_left => due.map(|d| working_days_left(Utc::now().date_naive(), d.date_naive())),
    }
}

/// Where an item stands, for its page.
fn item_page<'a>(ctx: &'a Ctx<'_>, view: &'a ItemView) -> BoxFuture<'a, Result<Value, WebError>> {
    Box::pin(async move {
        let it = &view.item;
        let titles = service_titles(ctx).await?;
        let meeting = match meeting_query(it) {
            Some(q) => rows(ctx, q).await?.first().map(|m| line(ctx, view, &titles, m)),
            None => None,
        };
        let q = CatalogQuery {
            types: vec![ADVICE.into(), VOTE.into(), ANNEX.into()],
            paths: vec![PathQuery { path: it.path.clone(), depth: Some(1) }],
            sort: SortOn::Created,
            ..Default::default()
        };
        let (annexes, inside): (Vec<ItemRow>, Vec<ItemRow>) =
            rows(ctx, q).await?.into_iter().partition(|r| r.type_name == ANNEX);
        let (further, advices): (Vec<ItemRow>, Vec<ItemRow>) = inside.into_iter().partition(|r| r.type_name == VOTE);
        // Its annexes the reader may see (a confidential one is not found by observers).
        let flag = |r: &ItemRow, f: &str| r.fields.get(f).and_then(serde_json::Value::as_bool).unwrap_or(false);
        let annexes: Vec<Value> = annexes
            .iter()
            .map(|a| {
                context! {
                    title => a.title.clone(),
                    url => ctx.url(&a.path),
                    download => format!("{}/@@download/file", ctx.url(&a.path)),
                    annex_type => text(a, "annex_type"),
                    to_print => flag(a, "to_print"),
                    confidential => flag(a, "confidential"),
                    publishable => flag(a, "publishable"),
                }
            })
            .collect();
        let advices: Vec<Value> = advices.iter().map(|a| advice_line(ctx, view, &titles, a)).collect();
        let in_charge = match text(it, "in_charge") {
            "" => None,
            id => {
                let persons = persons(ctx).await?;
                let day = Utc::now().date_naive();
                let body = crate::body_id(it);
                persons.list.iter().find(|p| p.id == id).map(|p| persons.titled(p, &body, day, it.language))
            }
        };
        // Its own vote first, then the further ones under their titles.
        let votes: Vec<Value> = std::iter::once((None, it))
            .chain(further.iter().map(|v| (Some(v), v)))
            .filter_map(|(further, r)| {
                let v = Vote::of(r)?;
                Some(context! {
                    title => further.map(|f| f.title.clone()),
                    url => further.map(|f| ctx.url(&f.path)),
                    yes => v.yes, no => v.no, abstain => v.abstain, secret => v.secret,
                    unanimous => v.no == 0 && v.abstain == 0,
                })
            })
            .collect();
        Ok(context! {
            votes => votes,
            advices => advices,
            annexes => annexes,
            reference => text(it, "reference"),
            number => number_of(it).map(number_text),
            meeting => meeting,
            proposing_group => titles.get(text(it, "proposing_group")).cloned().unwrap_or_else(|| text(it, "proposing_group").to_owned()),
            in_charge => in_charge,
            category => text(it, "category"),
            secret => text(it, "privacy") == "secret",
        })
    })
}

/// A meeting's date, place, agenda and, for its managers, the items it may take.
fn meeting_page<'a>(ctx: &'a Ctx<'_>, view: &'a ItemView) -> BoxFuture<'a, Result<Value, WebError>> {
    Box::pin(async move {
        let meeting = &view.item;
        let titles = service_titles(ctx).await?;
        let mut agenda = rows(ctx, on_meeting(meeting)).await?;
        in_agenda_order(&mut agenda);
        let open = matches!(meeting.review_state.as_deref(), Some("created" | "frozen"));
        let manager = view.allows(&ctx.principal, manage());
        let available = if open && manager {
            let body = meeting.path.parent().expect("a meeting is in its body");
            let q = CatalogQuery {
                types: vec![ITEM.into()],
                states: vec!["validated".into()],
                paths: in_body(body),
                sort: SortOn::Created,
                limit: beffroi_service::MAX_SEARCH_BATCH,
                ..Default::default()
            };
            rows(ctx, q).await?.iter().map(|r| line(ctx, view, &titles, r)).collect()
        } else {
            Vec::new()
        };
        let date = meeting_date(meeting);
        let people = attendance(ctx, meeting, meeting.language).await?;
        let with = |status: &str| -> Vec<Value> {
            let s = |p: &serde_json::Value, k: &str| p[k].as_str().unwrap_or_default().to_owned();
            people
                .iter()
                .filter(|p| p["status"] == status)
                .map(|p| context! { title => s(p, "title"), position => s(p, "position"), signatory => p["signatory"] == true })
                .collect()
        };
        Ok(context! {
            present => with("present"),
            excused => with("excused"),
            absent => with("absent"),
            date => date.map(|d| when(meeting.language, ctx, &d)),
            date_iso => date.map(|d| iso(&d)),
            place => text(meeting, "place"),
            meeting_number => meeting.fields.get("meeting_number").and_then(serde_json::Value::as_i64),
            agenda => agenda.iter().map(|r| line(ctx, view, &titles, r)).collect::<Vec<_>>(),
            available => available,
            present_url => format!("{}/@@present", ctx.url(&meeting.path)),
            move_url => (manager && !matches!(meeting.review_state.as_deref(), Some("closed")))
                .then(|| format!("{}/@@move-item", ctx.url(&meeting.path))),
        })
    })
}

/// A body's meetings and what waits for the reader in it.
fn body_page<'a>(ctx: &'a Ctx<'_>, view: &'a ItemView) -> BoxFuture<'a, Result<Value, WebError>> {
    Box::pin(async move {
        let body = &view.item;
        let titles = service_titles(ctx).await?;
        let q = CatalogQuery {
            types: vec![MEETING.into()],
            paths: in_body(body.path.clone()),
            limit: beffroi_service::MAX_SEARCH_BATCH,
            ..Default::default()
        };
        let mut meetings = rows(ctx, q).await?;
        meetings.sort_by_key(meeting_date);
        let now = Utc::now();
        let (past, upcoming): (Vec<_>, Vec<_>) =
            meetings.iter().partition(|m| meeting_date(m).is_some_and(|d| d < now));
        let item_query = |states: Vec<String>| CatalogQuery {
            types: vec![ITEM.into()],
            states,
            paths: in_body(body.path.clone()),
            sort: SortOn::Modified,
            descending: true,
            limit: LIST,
            ..Default::default()
        };
        let mut mine = Vec::new();
        let mut to_validate = Vec::new();
        let mut to_advise = Vec::new();
        if let Principal::User { login, groups, .. } = &ctx.principal {
            let q = CatalogQuery { creators: vec![login.clone()], ..item_query(Vec::new()) };
            mine = rows(ctx, q).await?;
            // At each level, the items of the services whose group of that level the
            // reader is in.
            for (level, suffix) in LEVELS {
                let services: Vec<String> = groups
                    .iter()
                    .filter_map(|g| g.strip_suffix(suffix).and_then(|s| s.strip_suffix('_')))
                    .map(str::to_owned)
                    .collect();
                if services.is_empty() {
                    continue;
                }
                let q = CatalogQuery {
                    index_filters: vec![IndexFilter::AnyOf { index: "proposing_group".into(), words: services }],
                    ..item_query(vec![level.into()])
                };
                to_validate.extend(rows(ctx, q).await?);
            }
            // The advices the reader's services are to give.
            let advising: Vec<String> =
                groups.iter().filter_map(|g| g.strip_suffix("_advisers")).map(str::to_owned).collect();
            if !advising.is_empty() {
                let q = CatalogQuery {
                    types: vec![ADVICE.into()],
                    states: vec!["advice_under_edit".into()],
                    paths: vec![PathQuery { path: body.path.clone(), depth: None }],
                    index_filters: vec![IndexFilter::AnyOf { index: "advice_group".into(), words: advising }],
                    limit: LIST,
                    ..Default::default()
                };
                let mut found = rows(ctx, q).await?;
                found.sort_by_key(|a| parse_datetime(text(a, "due")));
                to_advise = found.iter().map(|a| advice_line(ctx, view, &titles, a)).collect();
            }
        }
        let to_present = if view.allows(&ctx.principal, manage()) {
            rows(ctx, item_query(vec!["validated".into()])).await?
        } else {
            Vec::new()
        };
        // The templates a writer of items may start from.
        let writes = ctx.principal != Principal::Anonymous && view.allows(&ctx.principal, Permission::AddPortalContent);
        let templates: Vec<Value> = if writes {
            crate::templates::of_body(ctx, body)
                .await?
                .iter()
                .map(
                    |t| context! { id => t.id.clone(), title => t.title.clone(), description => t.description.clone() },
                )
                .collect()
        } else {
            Vec::new()
        };
        let lines = |v: &[&ItemRow]| v.iter().map(|r| line(ctx, view, &titles, r)).collect::<Vec<_>>();
        let mut past: Vec<&ItemRow> = past;
        past.reverse();
        Ok(context! {
            upcoming => lines(&upcoming),
            past => lines(&past.into_iter().take(10).collect::<Vec<_>>()),
            mine => lines(&mine.iter().collect::<Vec<_>>()),
            to_validate => lines(&to_validate.iter().collect::<Vec<_>>()),
            validate_url => format!("{}/@@validate-items", ctx.url(&body.path)),
            to_present => lines(&to_present.iter().collect::<Vec<_>>()),
            to_advise => to_advise,
            templates => templates,
            from_template_url => format!("{}/@@from-template", ctx.url(&body.path)),
            signed_in => ctx.principal != Principal::Anonymous,
        })
    })
}

/// The fields of a form posted to a meeting's view, and the UID of the item it names.
fn meeting_form(c: &Call<'_>, meeting: &ItemRow) -> Result<(Vec<(String, String)>, uuid::Uuid), WebError> {
    if meeting.type_name != MEETING {
        return Err(WebError::NotFound(c.ctx().url(&meeting.path)));
    }
    let form = c.form()?;
    let uid = form
        .iter()
        .find(|(k, _)| k == "item")
        .and_then(|(_, v)| uuid::Uuid::try_parse(v.trim()).ok())
        .ok_or_else(|| WebError::BadRequest("which item? (item: its UID)".into()))?;
    Ok((form, uid))
}

/// `@@move-item` on a meeting (POST, a form with `item`, an item's UID, and
/// `direction`, `up` or `down` — the keyboard's and the screen reader's way — or `by`,
/// how many places, as a drag and drop posts it): the agenda is then numbered in its
/// new order; for its managers.
pub(crate) async fn move_item<'r>(c: Call<'r>, view: &'r ItemView) -> Result<axum::response::Response, WebError> {
    let ctx = c.ctx();
    let meeting = &view.item;
    let (form, uid) = meeting_form(&c, meeting)?;
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned());
    let by = match (field("direction").as_deref(), field("by")) {
        (Some("up"), _) => -1,
        (Some("down"), _) => 1,
        (None, Some(by)) => by
            .parse::<i32>()
            .ok()
            .filter(|b| *b != 0)
            .ok_or_else(|| WebError::BadRequest("by: how many places, not 0 (negative: up)".into()))?,
        _ => return Err(WebError::BadRequest("direction: up or down (or by: how many places)".into())),
    };
    let services = ctx.services();
    let run = async {
        let mut work = services.work(&ctx.principal, &ctx.site, &meeting.path, manage()).await?;
        let q = CatalogQuery { uids: vec![uid], types: vec![ITEM.into()], ..Default::default() };
        let item = work.find(q).await?.pop().ok_or_else(|| crate::refuse("no such item here"))?;
        crate::agenda::move_item(&mut work, meeting, &item, by).await?;
        work.commit().await
    };
    run.await.map_err(|e| c.error(e))?;
    Ok(c.state_changed(&format!("{}#agenda-title", ctx.url(&meeting.path))))
}

/// How many items a search of a body's items lists.
const FOUND: i64 = 100;

/// `@@items-search` on a body (GET): its items by state, meeting, service, category
/// and words (`state`, `meeting`: a meeting's id, `service`, `category`,
/// `SearchableText`), newest first, with the reader's rights; the form offers the
/// body's own values.
pub(crate) async fn items_search<'r>(c: Call<'r>, view: &'r ItemView) -> Result<axum::response::Response, WebError> {
    let ctx = c.ctx();
    let body = &view.item;
    if body.type_name != BODY {
        return Err(WebError::NotFound(ctx.url(&body.path)));
    }
    let lang = body.language;
    let param = |k: &str| ctx.param(k).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let (state, meeting, service, category, words) =
        (param("state"), param("meeting"), param("service"), param("category"), param("SearchableText"));
    let titles = service_titles(ctx).await?;
    let q = CatalogQuery { types: vec![MEETING.into()], paths: in_body(body.path.clone()), ..Default::default() };
    let mut meetings = rows(ctx, q).await?;
    meetings.sort_by_key(meeting_date);
    meetings.reverse();
    let states: Vec<(String, String)> = view
        .workflows
        .for_type(ITEM)
        .map(|wf| wf.states.iter().map(|st| (st.id.clone(), st.title.get(lang).to_owned())).collect())
        .unwrap_or_default();
    let categories = crate::vocabularies::category_list(body);
    let mut services: Vec<(String, String)> = titles.iter().map(|(id, t)| (id.clone(), t.clone())).collect();
    services.sort_by(|a, b| a.1.cmp(&b.1));
    let unknown = |what: &str, v: &str| WebError::BadRequest(format!("{what}: {v:?} is not one of this body's"));
    let mut q = CatalogQuery {
        types: vec![ITEM.into()],
        paths: in_body(body.path.clone()),
        sort: SortOn::Modified,
        descending: true,
        limit: FOUND,
        ..Default::default()
    };
    if let Some(s) = &state {
        if !states.iter().any(|(id, _)| id == s) {
            return Err(unknown("state", s));
        }
        q.states = vec![s.clone()];
    }
    if let Some(m) = &meeting {
        let m = meetings.iter().find(|x| x.id == *m).ok_or_else(|| unknown("meeting", m))?;
        q.index_filters.push(IndexFilter::AnyOf { index: "meeting".into(), words: vec![m.uuid.simple().to_string()] });
    }
    if let Some(sv) = &service {
        if !titles.contains_key(sv) {
            return Err(unknown("service", sv));
        }
        q.index_filters.push(IndexFilter::AnyOf { index: "proposing_group".into(), words: vec![sv.clone()] });
    }
    if let Some(cat) = &category {
        q.index_filters.push(IndexFilter::AnyOf { index: "category".into(), words: vec![cat.clone()] });
    }
    if let Some(w) = &words {
        if w.len() > 200 {
            return Err(WebError::BadRequest("the words are too long".into()));
        }
        q = beffroi_service::with_text(q, w);
    }
    let searched = [&state, &meeting, &service, &category, &words].iter().any(|v| v.is_some());
    let (found, total) = if searched {
        let err = |e| WebError::from_service(e, &ctx.request_url);
        let services = ctx.services();
        let page = services.search(&ctx.principal, &ctx.site, q).await.map_err(err)?;
        let found = services.result_rows(&ctx.site, &page.items).await.map_err(err)?;
        let lines: Vec<Value> = found.iter().map(|r| line(ctx, view, &titles, r)).collect();
        (lines, page.total)
    } else {
        (Vec::new(), 0)
    };
    let choice = |list: Vec<(String, String)>, chosen: &Option<String>| -> Vec<Value> {
        list.into_iter()
            .map(
                |(id, title)| context! { selected => chosen.as_deref() == Some(id.as_str()), id => id, title => title },
            )
            .collect()
    };
    let meetings: Vec<(String, String)> = meetings
        .iter()
        .map(|m| {
            let date = meeting_date(m).map(|d| format!(" — {}", when(lang, ctx, &d))).unwrap_or_default();
            (m.id.clone(), format!("{}{date}", m.title))
        })
        .collect();
    c.page(
        "meetings_search.html",
        context! {
            title => c.t("meetings-search-title"),
            body_title => body.title.clone(),
            body_url => ctx.url(&body.path),
            action => format!("{}/@@items-search", ctx.url(&body.path)),
            states => choice(states, &state),
            meetings => choice(meetings, &meeting),
            services => choice(services, &service),
            categories => choice(categories.iter().map(|c| (c.clone(), c.clone())).collect(), &category),
            words => words,
            searched => searched,
            found => found,
            total => total,
            capped => total > FOUND,
        },
    )
}

/// `@@validate-items` on a body (POST, a form with `item` (UIDs, one or more),
/// `action` (`forward` or `back`) and an optional `comment`): a reviewer's batch
/// action on their "to validate" list. Each item takes the step of its validation
/// chain the body's levels give (the next level in force or validated; back, the
/// previous one), with the reader's rights, all in one unit: if one cannot, none does
/// and the message names it.
pub(crate) async fn validate_items<'r>(c: Call<'r>, view: &'r ItemView) -> Result<axum::response::Response, WebError> {
    let ctx = c.ctx();
    let body = &view.item;
    if body.type_name != BODY {
        return Err(WebError::NotFound(ctx.url(&body.path)));
    }
    let form = c.form()?;
    let mut uids = Vec::new();
    for (_, v) in form.iter().filter(|(k, _)| k == "item") {
        uids.push(uuid::Uuid::try_parse(v.trim()).map_err(|_| WebError::BadRequest(format!("{v:?} is not a UID")))?);
    }
    uids.sort();
    uids.dedup();
    if uids.is_empty() {
        return Err(WebError::BadRequest(c.t("meetings-batch-none")));
    }
    let forward = match form.iter().find(|(k, _)| k == "action").map(|(_, v)| v.as_str()) {
        Some("forward") => true,
        Some("back") => false,
        _ => return Err(WebError::BadRequest("action: forward or back".into())),
    };
    let comment = form.iter().find(|(k, _)| k == "comment").map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let services = ctx.services();
    let run = async {
        let mut work = services.work(&ctx.principal, &ctx.site, &body.path, Permission::View).await?;
        let q = CatalogQuery { uids: uids.clone(), types: vec![ITEM.into()], ..Default::default() };
        let items = work.find(q).await?;
        for uid in &uids {
            let item = items
                .iter()
                .find(|i| i.uuid == *uid && i.path.parent().as_ref() == Some(&body.path))
                .ok_or_else(|| crate::refuse(format!("{uid} is not an item of this body you may see")))?;
            let named = |e: beffroi_service::ServiceError| match e {
                beffroi_service::ServiceError::Unauthorized | beffroi_service::ServiceError::Forbidden(_) => {
                    beffroi_service::ServiceError::Forbidden(format!("{}: {e}", item.title))
                }
                e => crate::refuse(format!("{}: {e}", item.title)),
            };
            let step = crate::organisation::chain_step(&mut work, item, forward)
                .await?
                .ok_or_else(|| named(crate::refuse("it has no step that way")))?;
            let req = TransitionRequest { comment: comment.clone(), ..Default::default() };
            work.transition(&item.path, &step, &req).await.map_err(named)?;
        }
        work.commit().await
    };
    run.await.map_err(|e| c.error(e))?;
    Ok(c.state_changed(&format!("{}#validate-title", ctx.url(&body.path))))
}

/// `@@present` on a meeting (POST, a form with `item`, an item's UID): the item goes
/// on this meeting's agenda, in one unit: its preferred meeting becomes this one and it
/// takes "present", whose hooks number it.
pub(crate) async fn present<'r>(c: Call<'r>, view: &'r ItemView) -> Result<axum::response::Response, WebError> {
    let ctx = c.ctx();
    let meeting = &view.item;
    let (_, uid) = meeting_form(&c, meeting)?;
    let q = CatalogQuery { uids: vec![uid], types: vec![ITEM.into()], ..Default::default() };
    let item = rows(ctx, q).await?.pop().ok_or_else(|| WebError::BadRequest("no such item here".into()))?;
    if item.path.parent() != meeting.path.parent() {
        return Err(WebError::BadRequest("the item belongs to another body".into()));
    }
    let services = ctx.services();
    let run = async {
        let mut work = services.work(&ctx.principal, &ctx.site, &item.path, Permission::View).await?;
        let values = json!({"preferred_meeting": meeting.id});
        work.set_fields(&item.path, values.as_object().expect("an object")).await?;
        let req = TransitionRequest { comment: meeting.title.clone(), ..Default::default() };
        work.transition(&item.path, "present", &req).await?;
        work.commit().await
    };
    run.await.map_err(|e| c.error(e))?;
    Ok(c.state_changed(&ctx.url(&meeting.path)))
}

/// The persons the caller may see, with their held positions.
async fn persons(ctx: &Ctx<'_>) -> Result<Persons, WebError> {
    Ok(Persons::from_rows(rows(ctx, Persons::query()).await?))
}

/// A meeting's attendance: every person sitting in its body on its date, with whether
/// they are present, excused or absent (unknown until recorded), and signatories.
async fn attendance(
    ctx: &Ctx<'_>,
    meeting: &ItemRow,
    lang: beffroi_model::Language,
) -> Result<Vec<serde_json::Value>, WebError> {
    let persons = persons(ctx).await?;
    let body = crate::body_id(meeting);
    let day = meeting_day(meeting);
    let status_of = |id: &str| {
        ["attendees", "excused", "absents"]
            .into_iter()
            .find(|f| list(meeting, f).iter().any(|a| a == id))
            .map(|f| match f {
                "attendees" => "present",
                "excused" => "excused",
                _ => "absent",
            })
            .unwrap_or("unknown")
    };
    let mut out: Vec<(String, serde_json::Value)> = persons
        .list
        .iter()
        .filter(|p| persons.sits(p, &body, day) || status_of(&p.id) != "unknown")
        .map(|p| {
            let (name, position) = persons.label(p, &body, day, lang);
            let v = json!({
                "id": p.id, "@id": ctx.url(&p.path), "title": name, "position": position,
                "status": status_of(&p.id),
                "signatory": list(meeting, "signatories").contains(&p.id),
            });
            (p.id.clone(), v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out.into_iter().map(|(_, v)| v).collect())
}

/// An item's vote as the API gives it, with the minutes' sentence.
fn vote_json(c: &Call<'_>, item: &ItemRow) -> serde_json::Value {
    match Vote::of(item) {
        None => serde_json::Value::Null,
        Some(v) => {
            let sentence = vote_sentence(c, &v);
            let mut out =
                json!({"secret": v.secret, "yes": v.yes, "no": v.no, "abstain": v.abstain, "sentence": sentence});
            if !v.secret {
                out["voters"] = json!({"yes": v.voters[0], "no": v.voters[1], "abstain": v.voters[2]});
            }
            out
        }
    }
}

fn vote_sentence(c: &Call<'_>, v: &Vote) -> String {
    if v.no == 0 && v.abstain == 0 {
        c.t_numbers("meetings-vote-unanimous", &[("yes", v.yes)])
    } else {
        c.t_numbers("meetings-vote-sentence", &[("yes", v.yes), ("no", v.no), ("abstain", v.abstain)])
    }
}

/// `@attendees` on a meeting (every person of its body with their status) or an item
/// (its meeting's, less those absent for it).
pub(crate) async fn attendees<'r>(c: Call<'r>, view: &'r ItemView) -> Result<axum::response::Response, WebError> {
    let ctx = c.ctx();
    let it = &view.item;
    let lang = ctx.site.language;
    let url = format!("{}/@attendees", ctx.url(&it.path));
    match it.type_name.as_str() {
        MEETING => {
            let items = attendance(ctx, it, lang).await?;
            Ok(c.json(&json!({"@id": url, "items": items, "items_total": items.len()})))
        }
        ITEM => {
            let meeting = match meeting_query(it) {
                Some(q) => rows(ctx, q).await?.pop(),
                None => None,
            };
            let Some(meeting) = meeting else {
                return Ok(c.json(&json!({"@id": url, "items": [], "items_total": 0})));
            };
            let out = list(it, "item_absents");
            let mut items = attendance(ctx, &meeting, lang).await?;
            for p in &mut items {
                if p["status"] == "present" && out.iter().any(|o| p["id"] == o.as_str()) {
                    p["status"] = json!("absent_for_item");
                }
            }
            Ok(c.json(&json!({"@id": url, "items": items, "items_total": items.len()})))
        }
        _ => Err(WebError::NotFound(ctx.url(&it.path))),
    }
}

/// The further votes on `items` the caller may see, by item, in the order they were
/// recorded, each with its title and sentence.
async fn further_votes(
    c: &Call<'_>,
    items: &[ItemRow],
) -> Result<std::collections::HashMap<ItemPath, Vec<serde_json::Value>>, WebError> {
    let mut out: std::collections::HashMap<ItemPath, Vec<serde_json::Value>> = std::collections::HashMap::new();
    if items.is_empty() {
        return Ok(out);
    }
    let ctx = c.ctx();
    let q = CatalogQuery {
        types: vec![VOTE.into()],
        paths: items.iter().map(|i| PathQuery { path: i.path.clone(), depth: Some(1) }).collect(),
        sort: SortOn::Created,
        ..Default::default()
    };
    for v in rows(ctx, q).await? {
        let Some(parent) = v.path.parent() else { continue };
        let mut entry = vote_json(c, &v);
        if entry.is_null() {
            entry = json!({});
        }
        entry["@id"] = json!(ctx.url(&v.path));
        entry["title"] = json!(v.title);
        out.entry(parent).or_default().push(entry);
    }
    Ok(out)
}

/// `@votes` on an item (its vote and the sentence for the minutes, and its further
/// votes) or a meeting (those of its items, in agenda order).
pub(crate) async fn votes<'r>(c: Call<'r>, view: &'r ItemView) -> Result<axum::response::Response, WebError> {
    let ctx = c.ctx();
    let it = &view.item;
    let url = format!("{}/@votes", ctx.url(&it.path));
    match it.type_name.as_str() {
        ITEM => {
            let further = further_votes(&c, std::slice::from_ref(it)).await?;
            Ok(c.json(&json!({"@id": url, "vote": vote_json(&c, it), "votes": further.get(&it.path).cloned().unwrap_or_default()})))
        }
        MEETING => {
            let mut items = rows(ctx, on_meeting(it)).await?;
            in_agenda_order(&mut items);
            let mut further = further_votes(&c, &items).await?;
            let out: Vec<serde_json::Value> = items
                .iter()
                .map(|r| json!({"@id": ctx.url(&r.path), "title": r.title, "number": number_of(r).map(number_text), "vote": vote_json(&c, r), "votes": further.remove(&r.path).unwrap_or_default()}))
                .collect();
            Ok(c.json(&json!({"@id": url, "items": out, "items_total": out.len()})))
        }
        _ => Err(WebError::NotFound(ctx.url(&it.path))),
    }
}

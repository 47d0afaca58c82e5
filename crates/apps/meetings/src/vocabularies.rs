//! The lists the meetings' forms choose from, as named vocabularies: the services an
//! item may be proposed for (those whose creators the writer is among, every one for a
//! meeting manager), every service (advisers), the body's categories and its meetings
//! still open to items, the persons sitting in the body, the decision bodies. Each is
//! computed where the form is (a body, a meeting, an item) with the writer's rights.

use beffroi_model::ItemPath;
use beffroi_model::security::Permission;
use beffroi_service::{CatalogQuery, ItemRow, ServiceError, Term, Vocabulary, VocabularyFuture, Work};

use crate::assembly;
use crate::organisation::{self, group_id};
use crate::{BODY, MANAGE_MEETINGS, MEETING, meeting_date, text};

pub(crate) const VOCABULARIES: &[Vocabulary] = &[
    Vocabulary { name: "meetings.proposing_services", terms: proposing_services },
    Vocabulary { name: "meetings.services", terms: all_services },
    Vocabulary { name: "meetings.categories", terms: categories },
    Vocabulary { name: "meetings.annex_types", terms: annex_types },
    Vocabulary { name: "meetings.open_meetings", terms: open_meetings },
    Vocabulary { name: "meetings.persons", terms: persons },
    Vocabulary { name: "meetings.bodies", terms: bodies },
];

/// The decision body a context is or is in (None outside bodies).
async fn body_of(work: &mut Work<'_>, context: &ItemRow) -> Result<Option<ItemRow>, ServiceError> {
    if context.type_name == BODY {
        return Ok(Some(context.clone()));
    }
    let mut path: Option<ItemPath> = context.path.parent();
    while let Some(p) = path {
        if p.is_root() {
            break;
        }
        let item = work.require(&p, Permission::View).await?.pop().expect("a lineage ends with its item");
        if item.type_name == BODY {
            return Ok(Some(item));
        }
        path = p.parent();
    }
    Ok(None)
}

fn term(token: &str, title: impl Into<String>) -> Term {
    Term { token: token.to_owned(), title: title.into() }
}

fn service_terms(services: Vec<ItemRow>) -> Vec<Term> {
    let mut terms: Vec<Term> = services.iter().map(|s| term(&s.id, s.title.clone())).collect();
    terms.sort_by(|a, b| a.title.cmp(&b.title));
    terms
}

fn proposing_services<'a>(work: &'a mut Work<'_>, context: &'a ItemRow) -> VocabularyFuture<'a> {
    Box::pin(async move {
        let all = organisation::services(work).await?;
        let manager = match body_of(work, context).await? {
            Some(body) => work.actor_may(&body.path, Permission::parse(MANAGE_MEETINGS).expect("declared")).await?,
            None => false,
        };
        let mine = if manager {
            all
        } else {
            let groups = match work.actor() {
                beffroi_model::security::Principal::User { groups, .. } => groups.clone(),
                beffroi_model::security::Principal::System => return Ok(service_terms(all)),
                beffroi_model::security::Principal::Anonymous => Vec::new(),
            };
            all.into_iter().filter(|s| groups.contains(&group_id(&s.id, "creators"))).collect()
        };
        Ok(service_terms(mine))
    })
}

fn all_services<'a>(work: &'a mut Work<'_>, _: &'a ItemRow) -> VocabularyFuture<'a> {
    Box::pin(async move { Ok(service_terms(organisation::services(work).await?)) })
}

/// A body's categories: one a line of its `categories` field, in its order.
pub(crate) fn category_list(body: &ItemRow) -> Vec<String> {
    lines(body, "categories")
}

/// The distinct lines of a text field, in their order.
fn lines(body: &ItemRow, field: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text(body, field).lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.iter().any(|c| c == line) {
            out.push(line.to_owned());
        }
    }
    out
}

/// The kinds of annex the body's items carry: one a line of its `annex_types` field.
fn annex_types<'a>(work: &'a mut Work<'_>, context: &'a ItemRow) -> VocabularyFuture<'a> {
    Box::pin(async move {
        let body = body_of(work, context).await?;
        Ok(body.iter().flat_map(|b| lines(b, "annex_types")).map(|c| term(&c, c.clone())).collect())
    })
}

fn categories<'a>(work: &'a mut Work<'_>, context: &'a ItemRow) -> VocabularyFuture<'a> {
    Box::pin(async move {
        let body = body_of(work, context).await?;
        Ok(body.iter().flat_map(category_list).map(|c| term(&c, c.clone())).collect())
    })
}

/// The body's meetings not yet frozen or frozen (late items), soonest first, each by
/// its title and date.
fn open_meetings<'a>(work: &'a mut Work<'_>, context: &'a ItemRow) -> VocabularyFuture<'a> {
    Box::pin(async move {
        let Some(body) = body_of(work, context).await? else { return Ok(Vec::new()) };
        let meetings = crate::meetings_in(work, &body.path, &["created", "frozen"]).await?;
        let zone = work.site().time_zone;
        Ok(meetings
            .iter()
            .map(|m| {
                let when = meeting_date(m).map(|d| zone.local(&d).format(" (%d/%m/%Y %H:%M)").to_string());
                term(&m.id, format!("{}{}", m.title, when.unwrap_or_default()))
            })
            .collect())
    })
}

/// The persons sitting in the body on the day of the meeting in context (a meeting,
/// or an item's meeting; today otherwise); outside bodies, every person.
fn persons<'a>(work: &'a mut Work<'_>, context: &'a ItemRow) -> VocabularyFuture<'a> {
    Box::pin(async move {
        let body = body_of(work, context).await?;
        // A further vote's persons are those of the item it is on.
        let context = &assembly::voted_item(work, context).await?;
        let meeting = if context.type_name == MEETING {
            Some(context.clone())
        } else if crate::meeting_query(context).is_some() {
            crate::meeting_of(work, context).await.ok()
        } else {
            None
        };
        let day = match &meeting {
            Some(m) => assembly::meeting_day(m),
            None => chrono::Utc::now().date_naive(),
        };
        let lang = work.site().language;
        let mut persons = assembly::persons(work).await?;
        persons.list.sort_by(|a, b| a.title.cmp(&b.title));
        let body = body.as_ref().map(|b| b.id.as_str());
        Ok(persons
            .list
            .iter()
            .filter(|p| body.is_none_or(|b| persons.sits(p, b, day)))
            .map(|p| term(&p.id, persons.titled(p, body.unwrap_or_default(), day, lang)))
            .collect())
    })
}

fn bodies<'a>(work: &'a mut Work<'_>, _: &'a ItemRow) -> VocabularyFuture<'a> {
    Box::pin(async move {
        let found = work.find(CatalogQuery { types: vec![BODY.into()], ..Default::default() }).await?;
        Ok(service_terms(found))
    })
}

//! A meeting's agenda: its items numbered in order. As in PloneMeeting, a number is
//! stored times 100: `200` is item 2, `201` its first sub-item (2.1). An item presented
//! while the meeting is still being prepared takes the next whole number; one presented
//! once the agenda is frozen is a late item: the next sub-number after the last item,
//! so that the agenda already sent keeps its numbers, and it is frozen at once. An item
//! taken off closes the gap; moving an item by hand renumbers the agenda in its new
//! order (a late item keeps a sub-number of the item before it). A delayed item is copied, validated, for a later meeting.

use beffroi_model::ItemPath;
use beffroi_model::security::Permission;
use beffroi_service::{
    CatalogQuery, HookFuture, IndexFilter, ItemRow, ServiceError, SortOn, TransitionRequest, Transitioned, Work,
};
use chrono::Datelike;
use serde_json::{Value, json};

use crate::{meeting_date, refuse, target_meeting, text};

/// Whole numbers are stored times this.
const STEP: i64 = 100;

/// How an agenda number reads: `2`, or `2.1` for a late item.
pub(crate) fn number_text(n: i64) -> String {
    if n % STEP == 0 { (n / STEP).to_string() } else { format!("{}.{}", n / STEP, n % STEP) }
}

pub(crate) fn number_of(item: &ItemRow) -> Option<i64> {
    item.fields.get("item_number").and_then(Value::as_i64)
}

/// The query of the items on `meeting` (in any order: [`in_agenda_order`] sorts them).
pub(crate) fn on_meeting(meeting: &ItemRow) -> CatalogQuery {
    CatalogQuery {
        index_filters: vec![IndexFilter::AnyOf {
            index: "meeting".into(),
            words: vec![meeting.uuid.simple().to_string()],
        }],
        sort: SortOn::Path,
        limit: beffroi_service::MAX_SEARCH_BATCH,
        ..Default::default()
    }
}

/// Sorts items by their number on the agenda.
pub(crate) fn in_agenda_order(items: &mut [ItemRow]) {
    items.sort_by_key(|i| (number_of(i).unwrap_or(i64::MAX), i.path.clone()));
}

/// The items on `meeting` as committed, in agenda order.
pub(crate) async fn items_on(work: &Work<'_>, meeting: &ItemRow) -> Result<Vec<ItemRow>, ServiceError> {
    let mut items = work.find(on_meeting(meeting)).await?;
    in_agenda_order(&mut items);
    Ok(items)
}

fn set<'a>(work: &'a mut Work<'_>, path: &'a ItemPath, values: Value) -> HookFuture<'a> {
    Box::pin(async move {
        work.set_fields(path, values.as_object().expect("an object")).await?;
        Ok(())
    })
}

/// After "present": on the meeting's agenda, numbered, with its reference; late (and
/// frozen at once) when the meeting is frozen. On a meeting being prepared, a body
/// with insertion rules puts it after the items that come before or with it by those
/// rules (the agenda is renumbered); otherwise it comes last.
pub(crate) fn put_on_agenda<'a>(work: &'a mut Work<'_>, item: &'a ItemRow, _: &'a Transitioned) -> HookFuture<'a> {
    Box::pin(async move {
        let meeting = target_meeting(work, item).await?;
        let uid = meeting.uuid.simple().to_string();
        // The agenda's counter serializes those who present to one meeting at once: the
        // second waits for the first to commit, then sees its item.
        work.next_number(&format!("agenda:{uid}")).await?;
        let body_path = meeting.path.parent().expect("a meeting is in its body");
        let body = work.require(&body_path, Permission::View).await?.pop().expect("a lineage ends with its item");
        let late = meeting.review_state.as_deref() == Some("frozen");
        let rules = crate::list(&body, "insertion_order");
        // After a frozen agenda's last item, as its next sub-number; on an empty one,
        // item 1 of the normal list.
        let last = if late { items_on(work, &meeting).await?.iter().filter_map(number_of).max() } else { None };
        let number = if let Some(last) = last {
            Some(last + 1)
        } else if rules.is_empty() || late {
            // The whole numbers run 1, 2, 3… over the items of the normal list: counting
            // them (an index, no row read) gives the next one.
            let mut q = on_meeting(&meeting);
            q.index_filters.push(IndexFilter::AnyOf { index: "list_type".into(), words: vec!["normal".into()] });
            Some((work.count(q).await? + 1) * STEP)
        } else {
            None
        };
        let year = meeting_date(&meeting).unwrap_or_else(|| work.now()).year();
        let serial = work.next_number(&format!("reference:{}:{year}", body.uuid.simple())).await?;
        let code = match text(&body, "code") {
            "" => body.id.clone(),
            c => c.to_owned(),
        };
        let format = match text(&body, "reference_format") {
            "" => "{body}/{year}/{number}",
            f => f,
        };
        let reference = format
            .replace("{body}", &code)
            .replace("{year}", &year.to_string())
            .replace("{number}", &serial.to_string());
        let list = if last.is_some() { "late" } else { "normal" };
        let values = json!({"meeting": uid, "item_number": number, "reference": reference, "list_type": list});
        let placed = work.set_fields(&item.path, values.as_object().expect("an object")).await?;
        if number.is_none() {
            insert_by_rules(work, &meeting, &body, &rules, placed).await?;
        }
        if late {
            let req = TransitionRequest { comment: format!("{} (late item)", meeting.title), ..Default::default() };
            work.transition(&item.path, "itemfreeze", &req).await?;
        }
        Ok(())
    })
}

/// Puts `item` on `meeting`'s agenda after the items that come before it or with it by
/// the body's `rules` (category: the body's order of categories; proposing_group: the
/// services by name; privacy: public, then secret), and renumbers the agenda.
async fn insert_by_rules(
    work: &mut Work<'_>,
    meeting: &ItemRow,
    body: &ItemRow,
    rules: &[String],
    item: ItemRow,
) -> Result<(), ServiceError> {
    let categories = crate::vocabularies::category_list(body);
    let services = crate::organisation::services(work).await?;
    let key = |it: &ItemRow| -> Vec<String> {
        rules
            .iter()
            .map(|rule| match rule.as_str() {
                "category" => {
                    let at = categories.iter().position(|c| c == text(it, "category")).unwrap_or(categories.len());
                    format!("{at:06}")
                }
                "proposing_group" => services
                    .iter()
                    .find(|s| s.id == text(it, "proposing_group"))
                    .map(|s| s.title.to_lowercase())
                    .unwrap_or_default(),
                "privacy" => (text(it, "privacy") == "secret").to_string(),
                _ => String::new(),
            })
            .collect()
    };
    let mut items: Vec<ItemRow> = items_on(work, meeting).await?.into_iter().filter(|i| i.uuid != item.uuid).collect();
    let mine = key(&item);
    let at = items.iter().rposition(|i| key(i) <= mine).map_or(0, |p| p + 1);
    items.insert(at, item);
    renumber(work, &items).await
}

/// After "backToValidated": off the agenda, whose later items move up.
pub(crate) fn take_off_agenda<'a>(work: &'a mut Work<'_>, item: &'a ItemRow, _: &'a Transitioned) -> HookFuture<'a> {
    Box::pin(async move {
        let meeting = crate::meeting_of(work, item).await?;
        set(work, &item.path, json!({"meeting": null, "item_number": null, "list_type": null})).await?;
        let rest: Vec<ItemRow> = items_on(work, &meeting).await?.into_iter().filter(|i| i.uuid != item.uuid).collect();
        // Whole numbers follow each other again; sub-items stay under their item.
        renumber(work, &rest).await
    })
}

/// Moves `item` one place up (`-1`) or down (`1`) on its meeting's agenda; the agenda is
/// then numbered 1, 2, 3… in its new order. The meeting must not be closed.
pub(crate) async fn move_item(
    work: &mut Work<'_>,
    meeting: &ItemRow,
    item: &ItemRow,
    by: i32,
) -> Result<(), ServiceError> {
    if matches!(meeting.review_state.as_deref(), Some("closed")) {
        return Err(refuse("the agenda of a closed meeting does not change"));
    }
    let mut items = items_on(work, meeting).await?;
    let at = items.iter().position(|i| i.uuid == item.uuid).ok_or_else(|| refuse("the item is not on this agenda"))?;
    let to = at as i64 + i64::from(by);
    if to < 0 || to >= items.len() as i64 {
        return Err(refuse("the item cannot move further"));
    }
    let moved = items.remove(at);
    items.insert(to as usize, moved);
    renumber(work, &items).await
}

/// Numbers `items` in this order: the normal list's items 1, 2, 3…, each late item the
/// next sub-number of the item before it (a late item with none before it joins the
/// normal list).
async fn renumber(work: &mut Work<'_>, items: &[ItemRow]) -> Result<(), ServiceError> {
    let (mut whole, mut sub) = (0, 0);
    for it in items {
        let late = text(it, "list_type") == "late";
        let (wanted, list) = if late && whole > 0 {
            sub += 1;
            (whole * STEP + sub, "late")
        } else {
            whole += 1;
            sub = 0;
            (whole * STEP, "normal")
        };
        if Some(wanted) != number_of(it) || text(it, "list_type") != list {
            set(work, &it.path, json!({"item_number": wanted, "list_type": list})).await?;
        }
    }
    Ok(())
}

/// After "delay": a copy of the item, validated, off any meeting, for a later one; it
/// names the item it continues.
pub(crate) fn copy_delayed<'a>(work: &'a mut Work<'_>, item: &'a ItemRow, _: &'a Transitioned) -> HookFuture<'a> {
    Box::pin(async move {
        let body = item.path.parent().ok_or_else(|| refuse("an item lives in its decision body"))?;
        let mut values = serde_json::Map::new();
        values.insert("title".into(), json!(item.title));
        values.insert("description".into(), json!(item.description));
        for field in ["motivation", "decision", "proposing_group", "category", "privacy", "to_discuss"] {
            if let Some(v) = item.fields.get(field).filter(|v| !v.is_null()) {
                values.insert(field.into(), v.clone());
            }
        }
        values.insert("predecessor".into(), json!(item.uuid.simple().to_string()));
        let copy = work.create(&body, crate::ITEM, &values, Some("validated")).await?;
        crate::organisation::assign_roles(work, &copy).await
    })
}

/// The recurring items of a body's configuration: (title, service) a line, "Title |
/// service"; a line that does not say so is named in the error.
pub(crate) fn recurring(body: &ItemRow) -> Result<Vec<(String, String)>, ServiceError> {
    let mut out = Vec::new();
    for line in text(body, "recurring_items").lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line.rsplit_once('|').map(|(t, s)| (t.trim(), s.trim())) {
            Some((title, service)) if !title.is_empty() && !service.is_empty() => {
                out.push((title.to_owned(), service.to_owned()));
            }
            _ => return Err(refuse(format!("recurring items: {line:?} is not \"Title | service\""))),
        }
    }
    Ok(out)
}

/// After a body is added or edited: its recurring items name services that exist.
pub(crate) fn check_recurring<'a>(work: &'a mut Work<'_>, body: &'a ItemRow) -> HookFuture<'a> {
    Box::pin(async move {
        let items = recurring(body)?;
        if items.is_empty() {
            return Ok(());
        }
        let services = crate::organisation::services(work).await?;
        match items.iter().find(|(_, s)| !services.iter().any(|x| &x.id == s)) {
            Some((title, s)) => Err(refuse(format!("recurring items: {title:?} names {s:?}, which is not a service"))),
            None => Ok(()),
        }
    })
}

/// A new meeting's recurring items: each written for its service, validated and
/// presented to the meeting, so that its agenda starts with them.
pub(crate) async fn add_recurring(work: &mut Work<'_>, meeting: &ItemRow) -> Result<(), ServiceError> {
    let body = crate::body_of(work, meeting).await?;
    for (title, service) in recurring(&body)? {
        let values = json!({"title": title, "proposing_group": service, "preferred_meeting": meeting.id});
        let values = values.as_object().expect("an object");
        let item = work.create(&body.path, crate::ITEM, values, Some("validated")).await?;
        crate::organisation::assign_roles(work, &item).await?;
        let req = TransitionRequest { comment: format!("{} (recurring item)", meeting.title), ..Default::default() };
        work.transition(&item.path, "present", &req).await?;
    }
    Ok(())
}

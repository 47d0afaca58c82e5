//! Meetings and deliberations (PloneMeeting's model, iA.Delib's states and transition
//! ids): a decision body (a college, a council) holds its meetings and its items; an
//! item goes `itemcreated → proposed → validated → presented → itemfrozen → accepted |
//! accepted_but_modified | refused | delayed`, a meeting `created → frozen → decided →
//! closed`. Everything is data (types, workflows, the MeetingManager role and the
//! "Meetings: manage meetings" permission, catalog indexes) except what the hooks do:
//!
//! - presenting an item puts it on its preferred meeting (or the body's next meeting
//!   not yet frozen), numbers it on that meeting's agenda and gives it a reference in
//!   the body's format (`{body}/{year}/{number}`); taking it back clears both;
//! - freezing a meeting freezes every item presented to it; closing it accepts every
//!   item still undecided (which needs its decision text);
//! - a decision is taken only on or after the meeting's date.
//!
//! The organisation (services and their groups) and the validation chain are in
//! [`organisation`].
//!
//! Not yet (issue 14): advices, attendance and votes, secret items' masking, the role
//! screens.

mod advices;
mod agenda;
mod assembly;
pub mod demo;
mod organisation;
mod pages;
mod templates;
mod vocabularies;

use beffroi_model::ItemPath;
use beffroi_model::security::Permission;
use beffroi_service::apps::App;
use beffroi_service::{
    CatalogQuery, Change, HookFuture, ItemHook, ItemRow, ItemView, ServiceError, TransitionHook, TransitionRequest,
    Transitioned, When, Work,
};
use beffroi_web::routes::{Access, Args, Call, Route};
use beffroi_web::{WebApp, WebError, item_handler};
use chrono::Utc;
use serde_json::{Value, json};

/// The item workflow's and the meeting workflow's ids.
pub(crate) const ITEM_WORKFLOW: &str = "meetingitem_workflow";
const MEETING_WORKFLOW: &str = "meeting_workflow";
/// The type of meetings.
pub(crate) const MEETING: &str = "Meeting";
/// The type of items.
pub(crate) const ITEM: &str = "Meeting Item";
/// The type of decision bodies.
pub(crate) const BODY: &str = "Decision Body";
/// The permission of meeting managers.
pub(crate) const MANAGE_MEETINGS: &str = "Meetings: manage meetings";

/// The application.
pub const MEETINGS: WebApp = WebApp {
    app: App {
        name: "meetings",
        enabled_by_default: false,
        roles: Some(("roles.json", include_str!("../roles.json"))),
        types: &[
            ("Organisation.json", include_str!("../types/Organisation.json")),
            ("Service.json", include_str!("../types/Service.json")),
            ("DecisionBody.json", include_str!("../types/DecisionBody.json")),
            ("Meeting.json", include_str!("../types/Meeting.json")),
            ("MeetingItem.json", include_str!("../types/MeetingItem.json")),
            ("MeetingAdvice.json", include_str!("../types/MeetingAdvice.json")),
            ("MeetingVote.json", include_str!("../types/MeetingVote.json")),
            ("MeetingAnnex.json", include_str!("../types/MeetingAnnex.json")),
            ("MeetingItemTemplate.json", include_str!("../types/MeetingItemTemplate.json")),
            ("Person.json", include_str!("../types/Person.json")),
            ("HeldPosition.json", include_str!("../types/HeldPosition.json")),
        ],
        workflows: &[
            ("meetingitem_workflow.json", include_str!("../workflows/meetingitem_workflow.json")),
            ("meeting_workflow.json", include_str!("../workflows/meeting_workflow.json")),
            ("meetingbody_workflow.json", include_str!("../workflows/meetingbody_workflow.json")),
            ("meetingadvice_workflow.json", include_str!("../workflows/meetingadvice_workflow.json")),
            ("meetingannex_workflow.json", include_str!("../workflows/meetingannex_workflow.json")),
            ("meetingorganisation_workflow.json", include_str!("../workflows/meetingorganisation_workflow.json")),
        ],
        chains: Some(("chains.json", include_str!("../chains.json"))),
        indexes: Some(("indexes.json", include_str!("../indexes.json"))),
        hooks: HOOKS,
        item_hooks: ITEM_HOOKS,
        vocabularies: vocabularies::VOCABULARIES,
        migrations: &[],
        access_checks: &[organisation::bodies_keep_a_manager],
    },
    routes,
    templates: &[
        ("MeetingItem.html", include_str!("../templates/MeetingItem.html")),
        ("Meeting.html", include_str!("../templates/Meeting.html")),
        ("DecisionBody.html", include_str!("../templates/DecisionBody.html")),
        ("meetings_search.html", include_str!("../templates/meetings_search.html")),
    ],
    messages: &[
        ("fr", include_str!("../locales/fr.ftl")),
        ("nl", include_str!("../locales/nl.ftl")),
        ("de", include_str!("../locales/de.ftl")),
        ("en", include_str!("../locales/en.ftl")),
    ],
    pages: pages::PAGES,
};

const ITEM_HOOKS: &[ItemHook] = &[
    ItemHook { type_name: organisation::SERVICE, on: Change::Added, run: organisation::service_added },
    ItemHook { type_name: BODY, on: Change::Added, run: organisation::body_added },
    ItemHook { type_name: BODY, on: Change::Added, run: agenda::check_recurring },
    ItemHook { type_name: BODY, on: Change::Edited, run: agenda::check_recurring },
    ItemHook { type_name: ITEM, on: Change::Added, run: organisation::item_changed },
    ItemHook { type_name: ITEM, on: Change::Edited, run: organisation::item_changed },
    ItemHook { type_name: ITEM, on: Change::Edited, run: advices::outdate },
    ItemHook { type_name: ITEM, on: Change::Edited, run: assembly::check_votes },
    ItemHook { type_name: assembly::VOTE, on: Change::Added, run: assembly::vote_added },
    ItemHook { type_name: assembly::VOTE, on: Change::Edited, run: assembly::check_votes },
    ItemHook { type_name: MEETING, on: Change::Edited, run: assembly::check_attendance },
    ItemHook { type_name: MEETING, on: Change::Added, run: organisation::meeting_added },
    ItemHook { type_name: ANNEX, on: Change::Added, run: annex_changed },
    ItemHook { type_name: ANNEX, on: Change::Edited, run: annex_changed },
    ItemHook { type_name: templates::TEMPLATE, on: Change::Added, run: templates::template_changed },
    ItemHook { type_name: templates::TEMPLATE, on: Change::Edited, run: templates::template_changed },
];

/// An item's annex (a file typed by the body).
pub(crate) const ANNEX: &str = "Meeting Annex";

/// After an annex is added or edited: it is on an item, and its state follows its
/// `confidential` flag (a confidential annex is read by the item's service, reviewers,
/// advisers and meeting managers only, in search too).
fn annex_changed<'a>(work: &'a mut Work<'_>, annex: &'a ItemRow) -> HookFuture<'a> {
    Box::pin(async move {
        let item = annex.path.parent().ok_or_else(|| refuse("an annex is on an item"))?;
        let parent = work.require(&item, Permission::View).await?.pop().expect("a lineage ends with its item");
        if parent.type_name != ITEM {
            return Err(refuse("an annex is on an item"));
        }
        let confidential = annex.fields.get("confidential").and_then(Value::as_bool).unwrap_or(false);
        let step = match (annex.review_state.as_deref(), confidential) {
            (Some("annex"), true) => "make_confidential",
            (Some("confidential_annex"), false) => "make_unconfidential",
            _ => return Ok(()),
        };
        work.transition(&annex.path, step, &TransitionRequest::default()).await?;
        Ok(())
    })
}

const HOOKS: &[TransitionHook] = &[
    TransitionHook { workflow: ITEM_WORKFLOW, transition: None, when: When::Guard, run: organisation::chain_guard },
    TransitionHook { workflow: ITEM_WORKFLOW, transition: None, when: When::After, run: organisation::transitioned },
    TransitionHook { workflow: ITEM_WORKFLOW, transition: None, when: When::After, run: advices::ask },
    TransitionHook {
        workflow: ITEM_WORKFLOW,
        transition: Some("present"),
        when: When::After,
        run: agenda::put_on_agenda,
    },
    TransitionHook {
        workflow: ITEM_WORKFLOW,
        transition: Some("backToValidated"),
        when: When::After,
        run: agenda::take_off_agenda,
    },
    TransitionHook { workflow: ITEM_WORKFLOW, transition: Some("accept"), when: When::Before, run: meeting_held },
    TransitionHook {
        workflow: ITEM_WORKFLOW,
        transition: Some("accept_but_modify"),
        when: When::Before,
        run: meeting_held,
    },
    TransitionHook { workflow: ITEM_WORKFLOW, transition: Some("refuse"), when: When::Before, run: meeting_held },
    TransitionHook { workflow: ITEM_WORKFLOW, transition: Some("delay"), when: When::Before, run: meeting_held },
    TransitionHook {
        workflow: ITEM_WORKFLOW,
        transition: Some("accept_but_modify"),
        when: When::Guard,
        run: decision_offered,
    },
    TransitionHook { workflow: ITEM_WORKFLOW, transition: Some("refuse"), when: When::Guard, run: decision_offered },
    TransitionHook { workflow: ITEM_WORKFLOW, transition: Some("delay"), when: When::Guard, run: decision_offered },
    TransitionHook {
        workflow: ITEM_WORKFLOW,
        transition: Some("return_to_proposing_group"),
        when: When::Guard,
        run: decision_offered,
    },
    TransitionHook {
        workflow: ITEM_WORKFLOW,
        transition: Some("backTo_presented_from_returned_to_proposing_group"),
        when: When::Guard,
        run: back_on_agenda,
    },
    TransitionHook {
        workflow: ITEM_WORKFLOW,
        transition: Some("backTo_itemfrozen_from_returned_to_proposing_group"),
        when: When::Guard,
        run: back_on_agenda,
    },
    TransitionHook { workflow: MEETING_WORKFLOW, transition: Some("close"), when: When::Before, run: none_returned },
    TransitionHook { workflow: ITEM_WORKFLOW, transition: Some("delay"), when: When::After, run: agenda::copy_delayed },
    TransitionHook { workflow: MEETING_WORKFLOW, transition: Some("freeze"), when: When::After, run: freeze_items },
    TransitionHook { workflow: MEETING_WORKFLOW, transition: Some("close"), when: When::After, run: accept_undecided },
];

pub(crate) fn refuse(message: impl Into<String>) -> ServiceError {
    ServiceError::BadRequest(message.into())
}

/// The id of the decision body an item or a meeting is in (its parent's).
pub(crate) fn body_id(item: &ItemRow) -> String {
    item.path.parent().and_then(|p| p.last().map(str::to_owned)).unwrap_or_default()
}

/// The strings of a list field (a multi-choice of ids: services, persons…).
pub(crate) fn list(item: &ItemRow, field: &str) -> Vec<String> {
    match item.fields.get(field) {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// The query of the meeting `item` is on (None when it is on none).
pub(crate) fn meeting_query(item: &ItemRow) -> Option<CatalogQuery> {
    let uid = uuid::Uuid::try_parse(text(item, "meeting")).ok()?;
    Some(CatalogQuery { uids: vec![uid], types: vec![MEETING.into()], ..Default::default() })
}

pub(crate) fn text<'a>(item: &'a ItemRow, field: &str) -> &'a str {
    item.fields.get(field).and_then(Value::as_str).unwrap_or("").trim()
}

pub(crate) fn meeting_date(meeting: &ItemRow) -> Option<chrono::DateTime<Utc>> {
    beffroi_model::schema::parse_datetime(text(meeting, "date"))
}

/// The meeting an item being presented goes to: its preferred one in its body, else
/// the body's earliest meeting still open to items.
pub(crate) async fn target_meeting(work: &mut Work<'_>, item: &ItemRow) -> Result<ItemRow, ServiceError> {
    let body = item.path.parent().ok_or_else(|| refuse("an item is presented from its decision body"))?;
    let preferred = text(item, "preferred_meeting");
    if !preferred.is_empty() {
        let path = ItemPath::parse(&format!("{}/{preferred}", body.as_str()))
            .map_err(|_| refuse(format!("{preferred:?} is not a meeting of this body")))?;
        let meeting = work
            .require(&path, Permission::View)
            .await
            .map_err(|_| refuse(format!("{preferred:?} is not a meeting of this body")))?
            .pop()
            .expect("a lineage ends with its item");
        if meeting.type_name != MEETING {
            return Err(refuse(format!("{preferred:?} is not a meeting of this body")));
        }
        if !matches!(meeting.review_state.as_deref(), Some("created" | "frozen")) {
            return Err(refuse(format!("the meeting {:?} takes no more items", meeting.title)));
        }
        return Ok(meeting);
    }
    let open = meetings_in(work, &body, &["created"]).await?;
    open.into_iter().next().ok_or_else(|| refuse("the body has no meeting open to items: create one first"))
}

/// The meetings of the body at `body` in one of `states`, soonest first. The site's
/// meetings in those states are few: found by type and state, then those of the body
/// kept (a query under the body would read its thousands of items).
pub(crate) async fn meetings_in(
    work: &Work<'_>,
    body: &ItemPath,
    states: &[&str],
) -> Result<Vec<ItemRow>, ServiceError> {
    let q = CatalogQuery {
        types: vec![MEETING.into()],
        states: states.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    };
    let mut found = work.find(q).await?;
    found.retain(|m| m.path.parent().as_ref() == Some(body));
    found.sort_by_key(meeting_date);
    Ok(found)
}

/// The meeting an item is on.
pub(crate) async fn meeting_of(work: &Work<'_>, item: &ItemRow) -> Result<ItemRow, ServiceError> {
    let q = meeting_query(item).ok_or_else(|| refuse("the item is on no meeting"))?;
    work.find(q).await?.into_iter().next().ok_or_else(|| refuse("the item's meeting is gone"))
}

/// Before a decision: the meeting has been held (its date has come).
fn meeting_held<'a>(work: &'a mut Work<'_>, item: &'a ItemRow, _: &'a Transitioned) -> HookFuture<'a> {
    Box::pin(async move {
        let meeting = meeting_of(work, item).await?;
        match meeting_date(&meeting) {
            Some(d) if d > work.now() => Err(refuse(format!(
                "a decision is recorded on or after the meeting's date ({})",
                d.format("%Y-%m-%d %H:%M UTC")
            ))),
            _ => Ok(()),
        }
    })
}

/// The decision body an item (or a meeting) is in.
pub(crate) async fn body_of(work: &mut Work<'_>, item: &ItemRow) -> Result<ItemRow, ServiceError> {
    let path = item.path.parent().ok_or_else(|| refuse("it lives in a decision body"))?;
    let body = work.require(&path, Permission::View).await?.pop().expect("a lineage ends with its item");
    if body.type_name != BODY {
        return Err(refuse("it lives in a decision body"));
    }
    Ok(body)
}

/// Guard of the optional decisions: those the body has on (all when it names none).
fn decision_offered<'a>(work: &'a mut Work<'_>, item: &'a ItemRow, t: &'a Transitioned) -> HookFuture<'a> {
    Box::pin(async move {
        let on = list(&body_of(work, item).await?, "decided_states");
        if on.is_empty() || on.contains(&t.to) {
            Ok(())
        } else {
            Err(refuse(format!("this body does not take the decision {:?}", t.to)))
        }
    })
}

/// Guard of an item's way back from its service: to "presented" while its meeting is
/// being prepared, to "frozen" once the meeting is frozen.
fn back_on_agenda<'a>(work: &'a mut Work<'_>, item: &'a ItemRow, t: &'a Transitioned) -> HookFuture<'a> {
    Box::pin(async move {
        let meeting = meeting_of(work, item).await?;
        let wanted = if meeting.review_state.as_deref() == Some("created") { "presented" } else { "itemfrozen" };
        if t.to == wanted { Ok(()) } else { Err(refuse(format!("the item goes back as {wanted:?}"))) }
    })
}

/// Before a meeting's "close": no item of it is still with its service.
fn none_returned<'a>(work: &'a mut Work<'_>, meeting: &'a ItemRow, _: &'a Transitioned) -> HookFuture<'a> {
    Box::pin(async move {
        let out = items_in_state(work, meeting, "returned_to_proposing_group").await?;
        match out.first() {
            None => Ok(()),
            Some(it) => Err(refuse(format!(
                "{} item(s) are still returned to their service, {:?} first: bring them back or take them off",
                out.len(),
                it.title
            ))),
        }
    })
}

/// The items on `meeting` in `state`.
async fn items_in_state(work: &Work<'_>, meeting: &ItemRow, state: &str) -> Result<Vec<ItemRow>, ServiceError> {
    work.find(CatalogQuery { states: vec![state.into()], ..agenda::on_meeting(meeting) }).await
}

/// Takes `transition` on every item of `meeting` in `state`, naming the item that
/// cannot.
async fn move_items(work: &mut Work<'_>, meeting: &ItemRow, state: &str, transition: &str) -> Result<(), ServiceError> {
    for it in items_in_state(work, meeting, state).await? {
        let req = TransitionRequest { comment: format!("{} ({})", meeting.title, transition), ..Default::default() };
        work.transition(&it.path, transition, &req).await.map_err(|e| match e {
            ServiceError::BadRequest(m) => refuse(format!("{}: {m}", it.title)),
            other => other,
        })?;
    }
    Ok(())
}

/// After a meeting's "freeze": its presented items are frozen.
fn freeze_items<'a>(work: &'a mut Work<'_>, meeting: &'a ItemRow, _: &'a Transitioned) -> HookFuture<'a> {
    Box::pin(async move { move_items(work, meeting, "presented", "itemfreeze").await })
}

/// After a meeting's "close": its undecided items are accepted.
fn accept_undecided<'a>(work: &'a mut Work<'_>, meeting: &'a ItemRow, _: &'a Transitioned) -> HookFuture<'a> {
    Box::pin(async move { move_items(work, meeting, "itemfrozen", "accept").await })
}

fn routes() -> Vec<Route> {
    vec![
        Route::get("@agenda", Args::None, item_handler!(agenda)).summary("a meeting's items in order, numbered"),
        Route::get("@attendees", Args::None, item_handler!(pages::attendees))
            .summary("a meeting's persons and whether they are present (on an item: less those absent for it)"),
        Route::get("@votes", Args::None, item_handler!(pages::votes))
            .summary("an item's vote with the minutes' sentence (on a meeting: those of its items)"),
        Route::post("@@move-item", Args::None, item_handler!(pages::move_item))
            .access(Access::SignedIn)
            .summary("moves an item (form fields item: its UID, direction: up or down) on this meeting's agenda"),
        Route::post("@@present", Args::None, item_handler!(pages::present))
            .access(Access::SignedIn)
            .summary("puts a validated item (form field item: its UID) on this meeting's agenda"),
        Route::get("@@items-search", Args::None, item_handler!(pages::items_search))
            .action_when("meetings-action-search", 35, |_, v| v.item.type_name == BODY)
            .summary("a body's items by state, meeting, service, category and words"),
        Route::post("@@validate-items", Args::None, item_handler!(pages::validate_items))
            .access(Access::SignedIn)
            .summary("a reviewer's batch action on a body's items to validate (form fields item: UIDs, action: forward or back)"),
        Route::post("@@from-template", Args::None, item_handler!(templates::from_template_form))
            .access(Access::SignedIn)
            .summary("a new item of the caller's from a body's item template (form field template: its id)"),
        Route::post("@from-template", Args::None, item_handler!(templates::from_template_json))
            .access(Access::SignedIn)
            .summary("the same for API clients (JSON {\"template\": its id}): 201 with the new item"),
    ]
}

/// `@agenda` on a meeting: the items the caller may see, by number.
async fn agenda<'r>(c: Call<'r>, view: &'r ItemView) -> Result<axum::response::Response, WebError> {
    let ctx = c.ctx();
    if view.item.type_name != MEETING {
        return Err(WebError::NotFound(ctx.url(&view.item.path)));
    }
    let services = ctx.services();
    let mut rows = services
        .search_rows(&ctx.principal, &ctx.site, agenda::on_meeting(&view.item))
        .await
        .map_err(|e| c.error(e))?;
    agenda::in_agenda_order(&mut rows);
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "@id": ctx.url(&r.path),
                "title": r.title,
                "number": agenda::number_of(r).map(agenda::number_text),
                "item_number": agenda::number_of(r),
                "late": text(r, "list_type") == "late",
                "reference": r.fields.get("reference"),
                "review_state": r.review_state,
                "proposing_group": r.fields.get("proposing_group"),
                "privacy": r.fields.get("privacy").cloned().unwrap_or_else(|| json!("public")),
            })
        })
        .collect();
    Ok(c.json(
        &json!({"@id": format!("{}/@agenda", ctx.url(&view.item.path)), "items": items, "items_total": items.len()}),
    ))
}

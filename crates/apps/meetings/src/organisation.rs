//! The commune's organisation and the validation chain (PloneMeeting's
//! collective.contact.plonegroup model): each service is a content item whose
//! functional groups are groups of the site, made with it and named
//! `<service id>_<suffix>` — its creators, its reviewers at each validation level, its
//! observers and its advisers. An item's proposing service decides who holds which
//! local role on it, recomputed at every change and transition; the body's
//! configuration decides which validation levels are on, and a level whose group has
//! nobody in it is skipped.

use beffroi_model::ItemPath;
use beffroi_model::security::{Grantee, Permission, Principal, Role};
use beffroi_service::{AccessCheckFuture, CatalogQuery, HookFuture, ItemRow, ServiceError, Transitioned, Work};
use chrono::Datelike;
use serde_json::Value;

use crate::{ITEM_WORKFLOW, MANAGE_MEETINGS, refuse, text};

/// The type of services.
pub(crate) const SERVICE: &str = "Service";

/// The states of the validation chain, in order, each with the suffix of the service's
/// group that validates there.
pub(crate) const LEVELS: [(&str, &str); 5] = [
    ("proposed", "reviewers"),
    ("proposedToValidationLevel1", "level1reviewers"),
    ("proposedToValidationLevel2", "level2reviewers"),
    ("proposedToValidationLevel3", "level3reviewers"),
    ("proposedToValidationLevel4", "level4reviewers"),
];

const CREATED: &str = "itemcreated";
const VALIDATED: &str = "validated";
/// Returned by the body to its service, which changes it again.
const RETURNED: &str = "returned_to_proposing_group";
/// The local role of an item's service and advisers: they read its personal data.
const STAFF: &str = "MeetingStaff";

/// A service's groups: suffix, the global role its members hold (they see the bodies
/// and meetings; creators also add items), and its name in the four languages.
const GROUPS: [(&str, &str, [&str; 4]); 8] = [
    ("creators", "MeetingMember", ["rédacteurs", "opstellers", "Verfasser", "creators"]),
    ("reviewers", "MeetingObserver", ["valideurs", "valideerders", "Prüfer", "reviewers"]),
    (
        "level1reviewers",
        "MeetingObserver",
        ["valideurs niveau 2", "valideerders niveau 2", "Prüfer Stufe 2", "reviewers level 2"],
    ),
    (
        "level2reviewers",
        "MeetingObserver",
        ["valideurs niveau 3", "valideerders niveau 3", "Prüfer Stufe 3", "reviewers level 3"],
    ),
    (
        "level3reviewers",
        "MeetingObserver",
        ["valideurs niveau 4", "valideerders niveau 4", "Prüfer Stufe 4", "reviewers level 4"],
    ),
    (
        "level4reviewers",
        "MeetingObserver",
        ["valideurs niveau 5", "valideerders niveau 5", "Prüfer Stufe 5", "reviewers level 5"],
    ),
    ("observers", "MeetingObserver", ["observateurs", "waarnemers", "Beobachter", "observers"]),
    ("advisers", "MeetingObserver", ["conseillers", "adviseurs", "Berater", "advisers"]),
];

/// The site group of `service`'s function `suffix`.
pub(crate) fn group_id(service: &str, suffix: &str) -> String {
    format!("{service}_{suffix}")
}

fn role(name: &str) -> Result<Role, ServiceError> {
    Role::parse(name).map_err(|e| ServiceError::BadRequest(e.to_string()))
}

/// The services of the site, every level of the tree.
pub(crate) async fn services(work: &Work<'_>) -> Result<Vec<ItemRow>, ServiceError> {
    work.find(CatalogQuery { types: vec![SERVICE.into()], ..Default::default() }).await
}

/// After a service is added: its id is unique among the site's services (it names its
/// groups and items name it), and its groups exist.
pub(crate) fn service_added<'a>(work: &'a mut Work<'_>, service: &'a ItemRow) -> HookFuture<'a> {
    Box::pin(async move {
        if services(work).await?.iter().any(|s| s.id == service.id && s.uuid != service.uuid) {
            return Err(ServiceError::Conflict(format!("another service is already called {:?}", service.id)));
        }
        let lang = work.site().language.code();
        let i = ["fr", "nl", "de", "en"].iter().position(|l| *l == lang).unwrap_or(0);
        for (suffix, global, names) in GROUPS {
            let title = format!("{} — {}", service.title, names[i]);
            work.ensure_group(&group_id(&service.id, suffix), &title, &[role(global)?]).await?;
        }
        Ok(())
    })
}

/// The service an item names, which must exist.
async fn service_of(work: &Work<'_>, item: &ItemRow) -> Result<ItemRow, ServiceError> {
    let id = text(item, "proposing_group");
    services(work)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| refuse(format!("{id:?} is not a service of the organisation")))
}

/// Whether the actor may manage the meetings of the body holding `item`.
async fn manages(work: &mut Work<'_>, item: &ItemRow) -> Result<bool, ServiceError> {
    let body = item.path.parent().unwrap_or_else(ItemPath::root);
    let p = Permission::parse(MANAGE_MEETINGS).expect("the application declares it");
    work.actor_may(&body, p).await
}

fn in_group(actor: &Principal, group: &str) -> bool {
    match actor {
        Principal::System => true,
        Principal::User { groups, .. } => groups.iter().any(|g| g == group),
        Principal::Anonymous => false,
    }
}

/// After an item is added or edited: its service exists and, when the change names it,
/// the actor writes for it (a creator of the service, or a meeting manager of the
/// body); then its local roles.
pub(crate) fn item_changed<'a>(work: &'a mut Work<'_>, item: &'a ItemRow) -> HookFuture<'a> {
    Box::pin(async move {
        let service = service_of(work, item).await?;
        let creators = group_id(&service.id, "creators");
        // Whoever may edit it edits it; naming a service (at creation, or another one
        // later) is for its creators and the meeting managers.
        let named = !item.local_roles.0.contains_key(&Grantee::Group(creators.clone()).key());
        if named && !in_group(work.actor(), &creators) && !manages(work, item).await? {
            return Err(ServiceError::Forbidden(format!(
                "only the creators of {} propose items in its name",
                service.title
            )));
        }
        // The service's alderman is the item's group in charge (PloneMeeting's
        // groupsInCharge), as the item is written or edited.
        let in_charge = text(&service, "in_charge");
        if text(item, "in_charge") != in_charge {
            work.set_fields(&item.path, serde_json::json!({"in_charge": in_charge}).as_object().expect("an object"))
                .await?;
        }
        assign_roles(work, item).await
    })
}

/// After any transition of an item: its local roles follow its new state.
pub(crate) fn transitioned<'a>(work: &'a mut Work<'_>, item: &'a ItemRow, _: &'a Transitioned) -> HookFuture<'a> {
    Box::pin(assign_roles(work, item))
}

/// Who holds what on an item, from its service's groups (PloneMeeting's
/// `update_local_roles`): creators edit it while it is being written and read it
/// after; the group of the level it waits at reviews it; the other levels' groups read
/// it once proposed; observers read it unless it is secret. Grants to another
/// service's groups (the item changed service) are taken back.
pub(crate) async fn assign_roles(work: &mut Work<'_>, item: &ItemRow) -> Result<(), ServiceError> {
    let service = text(item, "proposing_group").to_owned();
    let state = item.review_state.clone().unwrap_or_default();
    let secret = text(item, "privacy") == "secret";
    let mine = |suffix: &str| group_id(&service, suffix);
    let mut grants: Vec<(String, Vec<Role>)> = Vec::new();
    let created = state == CREATED;
    // Its service and advisers also read the personal data in it; observers do not.
    let staff = role(STAFF)?;
    // Its service writes it, and again when the body returns it to the service.
    let writing = created || state == RETURNED;
    grants.push((
        mine("creators"),
        if writing { vec![Role::Editor, Role::Reader, staff] } else { vec![Role::Reader, staff] },
    ));
    for (level, suffix) in LEVELS {
        let roles = if state == level {
            vec![Role::Reviewer, Role::Reader, staff]
        } else if created {
            Vec::new()
        } else {
            vec![Role::Reader, staff]
        };
        grants.push((mine(suffix), roles));
    }
    grants.push((mine("observers"), if secret { Vec::new() } else { vec![Role::Reader] }));
    // The body's observers (its aldermen, say) read what is on an agenda, unless secret.
    if let Some(body) = item.path.parent().and_then(|b| b.last().map(str::to_owned)) {
        let on_agenda = !created && !LEVELS.iter().any(|(l, _)| *l == state) && state != VALIDATED;
        grants.push((
            group_id(&body, "powerobservers"),
            if on_agenda && !secret { vec![Role::Reader] } else { Vec::new() },
        ));
    }
    // The services whose advice it asks read it once it has left its service.
    let advisers: Vec<String> =
        crate::advices::advisers(work, item).await?.iter().map(|a| group_id(a, "advisers")).collect();
    for g in &advisers {
        grants.push((g.clone(), if created { Vec::new() } else { vec![Role::Reader, staff] }));
    }
    // Another service's groups that still hold roles here lose them.
    let stale: Vec<String> = item
        .local_roles
        .0
        .keys()
        .filter_map(|k| k.strip_prefix("group:"))
        .filter(|g| !advisers.iter().any(|a| a == g))
        .filter(|g| {
            GROUPS
                .iter()
                .any(|(s, _, _)| g.strip_suffix(s).and_then(|p| p.strip_suffix('_')).is_some_and(|p| p != service))
        })
        .map(str::to_owned)
        .collect();
    grants.extend(stale.into_iter().map(|g| (g, Vec::new())));
    let grants: Vec<(Grantee, Vec<Role>)> = grants.into_iter().map(|(g, roles)| (Grantee::Group(g), roles)).collect();
    work.share(&item.path, &grants).await
}

/// The states of the chain an item goes through: created, the body's levels that are
/// on and have someone in the service's group, validated.
async fn chain(work: &mut Work<'_>, item: &ItemRow) -> Result<Vec<&'static str>, ServiceError> {
    let body_path = item.path.parent().ok_or_else(|| refuse("an item lives in its decision body"))?;
    let body = work.require(&body_path, Permission::View).await?.pop().expect("a lineage ends with its item");
    let on: Vec<String> = match body.fields.get("validation_levels") {
        Some(Value::Array(levels)) => levels.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => vec![LEVELS[0].0.to_owned()],
    };
    let service = text(item, "proposing_group").to_owned();
    let mut states = vec![CREATED];
    for (level, suffix) in LEVELS {
        if on.iter().any(|l| l == level) && !work.group_members(&group_id(&service, suffix)).await?.is_empty() {
            states.push(level);
        }
    }
    states.push(VALIDATED);
    Ok(states)
}

/// The transition of the validation chain that takes `item` one step forward (to the
/// next level in force, or validated) or back (to the previous one); None at either end.
pub(crate) async fn chain_step(
    work: &mut Work<'_>,
    item: &ItemRow,
    forward: bool,
) -> Result<Option<String>, ServiceError> {
    let Some(from) = item.review_state.as_deref().and_then(rank) else { return Ok(None) };
    let states = chain(work, item).await?;
    let to = if forward {
        states.iter().find(|s| rank(s).is_some_and(|r| r > from))
    } else {
        states.iter().rev().find(|s| rank(s).is_some_and(|r| r < from))
    };
    Ok(to.and_then(|to| work.transition_to(item, to)))
}

/// Where a state stands in the full chain (created, the five levels, validated).
fn rank(state: &str) -> Option<usize> {
    std::iter::once(CREATED).chain(LEVELS.iter().map(|(l, _)| *l)).chain([VALIDATED]).position(|s| s == state)
}

/// Guard of the validation chain's transitions: forward only to the next level in
/// force, back only to the previous one (levels off or with nobody are skipped).
pub(crate) fn chain_guard<'a>(work: &'a mut Work<'_>, item: &'a ItemRow, t: &'a Transitioned) -> HookFuture<'a> {
    Box::pin(async move {
        if t.workflow != ITEM_WORKFLOW {
            return Ok(());
        }
        let (Some(from), Some(to)) = (rank(&t.from), rank(&t.to)) else { return Ok(()) };
        let states = chain(work, item).await?;
        let expected = if to > from {
            states.iter().find(|s| rank(s).is_some_and(|r| r > from))
        } else {
            states.iter().rev().find(|s| rank(s).is_some_and(|r| r < from))
        };
        match expected {
            Some(s) if *s == t.to => Ok(()),
            Some(s) => Err(refuse(format!("the item goes to {s:?} next, not {:?}", t.to))),
            None => Err(refuse("the item has nowhere to go from here")),
        }
    })
}

/// After a decision body is added: its groups, `<body>_meetingmanagers` (holding the
/// MeetingManager role on the body) and `<body>_powerobservers` (who read its items
/// once on an agenda, secret ones excepted), as PloneMeeting's configuration groups.
pub(crate) fn body_added<'a>(work: &'a mut Work<'_>, body: &'a ItemRow) -> HookFuture<'a> {
    Box::pin(async move {
        let lang = work.site().language.code();
        let i = ["fr", "nl", "de", "en"].iter().position(|l| *l == lang).unwrap_or(0);
        let managers = ["gestionnaires des séances", "zittingsbeheerders", "Sitzungsverwaltung", "meeting managers"][i];
        let observers = ["observateurs", "waarnemers", "Beobachter", "observers"][i];
        let manager_role = role("MeetingManager")?;
        let managers_group = group_id(&body.id, "meetingmanagers");
        work.ensure_group(&managers_group, &format!("{} — {managers}", body.title), &[]).await?;
        let observer_role = role("MeetingObserver")?;
        let title = format!("{} — {observers}", body.title);
        work.ensure_group(&group_id(&body.id, "powerobservers"), &title, &[observer_role]).await?;
        work.share(&body.path, &[(Grantee::Group(managers_group), vec![manager_role])]).await
    })
}

/// Asked by the platform on every change of users, groups and sharing: each decision
/// body keeps someone who manages its meetings. A change that would take a body's
/// last meeting manager away is refused; a new body, whose group is still empty, is
/// not a change's doing and is not held against the next one.
pub(crate) fn bodies_keep_a_manager<'a>(work: &'a mut Work<'_>) -> AccessCheckFuture<'a> {
    Box::pin(async move {
        let bodies = work.find(CatalogQuery { types: vec![crate::BODY.into()], ..Default::default() }).await?;
        let manager = role("MeetingManager")?;
        let mut problems = Vec::new();
        for body in bodies {
            if work.holders(&body.path, manager).await?.is_empty() {
                problems.push(format!("{} ({}) would have no meeting manager", body.title, body.path));
            }
        }
        Ok(problems)
    })
}

/// After a meeting is added: only the body's meeting managers plan meetings; the
/// body's recurring items go on its agenda.
pub(crate) fn meeting_added<'a>(work: &'a mut Work<'_>, meeting: &'a ItemRow) -> HookFuture<'a> {
    Box::pin(async move {
        if !manages(work, meeting).await? {
            return Err(ServiceError::Forbidden("only the body's meeting managers plan its meetings".into()));
        }
        // Its number, 1, 2, 3… per body and year; without a place, the body's usual one
        // (the first of its places).
        let body = crate::body_of(work, meeting).await?;
        let year = crate::meeting_date(meeting).unwrap_or_else(|| work.now()).year();
        let number = work.next_number(&format!("meeting:{}:{year}", body.uuid.simple())).await?;
        let mut values = serde_json::json!({"meeting_number": number});
        if text(meeting, "place").trim().is_empty()
            && let Some(place) = text(&body, "places").lines().map(str::trim).find(|l| !l.is_empty())
        {
            values["place"] = place.into();
        }
        work.set_fields(&meeting.path, values.as_object().expect("an object")).await?;
        crate::agenda::add_recurring(work, meeting).await
    })
}

//! Applications plug in: one defined here, in test code and data only, runs on both
//! backends without a change to web, service or store. What its types get from the
//! platform: every rich-text field shown, searchable, versioned, its links kept by UID.

use beffroi_model::security::{Principal, Role};
use beffroi_service::apps::App;
use beffroi_service::{
    AppMigration, CatalogQuery, EventKind, HookFuture, ItemRow, ItemView, ServiceError, Services, Term, TransitionHook,
    TransitionRequest, Transitioned, Vocabulary, VocabularyFuture, When, Work,
};
use beffroi_web::routes::{Access, Args, Call, Route};
use beffroi_web::{WebApp, WebError, item_handler, minijinja};
use serde_json::json;

use crate::both_backends;
use crate::support::{TestApp, TestDb, obj, path};

/// "Citizen requests": a type with two rich-text fields, its own workflow, a JSON
/// endpoint, an HTML view, its own page template and messages.
const REQUEST_TYPE: &str = r#"{
  "id": "Citizen Request",
  "title": {"fr": "Demande citoyenne", "en": "Citizen request"},
  "behaviors": ["basic", "versioning"],
  "fields": [
    {"name": "request", "kind": "richtext", "title": {"fr": "Demande", "en": "Request"}},
    {"name": "answer", "kind": "richtext", "title": {"fr": "Réponse", "en": "Answer"}},
    {"name": "district", "kind": "textline", "searchable": true, "title": {"fr": "Quartier"}},
    {"name": "number", "kind": "textline", "readonly": true, "title": {"fr": "Numéro", "en": "Number"}},
    {"name": "channel", "kind": "choice", "vocabulary": "requests.channels", "title": {"fr": "Reçue par", "en": "Received through"}},
    {"name": "copies", "kind": "multichoice", "vocabulary": "requests.channels", "title": {"fr": "Copies par", "en": "Copies through"}},
    {"name": "urgent", "kind": "boolean", "title": {"fr": "Urgente", "en": "Urgent"}},
    {"name": "noticed", "kind": "date", "title": {"fr": "Constaté le", "en": "Noticed on"}},
    {"name": "households", "kind": "integer", "title": {"fr": "Ménages concernés", "en": "Households"}}
  ]
}"#;

const REQUEST_WORKFLOW: &str = r#"{
  "id": "request_workflow",
  "title": {"fr": "Traitement des demandes", "en": "Request handling"},
  "initial_state": "received",
  "states": [
    {"id": "received", "title": {"fr": "Reçue", "en": "Received"},
     "permissions": {"View": {"roles": ["Manager", "Site Administrator", "Owner", "Editor", "Request Handler"], "acquire": false},
                     "Modify portal content": {"roles": ["Request Handler"], "acquire": true}}},
    {"id": "registered", "title": {"fr": "Enregistrée", "en": "Registered"},
     "permissions": {"View": {"roles": ["Manager", "Site Administrator", "Owner", "Editor", "Request Handler"], "acquire": false},
                     "Modify portal content": {"roles": ["Request Handler"], "acquire": true}}},
    {"id": "answered", "title": {"fr": "Répondue", "en": "Answered"},
     "permissions": {"View": {"roles": ["Anonymous"], "acquire": false}}}
  ],
  "transitions": [
    {"id": "register", "title": {"fr": "Enregistrer", "en": "Register"}, "from": ["received"], "to": "registered",
     "guard": {"permissions": ["Handle requests"]}},
    {"id": "answer", "title": {"fr": "Répondre", "en": "Answer"}, "from": ["received", "registered"], "to": "answered",
     "guard": {"permissions": ["Modify portal content"], "expression": "item.answer and container.review_state != 'private'"}}
  ]
}"#;

/// Its catalog indexes: the district as a keyword, urgency, the date of the facts.
const REQUEST_INDEXES: &str = r#"{
  "district": {"kind": "keyword", "title": {"fr": "Quartier", "en": "District"}},
  "urgent": {"kind": "boolean", "title": {"fr": "Urgente", "en": "Urgent"}},
  "noticed": {"kind": "date", "title": {"fr": "Constaté le", "en": "Noticed on"}},
  "households": {"kind": "number", "title": {"fr": "Ménages concernés", "en": "Households"}}
}"#;

/// Its role and permission: request handlers handle requests (and may be given the
/// role on a folder by its managers).
const REQUEST_ROLES: &str = r#"{
  "roles": {"Request Handler": {"sharable": true, "delegated_by": ["Manager", "Site Administrator"]}},
  "permissions": {"Handle requests": {"roles": ["Manager", "Site Administrator", "Request Handler"]}}
}"#;

const REQUEST_CHAIN: &str = r#"{"Citizen Request": "request_workflow"}"#;

/// The item page of a request: its own template.
const REQUEST_PAGE: &str = r#"{% extends "item.html" %}{% block body %}<div class="citizen-request"><p class="request-label">{{ _("request-page-label") }}</p>{% include "rich_texts.html" %}</div>{% endblock %}"#;

/// The list of requests (the application's HTML view).
const REQUESTS_PAGE: &str = r#"{% extends "base.html" %}{% block content %}<h1>{{ title }}</h1><ul class="requests">{% for r in requests %}<li>{{ r }}</li>{% endfor %}</ul>{% endblock %}"#;

pub const REQUESTS: WebApp = WebApp {
    app: App {
        name: "requests",
        enabled_by_default: false,
        roles: Some(("roles.json", REQUEST_ROLES)),
        types: &[("CitizenRequest.json", REQUEST_TYPE)],
        workflows: &[("request_workflow.json", REQUEST_WORKFLOW)],
        chains: Some(("chains.json", REQUEST_CHAIN)),
        indexes: Some(("indexes.json", REQUEST_INDEXES)),
        hooks: &[
            TransitionHook {
                workflow: "request_workflow",
                transition: Some("register"),
                when: When::Before,
                run: needs_a_district,
            },
            TransitionHook {
                workflow: "request_workflow",
                transition: Some("register"),
                when: When::After,
                run: number,
            },
        ],
        item_hooks: &[],
        vocabularies: &[Vocabulary { name: "requests.channels", terms: channels }],
        migrations: &[AppMigration {
            version: 1,
            description: "notes on requests",
            sqlite: "create table requests_notes (request blob not null, note text not null); create index requests_notes_request on requests_notes(request);",
            postgres: "create table requests_notes (request uuid not null, note text not null); create index requests_notes_request on requests_notes(request);",
        }],
        access_checks: &[],
    },
    routes: request_routes,
    templates: &[("CitizenRequest.html", REQUEST_PAGE), ("requests.html", REQUESTS_PAGE)],
    messages: &[
        (
            "fr",
            "request-page-label = Demande d'un citoyen\nrequests-title = Demandes citoyennes\nrole-name-request-handler = Agent traitant",
        ),
        ("en", "request-page-label = A citizen's request\nrequests-title = Citizen requests"),
    ],
    pages: &[],
};

/// The ways a request comes in: the desk and e-mail anywhere; the phone too in a
/// folder that says so (its description), and only for request handlers.
fn channels<'a>(work: &'a mut Work<'_>, context: &'a ItemRow) -> VocabularyFuture<'a> {
    Box::pin(async move {
        let term = |t: &str, title: &str| Term { token: t.into(), title: title.into() };
        let mut terms = vec![term("desk", "Guichet"), term("mail", "Courriel")];
        let handles = beffroi_model::security::Permission::parse("Handle requests").expect("declared");
        if context.description.contains("phone") && work.actor_may(&context.path, handles).await? {
            terms.push(term("phone", "Téléphone"));
        }
        Ok(terms)
    })
}

/// Before "register": a request is registered with its district.
fn needs_a_district<'a>(_: &'a mut Work<'_>, item: &'a ItemRow, _: &'a Transitioned) -> HookFuture<'a> {
    Box::pin(async move {
        match item.fields.get("district").and_then(|d| d.as_str()) {
            Some(d) if !d.trim().is_empty() => Ok(()),
            _ => Err(ServiceError::BadRequest("a request is registered with its district".into())),
        }
    })
}

/// After "register": the request's number, per year (2026-0001, 2026-0002…).
fn number<'a>(work: &'a mut Work<'_>, item: &'a ItemRow, _: &'a Transitioned) -> HookFuture<'a> {
    Box::pin(async move {
        let year = work.now().format("%Y").to_string();
        let n = work.next_number(&format!("requests-{year}")).await?;
        work.set_fields(&item.path, &obj(json!({"number": format!("{year}-{n:04}")}))).await?;
        Ok(())
    })
}

fn request_routes() -> Vec<Route> {
    vec![
        Route::get("@request-count", Args::None, item_handler!(request_count))
            .summary("how many requests the caller sees"),
        Route::get("@@requests", Args::None, item_handler!(requests_page))
            .access(Access::SignedIn)
            .summary("the requests the caller sees")
            .action("requests-title", 90)
            .on_site(),
    ]
}

/// The requests the caller may see, through the platform's catalog.
async fn visible_requests(c: &Call<'_>) -> Result<Vec<String>, WebError> {
    let ctx = c.ctx();
    let q = beffroi_service::CatalogQuery { types: vec!["Citizen Request".into()], limit: 100, ..Default::default() };
    let page = ctx.services().search(&ctx.principal, &ctx.site, q).await.map_err(|e| c.error(e))?;
    Ok(page.items.into_iter().map(|s| s.title).collect())
}

async fn request_count<'r>(c: Call<'r>, _: &'r ItemView) -> Result<axum::response::Response, WebError> {
    let n = visible_requests(&c).await?.len();
    Ok(c.json(&json!({"count": n})))
}

async fn requests_page<'r>(c: Call<'r>, _: &'r ItemView) -> Result<axum::response::Response, WebError> {
    let requests = visible_requests(&c).await?;
    c.page("requests.html", minijinja::context! { title => c.t("requests-title"), requests => requests })
}

/// The requests application as it was before it declared indexes.
const REQUESTS_WITHOUT_INDEXES: WebApp = WebApp { app: App { indexes: None, ..REQUESTS.app }, ..REQUESTS };

/// The services and the web application with the requests application.
async fn with_requests(db: &TestDb) -> (Services, TestApp) {
    with(db, REQUESTS).await
}

async fn with(db: &TestDb, app: WebApp) -> (Services, TestApp) {
    let services = beffroi_web::assemble(db.services.clone(), &[app]).unwrap();
    services.migrate_apps().await.unwrap();
    let state =
        beffroi_web::AppState::load_apps(services.clone(), beffroi_web::WebOptions::default(), &[app]).await.unwrap();
    (services, TestApp::with_state(state))
}

/// A type with two rich-text fields under other names than `text`.
const DECISION: &str = r#"{
  "id": "Decision",
  "title": {"fr": "Décision", "en": "Decision"},
  "behaviors": ["basic", "versioning"],
  "fields": [
    {"name": "motivation", "kind": "richtext", "title": {"fr": "Motivation", "en": "Grounds"}},
    {"name": "decision", "kind": "richtext", "title": {"fr": "Dispositif", "en": "Decision"}},
    {"name": "reference", "kind": "textline", "title": {"fr": "Référence"}}
  ]
}"#;

/// "Agenda": types of another application that get by declaration what the content
/// application's Event and Collection get, under field names of their own.
const HEARING: &str = r#"{
  "id": "Hearing",
  "title": {"fr": "Audience", "en": "Hearing"},
  "behaviors": ["basic"],
  "fields": [
    {"name": "opens", "kind": "datetime", "metadata": "start", "title": {"fr": "Ouverture"}},
    {"name": "closes", "kind": "datetime", "metadata": "end", "title": {"fr": "Clôture"}},
    {"name": "hall", "kind": "textline", "metadata": "hall", "title": {"fr": "Salle"}},
    {"name": "sessions", "kind": "text", "widget": "recurrence", "title": {"fr": "Séances"}}
  ]
}"#;

const HEARING_ROLL: &str = r#"{
  "id": "Hearing Roll",
  "title": {"fr": "Rôle des audiences", "en": "Hearing roll"},
  "behaviors": ["basic"],
  "fields": [
    {"name": "which", "kind": "query", "title": {"fr": "Critères"}},
    {"name": "order", "kind": "choice", "choices": ["sortable_title", "start"], "query": "sort_on", "title": {"fr": "Ordre"}},
    {"name": "latest_first", "kind": "boolean", "query": "sort_reversed", "title": {"fr": "Les dernières d'abord"}},
    {"name": "at_most", "kind": "integer", "query": "limit", "title": {"fr": "Au plus"}},
    {"name": "per_page", "kind": "integer", "query": "batch_size", "title": {"fr": "Par page"}}
  ]
}"#;

const AGENDA: WebApp = WebApp {
    app: App {
        name: "agenda",
        enabled_by_default: true,
        roles: None,
        types: &[("Hearing.json", HEARING), ("HearingRoll.json", HEARING_ROLL)],
        workflows: &[],
        chains: Some(("chains.json", r#"{"Hearing": "one_state", "Hearing Roll": "one_state"}"#)),
        indexes: None,
        hooks: &[],
        item_hooks: &[],
        vocabularies: &[],
        migrations: &[],
        access_checks: &[],
    },
    routes: Vec::new,
    templates: &[],
    messages: &[],
    pages: &[],
};

both_backends! {
    async fn an_application_runs_where_it_is_enabled(db) {
        let (services, app) = with_requests(&db).await;
        let (on, off) = (db.site("on").await, db.site("off").await);
        for s in [&on, &off] {
            db.user(s, "admin", "admin password", "Admin", &[Role::Manager]).await;
        }
        // Disabled by default: nowhere yet.
        assert_eq!(services.site_apps(&on), [("cms", true), ("requests", false)]);
        let enabled = services.set_site_apps(&Principal::System, &on, &["requests".into()], &[]).await.unwrap();
        assert_eq!(enabled, ["cms", "requests"]);
        let e = services.set_site_apps(&Principal::System, &on, &["nope".into()], &[]).await.unwrap_err();
        assert!(e.to_string().contains("unknown application \"nope\" (this server has: cms, requests)"), "{e}");
        let on = services.site(&on.id).await.unwrap().unwrap();
        assert_eq!(services.site_apps(&on), [("cms", true), ("requests", true)]);

        let (c_on, c_off) = (app.session_on("on", "admin", "admin password").await, app.session_on("off", "admin", "admin password").await);
        let auth_on = app.bearer("on", "admin", "admin password").await;
        let auth_off = app.bearer("off", "admin", "admin password").await;

        // Its type: addable where enabled, absent elsewhere.
        let types = |site: &str, auth: &str| {
            let (app, uri, auth) = (&app, format!("/{site}/@types"), auth.to_owned());
            async move { app.get_with(&uri, &[("authorization", &auth)]).await.json() }
        };
        let ids = |v: serde_json::Value| v.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        assert!(ids(types("on", &auth_on).await).contains(&"Citizen Request".to_owned()));
        assert!(!ids(types("off", &auth_off).await).contains(&"Citizen Request".to_owned()));
        assert_eq!(app.get_with("/off/@types/Citizen%20Request", &[("authorization", &auth_off)]).await.status, 404);
        assert_eq!(app.get_with("/on/@types/Citizen%20Request", &[("authorization", &auth_on)]).await.status, 200);
        let r = app.send_json("POST", "/off", &auth_off, json!({"@type": "Citizen Request", "title": "Nid-de-poule"})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        let home_off = app.get_with("/off", &[("cookie", &c_off)]).await.body;
        assert!(!home_off.contains("Demande citoyenne") && !home_off.contains("@@requests"), "no add entry, no view entry");

        // Created where enabled, following its own workflow.
        let r = app.send_json("POST", "/on", &auth_on, json!({
            "@type": "Citizen Request",
            "title": "Nid-de-poule rue Haute",
            "request": {"content-type": "text/html", "data": "<p>Un trou profond devant le numéro 12</p>"},
            "district": "Jambes",
        })).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.json()["review_state"], "received", "{}", r.body);
        let wf = app.get_with("/on/nid-de-poule-rue-haute/@workflow", &[("authorization", &auth_on)]).await.json();
        assert_eq!(wf["state"]["title"], "Reçue");
        // Its guard expression: no answer yet, no "answer" transition.
        assert_eq!(wf["transitions"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect::<Vec<_>>(), ["Enregistrer"], "{wf}");
        let r = app.send_json("POST", "/on/nid-de-poule-rue-haute/@workflow/answer", &auth_on, json!({})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.json()["message"].as_str().unwrap().contains("item.answer"), "{}", r.body);
        let r = app.send_json("PATCH", "/on/nid-de-poule-rue-haute", &auth_on, json!({
            "answer": {"content-type": "text/html", "data": "<p>Réparé le 12 décembre</p>"},
        })).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let wf = app.get_with("/on/nid-de-poule-rue-haute/@workflow", &[("authorization", &auth_on)]).await.json();
        assert!(wf["transitions"].as_array().unwrap().iter().any(|t| t["title"] == "Répondre"), "{wf}");
        assert_eq!(app.get("/on/nid-de-poule-rue-haute").await.status, 302, "private to visitors until answered");

        // Its page: its own template and messages, both rich-text fields under labels.
        let page = app.get_with("/on/nid-de-poule-rue-haute", &[("cookie", &c_on)]).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("class=\"citizen-request\"") && page.body.contains("Demande d&#39;un citoyen"), "{}", page.body);
        assert!(page.body.contains("Un trou profond"));
        assert!(page.body.contains("/on/@@requests"), "its view is in the toolbar");

        // Its endpoint and view, on the enabled site only.
        assert_eq!(app.get_with("/on/@request-count", &[("authorization", &auth_on)]).await.json(), json!({"count": 1}));
        assert_eq!(app.get("/on/@request-count").await.json(), json!({"count": 0}), "the catalog's security filter holds");
        let view = app.get_with("/on/@@requests", &[("cookie", &c_on)]).await;
        assert!(view.body.contains("<h1>Demandes citoyennes</h1>") && view.body.contains("<li>Nid-de-poule rue Haute</li>"), "{}", view.body);
        let r = app.get_with("/off/@request-count", &[("authorization", &auth_off)]).await;
        assert_eq!((r.status.as_u16(), r.json()["type"].as_str()), (404, Some("NotFound")));
        assert_eq!(app.get_with("/off/@@requests", &[("cookie", &c_off)]).await.status, 404);

        // Searchable by its fields, answered through its own workflow.
        let found = app.get_with("/on/@search?SearchableText=jambes", &[("authorization", &auth_on)]).await.json();
        assert_eq!(found["items_total"], 1);
        let r = app.send_json("POST", "/on/nid-de-poule-rue-haute/@workflow/answer", &auth_on, json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(app.get("/on/nid-de-poule-rue-haute").await.status, 200);

        // Disabled again: gone from the site, its content kept.
        services.set_site_apps(&Principal::System, &on, &[], &["requests".into()]).await.unwrap();
        assert_eq!(app.get_with("/on/@request-count", &[("authorization", &auth_on)]).await.status, 404);
        assert!(!ids(types("on", &auth_on).await).contains(&"Citizen Request".to_owned()));
        assert!(services.item(&Principal::System, &services.site(&on.id).await.unwrap().unwrap(), &path("/nid-de-poule-rue-haute")).await.is_ok());
    }

    async fn hooks_refuse_and_number_requests_inside_the_transition(db) {
        let (services, app) = with_requests(&db).await;
        let s = db.site("s").await;
        services.set_site_apps(&Principal::System, &s, &["requests".into()], &[]).await.unwrap();
        let s = services.site(&s.id).await.unwrap().unwrap();
        db.user(&s, "clerk", "clerk password", "Clerk", &[Role::Manager]).await;
        let clerk = Principal::user("clerk", &[Role::Manager]);
        let request = |id: &'static str, district: &'static str| {
            let (services, s) = (services.clone(), s.clone());
            async move {
                services
                    .create(&Principal::System, &s, &path(""), "Citizen Request", Some(id), &obj(json!({"title": id, "district": district})))
                    .await
                    .unwrap()
                    .path
            }
        };
        let register = |p: beffroi_model::ItemPath| {
            let (services, s, clerk) = (services.clone(), s.clone(), clerk.clone());
            async move { services.transition(&clerk, &s, &p, "register", TransitionRequest::default()).await }
        };
        let state_and_number = |p: beffroi_model::ItemPath| {
            let (services, s) = (services.clone(), s.clone());
            async move {
                let item = services.item(&Principal::System, &s, &p).await.unwrap().item;
                (item.review_state.unwrap(), item.fields.get("number").and_then(|n| n.as_str()).map(str::to_owned))
            }
        };
        let year = chrono::Utc::now().format("%Y").to_string();

        // The hook before refuses, with its message; nothing changes, no number is used.
        let first = request("first", "").await;
        let e = register(first.clone()).await.unwrap_err();
        assert_eq!(e.to_string(), "a request is registered with its district");
        let auth = app.bearer("s", "clerk", "clerk password").await;
        let r = app.send_json("POST", "/s/first/@workflow/register", &auth, json!({})).await;
        assert_eq!((r.status.as_u16(), r.json()["message"].as_str()), (400, Some("a request is registered with its district")), "{}", r.body);
        assert_eq!(state_and_number(first.clone()).await, ("received".to_owned(), None));

        // The hook after numbers it in the same transaction; the events follow the commit.
        services.update(&clerk, &s, &first, &obj(json!({"district": "Jambes"}))).await.unwrap();
        let mut events = services.subscribe();
        let h = register(first.clone()).await.unwrap();
        assert_eq!((h.from_state.as_deref(), h.review_state.as_str()), (Some("received"), "registered"));
        assert_eq!(state_and_number(first.clone()).await, ("registered".to_owned(), Some(format!("{year}-0001"))));
        let kinds: Vec<EventKind> = std::iter::from_fn(|| events.try_recv().ok()).map(|e| e.kind).collect();
        assert_eq!(kinds[0], EventKind::Transitioned(Transitioned {
            workflow: "request_workflow".into(), transition: "register".into(), from: "received".into(), to: "registered".into(),
        }));
        assert_eq!(kinds[1..], [EventKind::Modified]);
        // The number is versioned in the clerk's name, as an edit would be.
        let (revisions, _, _) = services.history(&clerk, &s, &first).await.unwrap();
        assert_eq!(revisions.last().map(|r| r.actor.as_str()), Some("clerk"));

        // Registered at once, never the same number twice.
        let mut paths = Vec::new();
        for id in ["r2", "r3", "r4", "r5", "r6", "r7"] {
            paths.push(request(id, "Erpent").await);
        }
        let tasks: Vec<_> = paths.iter().map(|p| tokio::spawn(register(p.clone()))).collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let mut numbers = Vec::new();
        for p in &paths {
            numbers.push(state_and_number(p.clone()).await.1.unwrap());
        }
        numbers.sort();
        assert_eq!(numbers, (2..=7).map(|n| format!("{year}-{n:04}")).collect::<Vec<_>>());
    }

    async fn declared_indexes_answer_search_querystrings_and_collections(db) {
        // Requests made before the application declared its indexes…
        let (before, _) = with(&db, REQUESTS_WITHOUT_INDEXES).await;
        let s = db.site("s").await;
        before.set_site_apps(&Principal::System, &s, &["requests".into()], &[]).await.unwrap();
        let s = before.site(&s.id).await.unwrap().unwrap();
        db.user(&s, "admin", "admin password", "Admin", &[Role::Manager]).await;
        for (id, district, urgent, noticed, households) in [
            ("a", "Jambes", Some(true), "2026-11-02", 3),
            ("b", "Erpent", Some(false), "2026-12-01", 40),
            ("c", "Jambes", None, "2026-12-05", 12),
        ] {
            let mut v = json!({"title": format!("Demande {id}"), "district": district, "noticed": noticed, "households": households});
            if let Some(u) = urgent {
                v["urgent"] = json!(u);
            }
            before.create(&Principal::System, &s, &path(""), "Citizen Request", Some(id), &obj(v)).await.unwrap();
        }
        // …are found by them once the server that declares them has reconciled.
        let (services, app) = with_requests(&db).await;
        let auth = app.bearer("s", "admin", "admin password").await;
        let search = |q: &str| {
            let (app, uri, auth) = (&app, format!("/s/@search?{q}"), auth.clone());
            async move {
                let r = app.get_with(&uri, &[("authorization", &auth)]).await;
                (r.status.as_u16(), r.json())
            }
        };
        let ids = |v: &serde_json::Value| {
            let mut ids: Vec<String> = v["items"].as_array().unwrap().iter().map(|i| i["@id"].as_str().unwrap().rsplit('/').next().unwrap().to_owned()).collect();
            ids.sort();
            ids
        };
        assert_eq!(search("district=Jambes").await.1["items_total"], 0, "not indexed yet");
        assert_eq!(services.reconcile_indexes().await.unwrap(), 4, "the site root and three requests");
        assert_eq!(services.reconcile_indexes().await.unwrap(), 0, "nothing changed since");
        for (q, want) in [
            ("district=Jambes", vec!["a", "c"]),
            ("district=Jambes&district=Erpent", vec!["a", "b", "c"]),
            ("urgent=true", vec!["a"]),
            ("urgent:boolean=False", vec!["b", "c"]),
            ("noticed.query=2026-11-30&noticed.range=min", vec!["b", "c"]),
            ("noticed=2026-12-01", vec!["b"]),
            ("households.query:list=10&households.query:list=50&households.range=min:max", vec!["b", "c"]),
            ("households.query=12&households.range=max&district=Jambes", vec!["a", "c"]),
        ] {
            let (status, v) = search(q).await;
            assert_eq!(status, 200, "{q}: {v}");
            assert_eq!(ids(&v), want, "{q}: {v}");
        }
        for q in ["households.query=beaucoup", "urgent=peut-être", "district.query=a", "noticed.query=hier"] {
            let (status, v) = search(q).await;
            assert_eq!(status, 400, "{q}: {v}");
        }
        // Sorted on them (a request not marked urgent is not urgent), ties by path.
        let in_order = |v: &serde_json::Value| v["items"].as_array().unwrap().iter().map(|i| i["@id"].as_str().unwrap().rsplit('/').next().unwrap().to_owned()).collect::<Vec<_>>();
        for (q, want) in [
            ("sort_on=households", ["a", "c", "b"]),
            ("sort_on=households&sort_order=descending", ["b", "c", "a"]),
            ("sort_on=noticed&sort_order=reverse", ["c", "b", "a"]),
            ("sort_on=district", ["b", "a", "c"]),
            ("sort_on=urgent", ["b", "c", "a"]),
            ("sort_on=urgent&sort_order=descending", ["a", "b", "c"]),
        ] {
            let (status, v) = search(&format!("portal_type=Citizen+Request&{q}")).await;
            assert_eq!((status, in_order(&v)), (200, want.map(String::from).to_vec()), "{q}: {v}");
        }
        let types = json!([{"i": "portal_type", "o": "plone.app.querystring.operation.selection.any", "v": ["Citizen Request"]}]);
        let r = app.send_json("POST", "/s/@querystring-search", &auth, json!({"query": types, "sort_on": "households", "sort_order": "descending"})).await;
        assert_eq!(in_order(&r.json()), ["b", "c", "a"], "{}", r.body);
        let (status, v) = search("sort_on=nowhere").await;
        assert_eq!((status, v["message"].as_str()), (400, Some("cannot sort on \"nowhere\"")), "{v}");

        // Kept up to date by edits, behind the security filter.
        services.update(&Principal::System, &s, &path("/a"), &obj(json!({"district": "Erpent"}))).await.unwrap();
        assert_eq!(ids(&search("district=Jambes").await.1), ["c"]);
        assert_eq!(app.get("/s/@search?district=Erpent").await.json()["items_total"], 0, "requests are private to visitors");

        // plone.app.querystring criteria on them, as @querystring-search and a Collection take.
        let qs = |criteria: serde_json::Value| {
            let (app, auth) = (&app, auth.clone());
            async move {
                let r = app.send_json("POST", "/s/@querystring-search", &auth, json!({"query": criteria})).await;
                (r.status.as_u16(), r.json())
            }
        };
        let op = |o: &str| format!("plone.app.querystring.operation.{o}");
        let (status, v) = qs(json!([{"i": "district", "o": op("selection.any"), "v": ["Erpent"]}, {"i": "households", "o": op("int.largerThan"), "v": "5"}])).await;
        assert_eq!((status, ids(&v)), (200, vec!["b".to_owned()]), "{v}");
        let (_, v) = qs(json!([{"i": "urgent", "o": op("boolean.isTrue")}])).await;
        assert_eq!(ids(&v), ["a"]);
        let (_, v) = qs(json!([{"i": "noticed", "o": op("date.between"), "v": ["2026-11-01", "2026-12-02"]}])).await;
        assert_eq!(ids(&v), ["a", "b"]);
        let (status, v) = qs(json!([{"i": "nope", "o": op("selection.any"), "v": ["x"]}])).await;
        assert_eq!((status, v["message"].as_str()), (400, Some("unsupported criterion nope / selection.any")), "{v}");
        let (status, _) = qs(json!([{"i": "urgent", "o": op("int.is"), "v": "1"}])).await;
        assert_eq!(status, 400);
        let r = app.send_json("POST", "/s", &auth, json!({"@type": "Collection", "title": "Erpent", "query": [{"i": "district", "o": op("selection.any"), "v": ["Erpent"]}]})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let v = app.get_with("/s/erpent", &[("authorization", &auth), ("accept", "application/json")]).await.json();
        assert_eq!(ids(&v), ["a", "b"], "{v}");
        let r = app.send_json("POST", "/s", &auth, json!({"@type": "Collection", "title": "Mauvaise", "query": [{"i": "district", "o": op("boolean.isTrue")}]})).await;
        assert_eq!(r.status, 400, "an operation the index does not take is refused: {}", r.body);
        // The Collection form offers them under their titles.
        let c = app.session("admin", "admin password").await;
        let form = app.get_with("/s/erpent/@@edit", &[("cookie", &c)]).await.body;
        assert!(form.contains(">Quartier</option>") && form.contains(">est vrai</option>"), "{form}");
    }

    async fn an_application_type_gets_dates_metadata_recurrence_and_a_listing_by_declaring_them(db) {
        let (services, app) = with(&db, AGENDA).await;
        let s = db.site("s").await;
        db.user(&s, "admin", "admin password", "Admin", &[Role::Manager]).await;
        for (id, hall, opens) in [("h1", "Salle A", "2030-03-02T09:00:00+00:00"), ("h2", "Salle B", "2030-03-01T09:00:00+00:00"), ("h3", "Salle C", "2030-03-03T09:00:00+00:00")] {
            let v = json!({"title": format!("Audience {id}"), "opens": opens, "closes": opens, "hall": hall});
            services.create(&Principal::System, &s, &path(""), "Hearing", Some(id), &obj(v)).await.unwrap();
        }
        let auth = app.bearer("s", "admin", "admin password").await;
        let get = |uri: &str| {
            let (app, uri, auth) = (&app, uri.to_owned(), auth.clone());
            async move {
                let r = app.get_with(&uri, &[("authorization", &auth), ("accept", "application/json")]).await;
                assert_eq!(r.status, 200, "{uri}: {}", r.body);
                r.json()
            }
        };
        let ids = |v: &serde_json::Value| v["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        // The catalog's start and end, and the metadata columns, from the declared fields.
        let v = get("/s/@search?portal_type=Hearing&start.query=2030-03-01T12:00:00Z&start.range=min&sort_on=start&metadata_fields=hall&metadata_fields=start&metadata_fields=end").await;
        assert_eq!(ids(&v), ["Audience h1", "Audience h3"], "{v}");
        assert_eq!((v["items"][0]["hall"].as_str(), v["items"][0]["start"].as_str()), (Some("Salle A"), Some("2030-03-02T09:00:00+00:00")), "{v}");
        assert_eq!(v["items"][0]["end"], "2030-03-02T09:00:00+00:00");
        let v = get("/s/@search?portal_type=Hearing&sort_on=end&sort_order=reverse&metadata_fields=_all").await;
        assert_eq!(ids(&v), ["Audience h3", "Audience h1", "Audience h2"], "{v}");
        assert_eq!((v["items"][2]["hall"].as_str(), v["items"][2]["location"].clone()), (Some("Salle B"), serde_json::Value::Null), "{v}");

        // A roll lists its stored query sorted, reversed, capped and paged as its fields say.
        let roll = json!({"title": "Rôle", "which": [{"i": "portal_type", "o": "plone.app.querystring.operation.selection.any", "v": ["Hearing"]}],
                          "order": "start", "latest_first": true, "at_most": 2, "per_page": 1});
        services.create(&Principal::System, &s, &path(""), "Hearing Roll", Some("role"), &obj(roll)).await.unwrap();
        let v = get("/s/role").await;
        assert_eq!((ids(&v), v["items_total"].as_i64()), (vec!["Audience h3".to_owned(), "Audience h1".to_owned()], Some(2)), "{v}");
        let c = app.session("admin", "admin password").await;
        let page = app.get_with("/s/role", &[("cookie", &c)]).await.body;
        let listed = page.split("<ul class=\"items\">").nth(1).and_then(|l| l.split("</ul>").next()).unwrap_or_default();
        assert!(listed.contains(">Audience h3</a>") && !listed.contains("Audience h1"), "one a page: {page}");

        // The recurrence widget, reading the hour from the field that fills `start`.
        let form = app.get_with("/s/@@add?type=Hearing", &[("cookie", &c)]).await.body;
        assert!(form.contains("name=\"recurrence-freq\"") && form.contains("name=\"sessions\""), "{form}");
        let pairs = [
            ("_csrf", crate::support::csrf(&form)),
            ("title", "Audience hebdomadaire".to_owned()),
            ("opens", "2030-01-07T18:00".to_owned()),
            ("closes", "2030-01-07T20:00".to_owned()),
            ("recurrence-shown", String::new()),
            ("sessions", String::new()),
            ("recurrence-freq", "weekly".to_owned()),
            ("recurrence-interval", "1".to_owned()),
            ("recurrence-byday", "MO".to_owned()),
            ("recurrence-end", "count".to_owned()),
            ("recurrence-count", "3".to_owned()),
            ("recurrence-until", String::new()),
            ("recurrence-exdates", String::new()),
        ];
        let r = app
            .request(
                axum::http::Request::post("/s/@@add?type=Hearing")
                    .header("host", "localhost")
                    .header("cookie", &c)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(axum::body::Body::from(serde_urlencoded::to_string(pairs).unwrap()))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let item = services.item(&Principal::System, &s, &path("/audience-hebdomadaire")).await.unwrap().item;
        let rule = item.fields["sessions"].as_str().unwrap_or_default();
        assert!(rule.starts_with("RRULE:FREQ=WEEKLY") && rule.contains("BYDAY=MO") && rule.contains("COUNT=3"), "{rule}");
    }

    async fn an_application_declares_its_role_and_permission(db) {
        let (services, app) = with_requests(&db).await;
        let s = db.site("s").await;
        services.set_site_apps(&Principal::System, &s, &["requests".into()], &[]).await.unwrap();
        let s = services.site(&s.id).await.unwrap().unwrap();
        let handler_role = Role::parse("Request Handler").unwrap();
        assert_eq!(handler_role.name(), "Request Handler");
        db.user(&s, "admin", "admin password", "Admin", &[Role::Manager]).await;
        db.user(&s, "hana", "hana password", "Hana", &[handler_role]).await;
        db.user(&s, "max", "max password", "Max", &[Role::Member]).await;
        for id in ["r1", "r2"] {
            services.create(&Principal::System, &s, &path(""), "Citizen Request", Some(id), &obj(json!({"title": id, "district": "Bouge"}))).await.unwrap();
        }
        let (hana, max) = (app.bearer("s", "hana", "hana password").await, app.bearer("s", "max", "max password").await);
        // Stored by name, read back from the database, holding what the workflow gives it.
        assert_eq!(app.get_with("/s/@users/hana", &[("authorization", &hana)]).await.json()["roles"], json!(["Request Handler"]));
        assert_eq!(app.get_with("/s/@request-count", &[("authorization", &hana)]).await.json(), json!({"count": 2}));
        assert_eq!(app.get_with("/s/@request-count", &[("authorization", &max)]).await.json(), json!({"count": 0}));
        let wf = app.get_with("/s/r1/@workflow", &[("authorization", &hana)]).await.json();
        assert_eq!(wf["transitions"][0]["@id"].as_str().map(|u| u.ends_with("/register")), Some(true), "{wf}");
        let r = app.send_json("POST", "/s/r1/@workflow/register", &hana, json!({})).await;
        assert_eq!(r.status, 200, "the declared permission, held at the site root by the declared role: {}", r.body);
        // A member sees no request and may take no transition.
        let r = app.send_json("POST", "/s/r2/@workflow/register", &max, json!({})).await;
        assert!(matches!(r.status.as_u16(), 401 | 403 | 404), "{} {}", r.status, r.body);
        // Given on one item through sharing, by those it names as delegating it.
        let admin = app.bearer("s", "admin", "admin password").await;
        let sharing = app.get_with("/s/r2/@sharing", &[("authorization", &admin)]).await.json();
        assert!(sharing["available_roles"].as_array().unwrap().iter().any(|r| r["id"] == "Request Handler"), "{sharing}");
        let r = app.send_json("POST", "/s/r2/@sharing", &admin, json!({"entries": [{"id": "max", "type": "user", "roles": {"Request Handler": true}}]})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(app.get_with("/s/@request-count", &[("authorization", &max)]).await.json(), json!({"count": 1}), "the stored viewers know the declared role");
        let r = app.send_json("POST", "/s/r2/@workflow/register", &max, json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        // The sharing page names it with the application's messages.
        let c = app.session("admin", "admin password").await;
        let page = app.get_with("/s/r1/@@sharing", &[("cookie", &c)]).await;
        assert!(page.body.contains("Agent traitant"), "{}", page.body);
        // A roles file naming what does not exist stops the server.
        let bad = App { name: "bad", roles: Some(("roles.json", r#"{"permissions": {"Do things": {"roles": ["Nobody"]}}}"#)), ..REQUESTS.app };
        let e = db.services.clone().with_app(&bad).err().unwrap();
        assert_eq!(e.to_string(), "application bad: roles.json: permission \"Do things\": unknown role \"Nobody\"");
    }

    async fn a_vocabulary_offers_checks_and_serves_the_values_of_a_field_where_it_is(db) {
        let (services, app) = with_requests(&db).await;
        let s = db.site("s").await;
        services.set_site_apps(&Principal::System, &s, &["requests".into()], &[]).await.unwrap();
        let s = services.site(&s.id).await.unwrap().unwrap();
        db.user(&s, "admin", "admin password", "Admin", &[Role::Manager]).await;
        db.user(&s, "clerk", "clerk password", "Clerk", &[Role::Member]).await;
        let admin = app.bearer("s", "admin", "admin password").await;
        let clerk = app.bearer("s", "clerk", "clerk password").await;
        let send = |token: &str, method: &'static str, url: &str, body: serde_json::Value| {
            let (app, token, url) = (&app, token.to_owned(), url.to_owned());
            async move { app.send_json(method, &url, &token, body).await }
        };
        for (id, description) in [("desk", "counter only"), ("phones", "also by phone")] {
            let r = send(&admin, "POST", "/s", json!({"@type": "Folder", "id": id, "title": id, "description": description})).await;
            assert_eq!(r.status, 201, "{}", r.body);
        }
        let r = send(&admin, "POST", "/s/phones/@sharing", json!({"entries": [{"id": "clerk", "type": "user", "roles": {"Contributor": true}}]})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let r = send(&admin, "POST", "/s/desk/@sharing", json!({"entries": [{"id": "clerk", "type": "user", "roles": {"Contributor": true}}]})).await;
        assert_eq!(r.status, 204, "{}", r.body);

        // Its terms depend on where and who: the phone only in the folder that takes
        // calls, for those who handle requests.
        let tokens = |v: serde_json::Value| -> Vec<String> {
            v["items"].as_array().unwrap().iter().map(|t| t["token"].as_str().unwrap().to_owned()).collect()
        };
        let r = send(&admin, "GET", "/s/phones/@vocabularies/requests.channels", json!(null)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["@id"], format!("{}/s/phones/@vocabularies/requests.channels", "http://localhost"));
        assert_eq!(tokens(r.json()), ["desk", "mail", "phone"]);
        assert_eq!(r.json()["items"][2], json!({"title": "Téléphone", "token": "phone"}));
        assert_eq!(tokens(send(&admin, "GET", "/s/desk/@vocabularies/requests.channels", json!(null)).await.json()), ["desk", "mail"]);
        assert_eq!(tokens(send(&clerk, "GET", "/s/phones/@vocabularies/requests.channels", json!(null)).await.json()), ["desk", "mail"]);
        let r = send(&admin, "GET", "/s/phones/@vocabularies/requests.channels?title=COUR&b_size=1", json!(null)).await;
        assert_eq!((tokens(r.json()), r.json()["items_total"].clone()), (vec!["mail".to_owned()], json!(1)));
        let r = send(&admin, "GET", "/s/phones/@vocabularies/requests.channels?b_size=2", json!(null)).await;
        assert_eq!(r.json()["items_total"], 3);
        assert!(r.json()["batching"]["next"].as_str().unwrap().contains("b_start=2"), "{}", r.body);
        // The platform's vocabularies, then the applications'.
        let list = send(&admin, "GET", "/s/@vocabularies", json!(null)).await.json();
        let list = list.as_array().unwrap();
        assert_eq!(list.last().unwrap(), &json!({"@id": format!("{}/s/@vocabularies/requests.channels", "http://localhost"), "title": "requests.channels"}));
        assert_eq!(list[0]["title"], "plone.app.vocabularies.Keywords");
        assert_eq!(send(&admin, "GET", "/s/@vocabularies/requests.nope", json!(null)).await.status, 404);
        let other = db.site("other").await;
        db.user(&other, "admin", "admin password", "Admin", &[Role::Manager]).await;
        let elsewhere = app.bearer("other", "admin", "admin password").await;
        let r = send(&elsewhere, "GET", "/other/@vocabularies/requests.channels", json!(null)).await;
        assert_eq!(r.status, 404, "no vocabulary where its application is off: {}", r.body);
        let schema = send(&admin, "GET", "/s/@types/Citizen%20Request", json!(null)).await.json();
        let url = format!("{}/s/@vocabularies/requests.channels", "http://localhost");
        assert_eq!(schema["properties"]["channel"]["vocabulary"]["@id"], url, "{schema}");
        assert_eq!(schema["properties"]["copies"]["items"]["vocabulary"]["@id"], url);
        assert_eq!(schema["properties"]["number"]["readonly"], true);

        // A value is checked against the terms where the item is, for whoever writes.
        let new = |id: &str, channel: &str| json!({"@type": "Citizen Request", "id": id, "title": id, "channel": channel});
        assert_eq!(send(&admin, "POST", "/s/phones", new("a", "phone")).await.status, 201);
        let r = send(&admin, "POST", "/s/desk", new("b", "phone")).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("channel") && r.body.contains("not one of the values offered"), "{}", r.body);
        assert_eq!(send(&clerk, "POST", "/s/phones", new("c", "phone")).await.status, 400, "the clerk handles no requests");
        let r = send(&clerk, "POST", "/s/phones", json!({"@type": "Citizen Request", "id": "c", "title": "c", "channel": "mail", "copies": ["desk", "fax"]})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("fax") && !r.body.contains("desk\\\""), "{}", r.body);
        assert_eq!(send(&clerk, "GET", "/s/phones/c", json!(null)).await.status, 404, "nothing was made");
        // What the application alone sets is ignored when people send it.
        let r = send(&clerk, "POST", "/s/phones", json!({"@type": "Citizen Request", "id": "c", "title": "c", "channel": "mail", "copies": ["desk"], "number": "2026-9999"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.json()["number"], json!(null), "{}", r.body);
        // An edit is checked on what it changes: a value no longer offered stays.
        let r = send(&admin, "PATCH", "/s/phones/a", json!({"description": "moved on", "number": "1"})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let r = send(&admin, "PATCH", "/s/phones", json!({"description": "counter only now"})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(send(&admin, "PATCH", "/s/phones/a", json!({"title": "A"})).await.status, 204, "the phone stays");
        let r = send(&admin, "PATCH", "/s/phones/a", json!({"channel": "phone", "copies": ["phone"]})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        let a = send(&admin, "GET", "/s/phones/a", json!(null)).await.json();
        assert_eq!((a["channel"].clone(), a["number"].clone()), (json!("phone"), json!(null)), "{a}");

        // The forms offer the terms: a list for a choice, boxes for several.
        let cookie = app.session("admin", "admin password").await;
        let form = app.get_with("/s/desk/@@add?type=Citizen%20Request", &[("cookie", &cookie)]).await.body;
        assert!(form.contains(r#"<option value="desk""#) && form.contains(r#"<option value="mail""#) && !form.contains(r#"value="phone""#), "{form}");
        assert!(form.contains(r#"<input type="checkbox" id="field-copies-1" name="copies" value="desk">"#), "{form}");
        assert!(!form.contains(r#"name="number""#), "what the application sets is not in the form");
        let edit = app.get_with("/s/phones/a/@@edit", &[("cookie", &cookie)]).await.body;
        assert!(edit.contains(r#"<option value="phone" selected>phone</option>"#), "a value no longer offered shows as it is: {edit}");
    }

    async fn an_application_migrates_its_own_tables_once(db) {
        let (services, _) = with_requests(&db).await;
        assert_eq!(services.migrate_apps().await.unwrap(), 0, "applied when the server was assembled, once");
        let mut c = db.store.conn().await.unwrap();
        let rows: Vec<(String, i64)> = match c.db() {
            beffroi_store::Db::Sqlite(c) => sqlx::query_as("select app, version from app_migrations").fetch_all(&mut *c).await.unwrap(),
            beffroi_store::Db::Postgres(c) => sqlx::query_as("select app, version from app_migrations").fetch_all(&mut *c).await.unwrap(),
        };
        assert_eq!(rows, [("requests".to_owned(), 1)]);
        let n: i64 = match c.db() {
            beffroi_store::Db::Sqlite(c) => sqlx::query_scalar("select count(*) from requests_notes").fetch_one(&mut *c).await.unwrap(),
            beffroi_store::Db::Postgres(c) => sqlx::query_scalar("select count(*) from requests_notes").fetch_one(&mut *c).await.unwrap(),
        };
        assert_eq!(n, 0, "its table exists");
    }

    async fn a_unit_of_work_checks_rights_and_commits_all_or_nothing(db) {
        let (services, _app) = with_requests(&db).await;
        let s = db.site("s").await;
        let doc = db.add(&s, "", "Document", json!({"title": "Avant"})).await;
        let manager = Principal::user("boss", &[Role::Manager]);
        let e = services.work(&Principal::Anonymous, &s, &doc, beffroi_model::security::Permission::ModifyPortalContent).await.err().unwrap();
        assert!(matches!(e, ServiceError::Unauthorized), "{e:?}");
        {
            let mut work = services.work(&manager, &s, &doc, beffroi_model::security::Permission::ModifyPortalContent).await.unwrap();
            assert_eq!(work.next_number("letters").await.unwrap(), 1);
            work.set_fields(&doc, &obj(json!({"title": "Pendant"}))).await.unwrap();
            assert_eq!(work.item().title, "Pendant", "the unit sees its own change");
            // Dropped without commit.
        }
        assert_eq!(services.item(&manager, &s, &doc).await.unwrap().item.title, "Avant");
        let mut work = services.work(&manager, &s, &doc, beffroi_model::security::Permission::View).await.unwrap();
        assert_eq!(work.next_number("letters").await.unwrap(), 1, "a unit that did not commit gave its number back");
        assert_eq!(work.next_number("letters").await.unwrap(), 2);
        let e = work.set_fields(&doc, &obj(json!({"title": ""}))).await.unwrap_err();
        assert!(matches!(e, ServiceError::Invalid(_)), "validated as an edit: {e:?}");
        work.set_fields(&doc, &obj(json!({"title": "Après"}))).await.unwrap();
        work.commit().await.unwrap();
        assert_eq!(services.item(&manager, &s, &doc).await.unwrap().item.title, "Après");
        let mut work = services.work(&manager, &s, &doc, beffroi_model::security::Permission::View).await.unwrap();
        assert_eq!(work.next_number("letters").await.unwrap(), 3);
        drop(work);
        // Those who may only view cannot write through a unit.
        let reader = Principal::user("reader", &[Role::Reader]);
        let mut work = services.work(&reader, &s, &doc, beffroi_model::security::Permission::View).await.unwrap();
        assert!(matches!(work.set_fields(&doc, &obj(json!({"title": "Non"}))).await, Err(ServiceError::Unauthorized)));
    }

    async fn a_unit_of_work_writes_to_the_catalog_what_its_changes_change(db) {
        let s = db.site("s").await;
        let doc = db.add(&s, "", "Document", json!({"title": "Voirie communale", "description": "Entretien des trottoirs"})).await;
        let found = |words: &'static str, subject: Option<&'static str>| {
            let (services, s) = (db.services.clone(), s.clone());
            async move {
                let all = CatalogQuery { limit: 50, ..Default::default() };
                let mut q = if words.is_empty() { all } else { beffroi_service::with_text(all, words) };
                q.subjects = subject.map(|w| vec![w.to_owned()]).unwrap_or_default();
                services.search(&Principal::Anonymous, &s, q).await.unwrap().items.iter().map(|i| i.title.clone()).collect::<Vec<_>>()
            }
        };
        assert_eq!(found("trottoirs", None).await, ["Voirie communale"]);
        assert!(found("", Some("mobilité")).await.is_empty());
        let manager = Principal::user("boss", &[Role::Manager]);
        // Only the subjects change: the text and the public mark stay as written.
        let mut work = db.services.work(&manager, &s, &doc, beffroi_model::security::Permission::ModifyPortalContent).await.unwrap();
        work.set_fields(&doc, &obj(json!({"subjects": ["mobilité"]}))).await.unwrap();
        work.commit().await.unwrap();
        assert_eq!(found("", Some("mobilité")).await, ["Voirie communale"]);
        assert_eq!(found("trottoirs", None).await, ["Voirie communale"], "anonymous still finds it by its words");
        // The title changes: the old words go, the new ones are found, subjects kept.
        let mut work = db.services.work(&manager, &s, &doc, beffroi_model::security::Permission::ModifyPortalContent).await.unwrap();
        work.set_fields(&doc, &obj(json!({"title": "Pistes cyclables"}))).await.unwrap();
        work.commit().await.unwrap();
        assert!(found("voirie", None).await.is_empty());
        assert_eq!(found("cyclables", None).await, ["Pistes cyclables"]);
        assert_eq!(found("", Some("mobilité")).await, ["Pistes cyclables"]);
        // Its expiry date changes: anonymous no longer finds it by its words.
        let mut work = db.services.work(&manager, &s, &doc, beffroi_model::security::Permission::ModifyPortalContent).await.unwrap();
        work.set_fields(&doc, &obj(json!({"expires": "2020-01-01T00:00:00+00:00"}))).await.unwrap();
        work.commit().await.unwrap();
        assert!(found("cyclables", None).await.is_empty(), "expired");
    }

    async fn every_rich_text_field_is_shown_found_versioned_and_linked_by_uid(db) {
        let decisions = App { name: "decisions", enabled_by_default: true, roles: None, types: &[("Decision.json", DECISION)], workflows: &[], chains: None, indexes: None, hooks: &[], item_hooks: &[], vocabularies: &[], migrations: &[], access_checks: &[] };
        let services = db.services.clone().with_app(&decisions).unwrap();
        let s = db.site("s").await;
        db.user(&s, "admin", "admin password", "Admin", &[Role::Manager]).await;
        let target = db.add(&s, "", "Document", json!({"title": "Règlement de voirie"})).await;
        let target_uid = services.item(&Principal::System, &s, &target).await.unwrap().item.uuid.simple().to_string();
        let d = services
            .create(&Principal::System, &s, &path(""), "Decision", Some("d1"), &obj(json!({
                "title": "Travaux rue Haute",
                "motivation": {"content-type": "text/html", "data": "<p>Vu le <a href=\"http://localhost/s/reglement-de-voirie\">règlement</a> et la vétusté du pavage</p>"},
                "decision": {"content-type": "text/html", "data": "<p>Le collège approuve le cahier des charges</p>"},
                "reference": "2026/collège/17",
            })))
            .await
            .unwrap();
        let app = TestApp::with_services(services.clone()).await;
        let c = app.session("admin", "admin password").await;

        // Shown, each under its label, links at the target's address.
        let page = app.get_with("/s/d1", &[("cookie", &c)]).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let (m, dd) = (page.body.find(">Motivation</h2>").expect("motivation shown"), page.body.find(">Dispositif</h2>").expect("decision shown"));
        assert!(m < dd, "in the schema's order");
        assert!(page.body.contains("vétusté du pavage") && page.body.contains("cahier des charges"));
        assert!(page.body.contains("href=\"http://localhost/s/reglement-de-voirie\""), "{}", page.body);
        // Stored by UID, so a move of the target is followed.
        let stored = services.item(&Principal::System, &s, &d.path).await.unwrap();
        // (Items created by the system are not rewritten; a REST write is.)
        let r = app.send_json("PATCH", "/s/d1", &app.bearer("s", "admin", "admin password").await, json!({
            "motivation": {"content-type": "text/html", "data": "<p>Vu le <a href=\"http://localhost/s/reglement-de-voirie\">règlement</a> et la vétusté du pavage des trottoirs</p>"},
        })).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let stored_after = services.item(&Principal::System, &s, &d.path).await.unwrap();
        assert_ne!(stored.item.fields["motivation"], stored_after.item.fields["motivation"]);
        let data = stored_after.item.fields["motivation"]["data"].as_str().unwrap();
        assert!(data.contains(&format!("resolveuid/{target_uid}")), "{data}");
        services.rename(&Principal::System, &s, &target, "voirie").await.unwrap();
        let json = app.get_with("/s/d1", &[("cookie", &c), ("accept", "application/json")]).await.json();
        assert!(json["motivation"]["data"].as_str().unwrap().contains("http://localhost/s/voirie\""), "{}", json["motivation"]);

        // Found by words of either field, stemmed in the item's language.
        for words in ["pavages", "cahiers", "trottoir"] {
            let r = app.get_with(&format!("/s/@search?SearchableText={words}"), &[("cookie", &c)]).await.json();
            assert_eq!(r["items_total"], 1, "{words}: {r}");
            assert_eq!(r["items"][0]["@id"], "http://localhost/s/d1");
        }
        // A field not marked searchable is not.
        assert_eq!(app.get_with("/s/@search?SearchableText=2026%2Fcoll%C3%A8ge%2F17", &[("cookie", &c)]).await.json()["items_total"], 0);

        // Versioned: the old version shows both fields, the comparison names the one that changed.
        let old = app.get_with("/s/d1/@@history?version=0", &[("cookie", &c)]).await;
        assert_eq!(old.status, 200, "{}", old.body);
        assert!(old.body.contains(">Motivation</h2>") && old.body.contains("cahier des charges"));
        assert!(!old.body.contains("trottoirs"));
        assert!(old.body.contains("href=\"http://localhost/s/voirie\""), "old links show the current address");
        let diff = app.get_with("/s/d1/@@history?a=0&b=1", &[("cookie", &c)]).await.body;
        assert!(diff.contains("Motivation") && diff.contains("trottoirs"), "{diff}");
        assert!(!diff.contains("Dispositif"), "an unchanged field is not in the comparison");
    }
}

/// Web and service know no application's type by name: each is found by what its type
/// file declares (a main image or file, an event's date check, a query field). Their
/// own unit tests (after `#[cfg(test)]`) may name what they make up.
#[test]
fn web_and_service_name_no_content_type() {
    const NAMES: [&str; 8] = ["Folder", "Document", "News Item", "Event", "File", "Image", "Link", "Collection"];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut offending = Vec::new();
    let mut dirs = vec![
        root.join("crates/web/src"),
        root.join("crates/web/templates"),
        root.join("crates/web/static"),
        root.join("crates/service/src"),
    ];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("vendor") {
                    dirs.push(path);
                }
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (n, line) in code.lines().enumerate() {
                for name in NAMES {
                    if line.contains(&format!("\"{name}\"")) || line.contains(&format!("'{name}'")) {
                        offending.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(offending.is_empty(), "built-in type names in web or service:\n{}", offending.join("\n"));
}

/// Nor any field of the content application's types: web and service find each by
/// what its field declares (`"metadata": "location"`, `"widget": "recurrence"`,
/// `"query": "batch_size"`, its kind), so another application's type gets the same
/// behaviour by declaring it. The names are read from `crates/apps/cms/types/*.json`;
/// Dublin Core's and plone.restapi's envelope (which every type has) are not among
/// them. Some names are also words of the platform's own vocabulary, allowed in the
/// files below only and for the reason given; comments and unit tests are not
/// looked at. Templates and scripts may not read them from an item (`fields.x`).
#[test]
fn web_and_service_name_no_content_field() {
    const EVERY_TYPE: [&str; 11] = [
        "title",
        "description",
        "subjects",
        "language",
        "effective",
        "expires",
        "creators",
        "contributors",
        "rights",
        "id",
        "exclude_from_nav",
    ];
    const ALLOWED: &[(&str, &str, &str)] = &[
        ("crates/web/src/json.rs", "layout", "plone.restapi's `layout` of an item: the view it is shown with"),
        ("crates/web/src/html.rs", "image", "schema.org's `image` property in a page's JSON-LD"),
        ("crates/web/src/html.rs", "location", "schema.org's `location` property of an Event in JSON-LD"),
        ("crates/web/src/edit.rs", "text", "the HTML input type of a text line's widget"),
        ("crates/web/src/edit.rs", "file", "the widget of a file field; the key of a sealed upload"),
        ("crates/web/src/edit.rs", "image", "the widget of an image field"),
        ("crates/web/src/json.rs", "text", "the site root's own field in plone.restapi's envelope of a Plone Site"),
        (
            "crates/web/src/media.rs",
            "image",
            "plone.restapi's `image_field` of a listing: the lead-image behavior's field",
        ),
        ("crates/web/src/endpoints.rs", "location", "a user's `location` in plone.restapi's @users envelope"),
        ("crates/web/src/search.rs", "sort_on", "the sort parameter of @search and @@search"),
        ("crates/web/src/search.rs", "query", "the criteria parameter of GET @querystring-search"),
        ("crates/service/src/query.rs", "start", "a sort and date index name of plone.restapi's queries"),
        ("crates/service/src/query.rs", "end", "a sort and date index name of plone.restapi's queries"),
        ("crates/service/src/apps.rs", "text", "an index kind"),
        ("crates/service/src/query.rs", "query", "the criteria of a listing block's querystring (Volto)"),
        ("crates/service/src/query.rs", "sort_on", "the sort of a listing block's querystring (Volto)"),
        ("crates/service/src/query.rs", "limit", "the number of results of a listing block's querystring (Volto)"),
        ("crates/web/src/search.rs", "end", "a date index name in @querystring"),
        ("crates/web/src/compose.rs", "image", "Volto's image block kind"),
        ("crates/web/src/compose.rs", "start", "a sort index of a listing block"),
        ("crates/web/src/compose.rs", "query", "the criteria of a listing block's querystring (Volto)"),
        ("crates/web/src/compose.rs", "sort_on", "the sort of a listing block's querystring (Volto)"),
        ("crates/web/src/compose.rs", "limit", "the number of results of a listing block's querystring (Volto)"),
        ("crates/web/src/compose.rs", "text", "the text of a slate leaf"),
        ("crates/web/src/search.rs", "start", "a date index name in @querystring"),
        ("crates/web/src/blocks.rs", "image", "Volto's image block kind"),
        ("crates/web/src/blocks.rs", "text", "Volto's (draft.js) text block kind and its text; a drawn block's kind"),
        ("crates/web/src/blocks.rs", "query", "the criteria of the site root's default listing block (Volto)"),
        ("crates/web/src/blocks.rs", "sort_on", "the sort of the site root's default listing block (Volto)"),
    ];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut names = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(root.join("crates/apps/cms/types")).unwrap() {
        let t: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        for f in t["fields"].as_array().unwrap() {
            let name = f["name"].as_str().unwrap();
            if !EVERY_TYPE.contains(&name) {
                names.insert(name.to_owned());
            }
        }
    }
    assert!(names.contains("remoteUrl") && names.contains("item_count"), "{names:?}");
    let mut offending = Vec::new();
    let mut dirs = vec![
        root.join("crates/web/src"),
        root.join("crates/web/templates"),
        root.join("crates/web/static"),
        root.join("crates/service/src"),
    ];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("vendor") {
                    dirs.push(path);
                }
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let rel = path.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
            let rust = rel.ends_with(".rs");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (n, line) in code.lines().enumerate() {
                if rust && line.trim_start().starts_with("//") {
                    continue;
                }
                for name in &names {
                    let named = if rust {
                        line.contains(&format!("\"{name}\""))
                            && !ALLOWED.iter().any(|(file, allowed, _)| *file == rel && allowed == name)
                    } else {
                        [format!("fields.{name}"), format!("fields[\"{name}\"]"), format!("fields['{name}']")]
                            .iter()
                            .any(|p| line.contains(p.as_str()))
                    };
                    if named {
                        offending.push(format!("{rel}:{}: {name}: {}", n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(offending.is_empty(), "content fields named in web or service:\n{}", offending.join("\n"));
}

/// Every interface message is in the four languages (French, Dutch, German, English),
/// in the platform's catalogs and in each application's; and every title, description
/// and choice a type or workflow file carries too.
#[test]
fn every_message_and_title_is_in_four_languages() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let keys = |path: &std::path::Path| -> std::collections::BTreeSet<String> {
        std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .lines()
            .filter_map(|l| l.split_once(" =").map(|(k, _)| k))
            .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .map(str::to_owned)
            .collect()
    };
    let mut missing = Vec::new();
    for dir in ["crates/web/locales", "crates/apps/cms/locales", "crates/apps/meetings/locales"] {
        let french = keys(&root.join(dir).join("fr.ftl"));
        assert!(!french.is_empty(), "{dir}");
        for lang in ["nl", "de", "en"] {
            let other = keys(&root.join(dir).join(format!("{lang}.ftl")));
            for k in french.difference(&other) {
                missing.push(format!("{dir}/{lang}.ftl: {k}"));
            }
            for k in other.difference(&french) {
                missing.push(format!("{dir}/{lang}.ftl: {k} (not in fr.ftl)"));
            }
        }
    }
    fn walk(v: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(o) => {
                let translation = o.contains_key("fr")
                    && o.iter().all(|(k, v)| ["fr", "nl", "de", "en"].contains(&k.as_str()) && v.is_string());
                if translation {
                    for lang in ["nl", "de", "en"] {
                        if !o.contains_key(lang) {
                            out.push(format!("{at}: no {lang}"));
                        }
                    }
                    return;
                }
                for (k, v) in o {
                    walk(v, &format!("{at}.{k}"), out);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(v, &format!("{at}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut files = 0;
    for dir in [
        "crates/model/workflows",
        "crates/apps/cms/types",
        "crates/apps/meetings/types",
        "crates/apps/meetings/workflows",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            walk(&v, &path.strip_prefix(&root).unwrap().display().to_string(), &mut missing);
            files += 1;
        }
    }
    assert!(files >= 20, "{files}");
    assert!(missing.is_empty(), "untranslated:\n{}", missing.join("\n"));
}

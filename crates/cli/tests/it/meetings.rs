//! The meetings application, first slice: an item through its validation chain to a
//! meeting's agenda and a decision, the meeting driving its items, by HTTP on both
//! backends.

use beffroi_model::security::Role;
use beffroi_service::Services;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::csrf;
use crate::support::{Reply, TestApp, TestDb};

async fn with_meetings(db: &TestDb) -> (Services, TestApp) {
    let services = beffroi_web::assemble(db.services.clone(), &[beffroi_meetings::MEETINGS]).unwrap();
    services.migrate_apps().await.unwrap();
    let apps = [beffroi_cms::CMS, beffroi_meetings::MEETINGS];
    let state =
        beffroi_web::AppState::load_apps(services.clone(), beffroi_web::WebOptions::default(), &apps).await.unwrap();
    (services, TestApp::with_state(state))
}

/// The staff of site `s` by HTTP: each user (admin a Manager, the others Members,
/// with the password "<login> password") and their bearer token.
struct Staff<'a> {
    app: &'a TestApp,
    auth: std::collections::HashMap<&'a str, String>,
}

impl<'a> Staff<'a> {
    async fn new(db: &TestDb, app: &'a TestApp, s: &beffroi_store::SiteRow, people: &[&'a str]) -> Staff<'a> {
        let mut auth = std::collections::HashMap::new();
        for login in people {
            let roles = if *login == "admin" { vec![Role::Manager] } else { vec![Role::Member] };
            db.user(s, login, &format!("{login} password"), login, &roles).await;
            auth.insert(*login, app.bearer("s", login, &format!("{login} password")).await);
        }
        Staff { app, auth }
    }

    /// A request of `who` (the future holds their token, not the name).
    fn send(&self, who: &str, method: &'static str, uri: String, body: Value) -> impl Future<Output = Reply> + use<'a> {
        let (app, token) = (self.app, self.auth[who].clone());
        async move { app.send_json(method, &uri, &token, body).await }
    }

    /// A JSON GET of `who`.
    fn get(&self, who: &str, uri: String) -> impl Future<Output = Reply> + use<'a> {
        let (app, token) = (self.app, self.auth[who].clone());
        async move { app.get_with(&uri, &[("authorization", &token), ("accept", "application/json")]).await }
    }

    /// A page (HTML) as `who` sees it.
    fn page(&self, who: &str, uri: String) -> impl Future<Output = Reply> + use<'a> {
        let (app, token) = (self.app, self.auth[who].clone());
        async move { app.get_with(&uri, &[("authorization", &token)]).await }
    }
}

/// The demo's password.
const DEMO_PW: &str = "demo password";

/// The demo site with the meetings, and its users `people` by HTTP.
async fn demo<'a>(app: &'a TestApp, services: &Services, people: &[&'a str]) -> Staff<'a> {
    assert!(beffroi_cms::demo::seed(services, DEMO_PW).await.unwrap());
    assert!(beffroi_meetings::demo::seed(services, "demo", DEMO_PW).await.unwrap());
    let mut auth = std::collections::HashMap::new();
    for login in people {
        auth.insert(*login, app.bearer("demo", login, DEMO_PW).await);
    }
    Staff { app, auth }
}

both_backends! {
    async fn an_item_goes_through_validation_to_the_agenda_and_a_decision(db) {
        let (services, app) = with_meetings(&db).await;
        let s = db.site("s").await;
        db.add(&s, "", "Document", json!({"title": "Avant les séances"})).await;
        assert_eq!(services.reconcile_indexes().await.unwrap(), 0, "no content of its types yet: nothing to reindex at start");
        services.set_site_apps(&beffroi_model::security::Principal::System, &s, &["cms".into(), "meetings".into()], &[]).await.unwrap();
        let staff = Staff::new(&db, &app, &s, &["admin", "agent", "chef", "secretaire", "observateur"]).await;
        let auth = &staff.auth;
        let send = |who: &str, method, uri, body| staff.send(who, method, uri, body);
        let state = |uri: String| {
            let (app, auth) = (&app, auth["admin"].clone());
            async move { app.get_with(&uri, &[("authorization", &auth), ("accept", "application/json")]).await.json() }
        };

        // The organisation: the public works service, whose groups come with it; its
        // agent writes, its head validates. A college whose secretary manages meetings.
        let r = send("admin", "POST", "/s".into(), json!({"@type": "Organisation", "id": "organisation", "title": "Organisation"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r = send("admin", "POST", "/s/organisation".into(), json!({"@type": "Service", "id": "travaux", "title": "Travaux"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        for (group, login) in [("travaux_creators", "agent"), ("travaux_reviewers", "chef")] {
            let r = send("admin", "PATCH", format!("/s/@groups/{group}"), json!({"users": {login: true}})).await;
            assert_eq!(r.status, 204, "{}", r.body);
        }
        let r = send("admin", "POST", "/s".into(), json!({"@type": "Decision Body", "title": "Collège communal", "code": "CC"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        // The body's own groups: its meeting managers, its observers.
        for (group, login) in [("college-communal_meetingmanagers", "secretaire"), ("college-communal_powerobservers", "observateur")] {
            let r = send("admin", "PATCH", format!("/s/@groups/{group}"), json!({"users": {login: true}})).await;
            assert_eq!(r.status, 204, "{}", r.body);
        }

        // The secretary plans a meeting held yesterday, and one next week.
        let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%dT10:00:00+00:00").to_string();
        let next_week = (chrono::Utc::now() + chrono::Duration::days(7)).format("%Y-%m-%dT10:00:00+00:00").to_string();
        let year = (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y").to_string();
        let r = send("secretaire", "POST", "/s/college-communal".into(), json!({"@type": "Meeting", "title": "Séance d'hier", "date": yesterday, "place": "Salle du collège"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.json()["review_state"], "created");
        let r = send("secretaire", "POST", "/s/college-communal".into(), json!({"@type": "Meeting", "title": "Séance prochaine", "date": next_week})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        // An item's type is added only in a body.
        let r = send("admin", "POST", "/s".into(), json!({"@type": "Meeting Item", "title": "Égaré"})).await;
        assert_eq!(r.status, 400, "{}", r.body);

        // The agent writes two items for yesterday's meeting and proposes them.
        let body = "/s/college-communal";
        for (id, title) in [("voirie", "Marché de voirie"), ("eclairage", "Éclairage public")] {
            let r = send("agent", "POST", body.into(), json!({"@type": "Meeting Item", "id": id, "title": title,
                "motivation": {"content-type": "text/html", "data": "<p>Vu la loi communale</p>"},
                "proposing_group": "travaux", "preferred_meeting": "seance-d-hier"})).await;
            assert_eq!(r.status, 201, "{}", r.body);
            assert_eq!(r.json()["review_state"], "itemcreated");
            // Only its creator's hierarchy validates it.
            let r = send("agent", "POST", format!("{body}/{id}/@workflow/validate"), json!({})).await;
            assert_eq!(r.status, 400, "not from itemcreated: {}", r.body);
            let r = send("agent", "POST", format!("{body}/{id}/@workflow/propose"), json!({"comment": "à valider"})).await;
            assert_eq!(r.status, 200, "{}", r.body);
            // Creators lose their edit rights once they propose.
            let r = send("agent", "PATCH", format!("{body}/{id}"), json!({"title": "Autre"})).await;
            assert!(matches!(r.status.as_u16(), 401 | 403), "{} {}", r.status, r.body);
            let r = send("agent", "POST", format!("{body}/{id}/@workflow/validate"), json!({})).await;
            assert!(matches!(r.status.as_u16(), 401 | 403), "the agent may not validate: {} {}", r.status, r.body);
            let r = send("chef", "POST", format!("{body}/{id}/@workflow/validate"), json!({})).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let r = send("chef", "POST", format!("{body}/{id}/@workflow/present"), json!({})).await;
            assert!(matches!(r.status.as_u16(), 401 | 403), "only meeting managers present: {} {}", r.status, r.body);
            let seen = |who| { let send = &send; let uri = format!("{body}/{id}"); async move { send(who, "GET", uri, Value::Null).await.status.as_u16() } };
            assert!(matches!(seen("observateur").await, 401 | 403), "the body's observers see items once on an agenda");
            let r = send("secretaire", "POST", format!("{body}/{id}/@workflow/present"), json!({})).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(seen("observateur").await, 200);
        }
        // Numbered on the agenda in the order presented, with the body's references.
        let v = state(format!("{body}/eclairage")).await;
        assert_eq!((v["review_state"].as_str(), v["item_number"].as_i64(), v["reference"].as_str()), (Some("presented"), Some(200), Some(format!("CC/{year}/2").as_str())), "{v}");
        let c = app.session("secretaire", "secretaire password").await;
        let page = app.get_with(&format!("{body}/eclairage"), &[("cookie", &c)]).await.body;
        assert!(page.contains(&format!("<dd>CC/{year}/2</dd>")) && page.contains("<dd>Travaux</dd>") && page.contains(">Motivation</h2>"), "{page}");
        let agenda = app.get_with(&format!("{body}/seance-d-hier/@agenda"), &[("authorization", &auth["secretaire"])]).await.json();
        let numbers: Vec<(&str, &str)> = agenda["items"].as_array().unwrap().iter().map(|i| (i["number"].as_str().unwrap(), i["title"].as_str().unwrap())).collect();
        assert_eq!(numbers, [("1", "Marché de voirie"), ("2", "Éclairage public")], "{agenda}");
        let r = app.get_with(&format!("{body}/seance-d-hier/@agenda"), &[]).await;
        assert_eq!(r.status, 401, "visitors see neither the meeting nor its items: {}", r.body);

        // Freezing the meeting freezes its items.
        let r = send("secretaire", "POST", format!("{body}/seance-d-hier/@workflow/freeze"), json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(state(format!("{body}/voirie")).await["review_state"], "itemfrozen");
        assert_eq!(state(format!("{body}/eclairage")).await["review_state"], "itemfrozen");

        // An item presented to a frozen meeting is a late item: the next sub-number,
        // frozen at once. Delayed, it is copied, validated, for a later meeting.
        let r = send("agent", "POST", body.into(), json!({"@type": "Meeting Item", "id": "urgent", "title": "Point urgent",
            "proposing_group": "travaux", "preferred_meeting": "seance-d-hier",
            "motivation": {"content-type": "text/html", "data": "<p>Vu l'urgence</p>"}})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        send("agent", "POST", format!("{body}/urgent/@workflow/propose"), json!({})).await;
        send("chef", "POST", format!("{body}/urgent/@workflow/validate"), json!({})).await;
        let r = send("secretaire", "POST", format!("{body}/urgent/@workflow/present"), json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = state(format!("{body}/urgent")).await;
        assert_eq!((v["review_state"].as_str(), v["item_number"].as_i64(), v["list_type"].as_str()), (Some("itemfrozen"), Some(201), Some("late")), "{v}");
        let agenda = app.get_with(&format!("{body}/seance-d-hier/@agenda"), &[("authorization", &auth["secretaire"])]).await.json();
        let numbers: Vec<&str> = agenda["items"].as_array().unwrap().iter().map(|i| i["number"].as_str().unwrap()).collect();
        assert_eq!(numbers, ["1", "2", "2.1"], "{agenda}");
        let r = send("secretaire", "POST", format!("{body}/urgent/@workflow/delay"), json!({"comment": "dossier incomplet"})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let found = state("/s/@search?portal_type=Meeting%20Item&SearchableText=urgent&metadata_fields=review_state".into()).await;
        let mut states: Vec<(&str, &str)> = found["items"].as_array().unwrap().iter().map(|i| (i["@id"].as_str().unwrap().rsplit('/').next().unwrap(), i["review_state"].as_str().unwrap())).collect();
        states.sort();
        assert_eq!(states, [("point-urgent", "validated"), ("urgent", "delayed")], "{found}");
        let copy = state(format!("{body}/point-urgent")).await;
        assert_eq!((copy["predecessor"].as_str(), copy["meeting"].as_str(), copy["proposing_group"].as_str()), (v["UID"].as_str(), None, Some("travaux")), "{copy}");
        assert!(copy["motivation"]["data"].as_str().unwrap().contains("urgence"), "{copy}");
        let r = app.get_with(&format!("{body}/point-urgent"), &[("authorization", &auth["agent"]), ("accept", "application/json")]).await;
        assert_eq!(r.status, 200, "its service still reads the copy: {}", r.body);

        // A decision needs its text.
        let r = send("secretaire", "POST", format!("{body}/voirie/@workflow/accept"), json!({})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        let r = send("secretaire", "PATCH", format!("{body}/voirie"), json!({"decision": {"content-type": "text/html", "data": "<p>Le collège attribue le marché</p>"}})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let r = send("secretaire", "POST", format!("{body}/voirie/@workflow/accept"), json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);

        // Closing accepts what is undecided, all or nothing: an item without its
        // decision text stops it, naming the item.
        let r = send("secretaire", "POST", format!("{body}/seance-d-hier/@workflow/decide"), json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = send("secretaire", "POST", format!("{body}/seance-d-hier/@workflow/close"), json!({})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.json()["message"].as_str().unwrap().starts_with("Éclairage public: "), "{}", r.body);
        assert_eq!(state(format!("{body}/seance-d-hier")).await["review_state"], "decided");
        assert_eq!(state(format!("{body}/eclairage")).await["review_state"], "itemfrozen");
        let r = send("secretaire", "PATCH", format!("{body}/eclairage"), json!({"decision": {"content-type": "text/html", "data": "<p>Approuvé</p>"}})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let r = send("secretaire", "POST", format!("{body}/seance-d-hier/@workflow/close"), json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(state(format!("{body}/eclairage")).await["review_state"], "accepted");
        let history = state(format!("{body}/eclairage/@history")).await;
        assert!(history.as_array().unwrap().iter().any(|h| h["action"] == "accept" && h["actor"]["id"] == "secretaire"), "{history}");

        // A closed meeting is not offered to items; with none preferred, an item goes to
        // the next open meeting, where nothing is decided before its date.
        let r = send("agent", "POST", body.into(), json!({"@type": "Meeting Item", "id": "tard", "title": "Trop tard", "proposing_group": "travaux", "preferred_meeting": "seance-d-hier"})).await;
        assert_eq!(r.status, 400, "the form offers only meetings open to items: {}", r.body);
        assert!(r.body.contains("preferred_meeting"), "{}", r.body);
        let open = send("agent", "GET", format!("{body}/@vocabularies/meetings.open_meetings"), json!({})).await.json();
        assert!(open["items"].as_array().unwrap().iter().all(|t| t["token"] != "seance-d-hier"), "{open}");
        let r = send("agent", "POST", body.into(), json!({"@type": "Meeting Item", "id": "tard", "title": "Trop tard", "proposing_group": "travaux"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        send("agent", "POST", format!("{body}/tard/@workflow/propose"), json!({})).await;
        send("chef", "POST", format!("{body}/tard/@workflow/validate"), json!({})).await;
        let r = send("secretaire", "PATCH", format!("{body}/tard"), json!({"decision": {"content-type": "text/html", "data": "<p>Oui</p>"}})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let r = send("secretaire", "POST", format!("{body}/tard/@workflow/present"), json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = state(format!("{body}/tard")).await;
        assert_eq!((v["item_number"].as_i64(), v["reference"].as_str().map(|r| r.ends_with("/4"))), (Some(100), Some(true)), "{v}");
        send("secretaire", "POST", format!("{body}/seance-prochaine/@workflow/freeze"), json!({})).await;
        let r = send("secretaire", "POST", format!("{body}/tard/@workflow/accept"), json!({})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("on or after the meeting's date"), "{}", r.body);
        // Taken back off the agenda, it loses its number.
        send("secretaire", "POST", format!("{body}/tard/@workflow/backToPresented"), json!({})).await;
        let r = send("secretaire", "POST", format!("{body}/tard/@workflow/backToValidated"), json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(state(format!("{body}/tard")).await["item_number"], Value::Null);

        // A secret item on an agenda stays hidden from the body's observers, in search too.
        let r = send("agent", "POST", body.into(), json!({"@type": "Meeting Item", "id": "huis-clos", "title": "Nomination", "proposing_group": "travaux", "privacy": "secret", "preferred_meeting": "seance-prochaine"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        send("agent", "POST", format!("{body}/huis-clos/@workflow/propose"), json!({})).await;
        send("chef", "POST", format!("{body}/huis-clos/@workflow/validate"), json!({})).await;
        assert_eq!(send("secretaire", "POST", format!("{body}/huis-clos/@workflow/present"), json!({})).await.status, 200);
        let v = state(format!("{body}/huis-clos")).await;
        assert_eq!((v["review_state"].as_str(), v["item_number"].as_i64(), v["list_type"].as_str()), (Some("itemfrozen"), Some(100), Some("normal")), "on a frozen but empty agenda, item 1, not 0.1: {v}");
        let r = send("observateur", "GET", format!("{body}/huis-clos"), Value::Null).await;
        assert!(matches!(r.status.as_u16(), 401 | 403), "{} {}", r.status, r.body);
        let found = send("observateur", "GET", "/s/@search?portal_type=Meeting%20Item".into(), Value::Null).await.json();
        let ids: Vec<&str> = found["items"].as_array().unwrap().iter().map(|i| i["@id"].as_str().unwrap().rsplit('/').next().unwrap()).collect();
        assert!(ids.contains(&"voirie") && !ids.contains(&"huis-clos"), "{found}");
    }

    async fn services_groups_decide_who_writes_validates_and_reads_and_empty_levels_are_skipped(db) {
        let (services, app) = with_meetings(&db).await;
        let s = db.site("s").await;
        services.set_site_apps(&beffroi_model::security::Principal::System, &s, &["cms".into(), "meetings".into()], &[]).await.unwrap();
        let people = ["admin", "agent", "chef", "dg", "secretaire", "echevin", "voisin", "seul"];
        let staff = Staff::new(&db, &app, &s, &people).await;
        let send = |who: &str, method, uri, body| staff.send(who, method, uri, body);
        let get = |who: &str, uri| staff.get(who, uri);
        let offered = |who: &str, uri: String| {
            let get = &get;
            let who = who.to_owned();
            async move {
                let v = get(&who, format!("{uri}/@workflow")).await.json();
                let mut ids: Vec<String> = v["transitions"].as_array().unwrap().iter().map(|t| t["@id"].as_str().unwrap().rsplit('/').next().unwrap().to_owned()).collect();
                ids.sort();
                ids
            }
        };

        // Three services; a second one called "travaux" anywhere in the tree is refused.
        assert_eq!(send("admin", "POST", "/s".into(), json!({"@type": "Organisation", "id": "org", "title": "Organisation"})).await.status, 201);
        for (id, title) in [("travaux", "Travaux"), ("population", "Population"), ("finances", "Finances")] {
            let r = send("admin", "POST", "/s/org".into(), json!({"@type": "Service", "id": id, "title": title})).await;
            assert_eq!(r.status, 201, "{}", r.body);
        }
        let r = send("admin", "POST", "/s/org/finances".into(), json!({"@type": "Service", "id": "travaux", "title": "Travaux bis"})).await;
        assert_eq!(r.status, 409, "{}", r.body);
        let r = get("admin", "/s/@groups/travaux_level2reviewers".into()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["title"], "Travaux — valideurs niveau 3");
        for (group, login) in [
            ("travaux_creators", "agent"), ("travaux_reviewers", "chef"), ("travaux_level2reviewers", "dg"),
            ("travaux_observers", "echevin"), ("finances_creators", "voisin"), ("population_creators", "seul"),
        ] {
            let r = send("admin", "PATCH", format!("/s/@groups/{group}"), json!({"users": {login: true}})).await;
            assert_eq!(r.status, 204, "{}", r.body);
        }
        // The college has three levels on; travaux's second has nobody in it.
        let r = send("admin", "POST", "/s".into(), json!({"@type": "Decision Body", "id": "college", "title": "Collège",
            "validation_levels": ["proposed", "proposedToValidationLevel1", "proposedToValidationLevel2"]})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(send("admin", "POST", "/s/college/@sharing".into(), json!({"entries": [{"id": "secretaire", "type": "user", "roles": {"MeetingManager": true}}]})).await.status, 204);

        // Creators write for their own service only; meetings are the secretary's.
        let item = |service: &str, id: &str| json!({"@type": "Meeting Item", "id": id, "title": format!("Point {id}"), "proposing_group": service});
        // (The services an agent may name are those the form offers him.)
        for other in ["finances", "nulle-part"] {
            let r = send("agent", "POST", "/s/college".into(), item(other, "faux")).await;
            assert_eq!(r.status, 400, "{}", r.body);
            assert!(r.body.contains("proposing_group") && r.body.contains("not one of the values offered"), "{}", r.body);
        }
        let terms = get("agent", "/s/college/@vocabularies/meetings.proposing_services".into()).await.json();
        assert_eq!(terms["items"], json!([{"title": "Travaux", "token": "travaux"}]), "{terms}");
        let terms = get("secretaire", "/s/college/@vocabularies/meetings.proposing_services".into()).await.json();
        assert_eq!(terms["items_total"], 3, "a meeting manager proposes for every service: {terms}");
        let r = send("agent", "POST", "/s/college".into(), json!({"@type": "Meeting", "title": "Séance", "date": "2030-01-01T10:00:00+00:00"})).await;
        assert!(matches!(r.status.as_u16(), 401 | 403), "meetings are their managers': {} {}", r.status, r.body);
        let r = send("echevin", "POST", "/s/college".into(), item("travaux", "faux")).await;
        assert!(matches!(r.status.as_u16(), 401 | 403), "observers do not write: {} {}", r.status, r.body);
        let r = send("agent", "POST", "/s/college".into(), item("travaux", "voirie")).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let p = "/s/college/voirie".to_owned();

        // Being written: the service's creators and nobody else below the managers.
        assert!(matches!(get("chef", p.clone()).await.status.as_u16(), 401 | 403), "reviewers see an item once proposed");
        assert!(matches!(get("voisin", p.clone()).await.status.as_u16(), 401 | 403), "another service's creators never see it");
        assert_eq!(get("echevin", p.clone()).await.status, 200, "the service's observers read it");
        assert_eq!(offered("agent", p.clone()).await, ["propose"]);
        let r = send("agent", "POST", format!("{p}/@workflow/validate"), json!({})).await;
        assert_eq!(r.status, 400, "the chain goes through the reviewers: {}", r.body);

        // Proposed: the head reviews; the empty second level is skipped.
        assert_eq!(send("agent", "POST", format!("{p}/@workflow/propose"), json!({})).await.status, 200);
        assert_eq!(offered("agent", p.clone()).await, Vec::<String>::new());
        assert_eq!(offered("chef", p.clone()).await, ["backToItemCreated", "proposeToValidationLevel2"]);
        assert_eq!(offered("dg", p.clone()).await, Vec::<String>::new(), "the third level reads but does not act yet");
        assert_eq!(get("dg", p.clone()).await.status, 200);
        let r = send("chef", "POST", format!("{p}/@workflow/proposeToValidationLevel1"), json!({})).await;
        assert_eq!(r.status, 400, "an empty level is skipped: {}", r.body);
        let r = send("chef", "POST", format!("{p}/@workflow/validate"), json!({})).await;
        assert_eq!(r.status, 400, "the last level is not skipped: {}", r.body);
        assert_eq!(send("chef", "POST", format!("{p}/@workflow/proposeToValidationLevel2"), json!({})).await.status, 200);
        assert_eq!(get("agent", p.clone()).await.json()["review_state"], "proposedToValidationLevel2");
        let r = send("chef", "PATCH", p.clone(), json!({"title": "Changé"})).await;
        assert!(matches!(r.status.as_u16(), 401 | 403), "the previous level no longer edits: {} {}", r.status, r.body);
        assert_eq!(offered("dg", p.clone()).await, ["backToProposed", "validate"]);
        assert_eq!(send("dg", "POST", format!("{p}/@workflow/validate"), json!({})).await.status, 200);

        // Validated: the secretary may send it back to the last level only.
        assert_eq!(offered("secretaire", p.clone()).await, ["backToProposedToValidationLevel2", "present"]);
        let r = send("secretaire", "POST", format!("{p}/@workflow/backToProposed"), json!({})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(send("secretaire", "POST", format!("{p}/@workflow/backToProposedToValidationLevel2"), json!({"comment": "montant ?"})).await.status, 200);
        assert_eq!(offered("dg", p.clone()).await, ["backToProposed", "validate"]);

        // A secret item is hidden from the service's observers, in search too.
        assert_eq!(send("agent", "POST", "/s/college".into(), json!({"@type": "Meeting Item", "id": "personnel", "title": "Nomination", "proposing_group": "travaux", "privacy": "secret"})).await.status, 201);
        assert!(matches!(get("echevin", "/s/college/personnel".into()).await.status.as_u16(), 401 | 403));
        let found = get("echevin", "/s/@search?portal_type=Meeting%20Item".into()).await.json();
        let ids: Vec<&str> = found["items"].as_array().unwrap().iter().map(|i| i["@id"].as_str().unwrap().rsplit('/').next().unwrap()).collect();
        assert_eq!(ids, ["voirie"], "{found}");
        let found = get("voisin", "/s/@search?portal_type=Meeting%20Item".into()).await.json();
        assert_eq!(found["items_total"], 0, "{found}");

        // A service without reviewers: its creator validates himself.
        assert_eq!(send("seul", "POST", "/s/college".into(), item("population", "etat-civil")).await.status, 201);
        assert_eq!(offered("seul", "/s/college/etat-civil".into()).await, ["validate"]);
        let r = send("seul", "POST", "/s/college/etat-civil/@workflow/propose".into(), json!({})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(send("seul", "POST", "/s/college/etat-civil/@workflow/validate".into(), json!({})).await.status, 200);

        // Moving an item to another service takes the old service's groups off it.
        assert_eq!(send("admin", "PATCH", "/s/college/personnel".into(), json!({"proposing_group": "finances"})).await.status, 204);
        let sharing = get("admin", "/s/college/personnel/@sharing".into()).await.json();
        let holders: Vec<&str> = sharing["entries"].as_array().unwrap().iter().filter(|e| e["roles"].as_object().unwrap().values().any(|v| v == true)).map(|e| e["id"].as_str().unwrap()).collect();
        assert!(holders.contains(&"finances_creators") && !holders.iter().any(|h| h.starts_with("travaux_")), "{sharing}");
        assert_eq!(get("voisin", "/s/college/personnel".into()).await.status, 200);
        assert_eq!(get("agent", "/s/college/personnel".into()).await.status, 200, "its creator keeps ownership");
    }

    async fn the_demo_shows_each_role_what_waits_for_them_and_the_secretary_presents_from_the_meeting(db) {
        let (services, app) = with_meetings(&db).await;
        let pw = "demo password";
        assert!(beffroi_cms::demo::seed(&services, pw).await.unwrap());
        assert!(beffroi_meetings::demo::seed(&services, "demo", pw).await.unwrap());
        assert!(!beffroi_meetings::demo::seed(&services, "demo", pw).await.unwrap(), "seeding twice adds nothing");
        let page = |login: &'static str, uri: &'static str| {
            let app = &app;
            async move {
                let c = app.session_on("demo", login, pw).await;
                let r = app.get_with(uri, &[("cookie", &c)]).await;
                assert_eq!(r.status, 200, "{login} {uri}: {}", r.body);
                (r.body, c)
            }
        };
        let section = |body: &str, title: &str| -> String {
            body.split(&format!(">{title}</h2>")).nth(1).map(|rest| rest.split("</section>").next().unwrap().to_owned()).unwrap_or_default()
        };

        // The body's page: meetings to come and past for everyone in it; what waits for
        // each reader.
        let (body, _) = page("agent", "/demo/college").await;
        assert!(section(&body, "Séances à venir").contains("Séance du collège (semaine prochaine)"), "{body}");
        assert!(section(&body, "Séances passées").contains("Séance du collège (semaine passée)"), "{body}");
        let mine = section(&body, "Mes points");
        assert_eq!(mine.matches("<tr><td>").count(), 8, "{mine}");
        assert!(mine.contains("Parking vélos couvert") && mine.contains("Travaux") && mine.contains("En création"), "{mine}");
        let (body, _) = page("chef", "/demo/college").await;
        let todo = section(&body, "Points à valider");
        assert!(todo.contains("Abattage de deux tilleuls") && !todo.contains("Trottoirs"), "{todo}");
        let (body, _) = page("dg", "/demo/college").await;
        let todo = section(&body, "Points à valider");
        assert!(todo.contains("Trottoirs aux abords") && !todo.contains("Abattage"), "{todo}");
        assert!(!body.contains("Points validés, pas encore en séance"), "only managers present");
        let (body, _) = page("df", "/demo/college").await;
        let advise = section(&body, "Avis à rendre");
        assert!(advise.contains("Trottoirs aux abords") && !advise.contains("épandage"), "{body}");
        let (item, _) = page("df", "/demo/college/salage-hiver").await;
        assert!(section(&item, "Avis").contains("favorable"), "{item}");
        let (item, _) = page("secretaire", "/demo/college/salage-hiver").await;
        assert!(item.contains("/@@edit\">") && !item.contains("type=Meeting Advice"), "advices are not offered to add by hand: {item}");
        let (body, _) = page("secretaire", "/demo/college").await;
        assert!(section(&body, "Points validés, pas encore en séance").contains("épandage hivernal"), "{body}");
        assert!(!body.contains("Parking vélos"), "an item being written is its service's business");
        let r = app.get("/demo/college").await;
        assert_ne!(r.status, 200, "visitors do not see the bodies");

        // The meeting's page: its agenda in order, then the validated items, each with
        // a button that presents it here.
        let (body, cookie) = page("secretaire", "/demo/college/seance-en-preparation").await;
        let agenda = section(&body, "Ordre du jour");
        let first = agenda.find("Plaine de jeux").unwrap();
        let second = agenda.find("Égouttage de la rue Haute").unwrap();
        assert!(first < second && agenda.contains("<td>1</td>") && agenda.contains("<td>2</td>"), "{agenda}");
        let available = section(&body, "Points validés à présenter");
        assert!(available.contains("épandage hivernal"), "{body}");
        let uid = available.split("name=\"item\" value=\"").nth(1).unwrap()[..32].to_owned();
        let present = "/demo/college/seance-en-preparation/@@present";
        let form = |token: &str, uid: &str| format!("_csrf={token}&item={uid}");
        let r = app.post_form(present, &cookie, form("wrong", &uid)).await;
        assert_eq!(r.status, 403, "a form without its token is refused: {}", r.body);
        let (agent_page, agent_cookie) = page("agent", "/demo/college/seance-en-preparation").await;
        assert!(!agent_page.contains("Points validés à présenter"), "only its managers see what to present");
        let r = app.post_form(present, &agent_cookie, form(&csrf(&agent_page), &uid)).await;
        assert!(matches!(r.status.as_u16(), 401 | 403), "{} {}", r.status, r.body);
        let r = app.post_form(present, &cookie, form(&csrf(&body), &uid)).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let (body, cookie) = page("secretaire", "/demo/college/seance-en-preparation").await;
        let agenda = section(&body, "Ordre du jour");
        assert!(agenda.contains("épandage hivernal") && agenda.contains("<td>3</td>"), "{agenda}");
        assert!(!body.contains("Points validés à présenter"), "nothing left to present");
        // Moved up by hand (a form, for the keyboard), the agenda is renumbered.
        let move_item = |token: &str, direction: &str| {
            let body = format!("_csrf={token}&item={uid}&direction={direction}");
            app.post_form("/demo/college/seance-en-preparation/@@move-item", &cookie, body)
        };
        let r = move_item(&csrf(&body), "sideways").await;
        assert_eq!(r.status, 400, "{}", r.body);
        let r = move_item(&csrf(&body), "up").await;
        assert_eq!(r.status, 303, "{}", r.body);
        let (body, _) = page("secretaire", "/demo/college/seance-en-preparation").await;
        let agenda = section(&body, "Ordre du jour");
        let (salage, egout) = (agenda.find("épandage hivernal").unwrap(), agenda.find("Égouttage").unwrap());
        assert!(salage < egout, "{agenda}");
        let (item, _) = page("agent", "/demo/college/salage-hiver").await;
        assert!(item.contains("<dd>2</dd>"), "{item}");
        let (item, _) = page("agent", "/demo/college/egouttage-rue-haute").await;
        assert!(item.contains("<dd>3</dd>"), "{item}");
        // Dragged and dropped (the page's script posts how many places it moved), the
        // first item goes straight to the bottom.
        let (body, mover) = page("secretaire", "/demo/college/seance-en-preparation").await;
        assert!(body.contains("data-move-url=\"http://localhost/demo/college/seance-en-preparation/@@move-item\"") && body.contains("draggable=\"true\"") && body.contains("move-rows.js"), "{body}");
        let first = body.split("data-item=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_owned();
        let drag = |token: &str, by: &str| {
            let form = format!("_csrf={token}&item={first}&by={by}");
            app.post_form("/demo/college/seance-en-preparation/@@move-item", &mover, form)
        };
        for by in ["0", "-1", "beaucoup"] {
            let r = drag(&csrf(&body), by).await;
            assert_eq!(r.status, 400, "{by}: {}", r.body);
        }
        let r = drag(&csrf(&body), "2").await;
        assert_eq!(r.status, 303, "{}", r.body);
        let (item, _) = page("agent", "/demo/college/plaine-de-jeux").await;
        assert!(item.contains("<dd>3</dd>"), "{item}");
        let (item, _) = page("agent", "/demo/college/salage-hiver").await;
        assert!(item.contains("<dd>1</dd>"), "{item}");
        // Taken off the agenda, an item leaves no gap.
        let token = app.bearer("demo", "secretaire", pw).await;
        let r = app.send_json("POST", "/demo/college/plaine-de-jeux/@workflow/backToValidated", &token, json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let agenda = app.get_with("/demo/college/seance-en-preparation/@agenda", &[("authorization", &token)]).await.json();
        let numbers: Vec<(&str, &str)> = agenda["items"].as_array().unwrap().iter().map(|i| (i["number"].as_str().unwrap(), i["title"].as_str().unwrap())).collect();
        assert_eq!(numbers.iter().map(|n| n.0).collect::<Vec<_>>(), ["1", "2"], "{agenda}");
        assert!(numbers[0].1.contains("épandage") && numbers[1].1.starts_with("Égouttage"), "{agenda}");
        let (item, _) = page("agent", "/demo/college/salage-hiver").await;
        assert!(item.contains("Séance du collège (semaine prochaine)</a>") && item.contains("<dd>Travaux</dd>"), "{item}");
        // Its group in charge is the service's alderman.
        assert!(item.contains("<dt>En charge</dt><dd>Jean Collard (Échevin)</dd>"), "{item}");
        let json = app.get_with("/demo/college/salage-hiver", &[("authorization", &token), ("accept", "application/json")]).await.json();
        assert_eq!(json["in_charge"], "jean-collard", "{json}");
        // The past meeting's items were decided when it closed.
        let (body, _) = page("echevin", "/demo/college/seance-precedente").await;
        assert_eq!(section(&body, "Ordre du jour").matches("Accepté").count(), 2, "{body}");
    }

    async fn advices_are_asked_when_an_item_leaves_its_service_given_by_advisers_and_outdated_by_edits(db) {
        let (services, app) = with_meetings(&db).await;
        let s = db.site("s").await;
        services.set_site_apps(&beffroi_model::security::Principal::System, &s, &["cms".into(), "meetings".into()], &[]).await.unwrap();
        let people = ["admin", "agent", "chef", "df", "secretaire"];
        let staff = Staff::new(&db, &app, &s, &people).await;
        let send = |who: &str, method, uri, body| staff.send(who, method, uri, body);
        let get = |who: &str, uri| staff.get(who, uri);
        assert_eq!(send("admin", "POST", "/s".into(), json!({"@type": "Organisation", "id": "org", "title": "Organisation"})).await.status, 201);
        for (id, title) in [("travaux", "Travaux"), ("finances", "Finances")] {
            assert_eq!(send("admin", "POST", "/s/org".into(), json!({"@type": "Service", "id": id, "title": title})).await.status, 201);
        }
        for (group, login) in [("travaux_creators", "agent"), ("travaux_reviewers", "chef"), ("finances_advisers", "df")] {
            assert_eq!(send("admin", "PATCH", format!("/s/@groups/{group}"), json!({"users": {login: true}})).await.status, 204);
        }
        let r = send("admin", "POST", "/s".into(), json!({"@type": "Decision Body", "id": "college", "title": "Collège", "advice_delay": 5, "budget_adviser": "finances"})).await;
        assert_eq!(r.status, 201, "{}", r.body);

        // A budget impact asks the finance service, once the item leaves its service.
        let r = send("agent", "POST", "/s/college".into(), json!({"@type": "Meeting Item", "id": "achat", "title": "Achat d'un camion", "proposing_group": "travaux", "budget_impact": true})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let advices = |who: &'static str| {
            let get = &get;
            async move { get(who, "/s/@search?portal_type=Meeting%20Advice&metadata_fields=review_state".into()).await.json() }
        };
        assert_eq!(advices("admin").await["items_total"], 0);
        assert!(matches!(get("df", "/s/college/achat".into()).await.status.as_u16(), 401 | 403));
        let r = send("admin", "POST", "/s/college/achat".into(), json!({"@type": "Meeting Advice", "title": "À la main", "advice_group": "finances"})).await;
        assert_eq!(r.status, 400, "advices are not added by hand: {}", r.body);
        assert_eq!(send("agent", "POST", "/s/college/achat/@workflow/propose".into(), json!({})).await.status, 200);
        let found = advices("admin").await;
        assert_eq!(found["items_total"], 1, "{found}");
        let advice = found["items"][0]["@id"].as_str().unwrap().trim_start_matches("http://localhost").to_owned();
        assert!(advice.starts_with("/s/college/achat/"), "the advice lives in its item: {advice}");
        let a = get("df", advice.clone()).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let a = a.json();
        assert_eq!((a["advice_group"].as_str(), a["review_state"].as_str()), (Some("finances"), Some("advice_under_edit")), "{a}");
        let due = chrono::DateTime::parse_from_rfc3339(a["due"].as_str().unwrap()).unwrap().date_naive();
        let today = chrono::Utc::now().date_naive();
        assert!(due >= today + chrono::Duration::days(7) && due <= today + chrono::Duration::days(15), "5 working days: {due}");
        assert_eq!(get("df", "/s/college/achat".into()).await.status, 200, "advisers read the item");
        let c = app.session("df", "df password").await;
        let page = app.get_with("/s/college", &[("cookie", &c)]).await.body;
        assert!(page.contains(">Avis à rendre</h2>") && page.contains("Finances — Achat d&#39;un camion") && page.contains("5 jours ouvrables"), "{page}");

        // The item's service cannot write it; the adviser gives it with its type.
        let r = send("agent", "PATCH", advice.clone(), json!({"advice_type": "negative"})).await;
        assert!(matches!(r.status.as_u16(), 401 | 403), "{} {}", r.status, r.body);
        let r = send("df", "POST", format!("{advice}/@workflow/giveAdvice"), json!({})).await;
        assert_eq!(r.status, 400, "an advice is given with its type: {}", r.body);
        let r = send("df", "PATCH", advice.clone(), json!({"advice_type": "positive_with_remarks", "comment": {"content-type": "text/html", "data": "<p>Crédit disponible à l'article 421/743-52.</p>"}})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(send("df", "POST", format!("{advice}/@workflow/giveAdvice"), json!({})).await.status, 200);
        let r = send("df", "PATCH", advice.clone(), json!({"advice_type": "negative"})).await;
        assert!(matches!(r.status.as_u16(), 401 | 403), "a given advice is closed: {} {}", r.status, r.body);

        // An edit of the item afterwards outdates it, on the item's page too.
        assert_eq!(send("chef", "PATCH", "/s/college/achat".into(), json!({"title": "Achat d'un camion-benne"})).await.status, 204);
        assert_eq!(get("admin", advice.clone()).await.json()["outdated"], true);
        let c = app.session("chef", "chef password").await;
        let page = app.get_with("/s/college/achat", &[("cookie", &c)]).await.body;
        assert!(page.contains(">Avis</h2>") && page.contains("favorable avec remarques (dépassé"), "{page}");

        // An adviser that is no service stops the proposal, which changes nothing.
        let r = send("agent", "POST", "/s/college".into(), json!({"@type": "Meeting Item", "id": "autre", "title": "Autre", "proposing_group": "travaux", "optional_advisers": ["nulle-part"]})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("nulle-part"), "{}", r.body);
        assert_eq!(get("agent", "/s/college/autre".into()).await.status, 404, "nothing was made");
    }

    async fn attendance_and_votes_are_checked_and_read_for_the_minutes(db) {
        let (services, app) = with_meetings(&db).await;
        let pw = "demo password";
        assert!(beffroi_cms::demo::seed(&services, pw).await.unwrap());
        assert!(beffroi_meetings::demo::seed(&services, "demo", pw).await.unwrap());
        let auth = app.bearer("demo", "secretaire", pw).await;
        let get = |uri: String| {
            let (app, auth) = (&app, auth.clone());
            async move { app.get_with(&uri, &[("authorization", &auth), ("accept", "application/json")]).await.json() }
        };
        let patch = |uri: &str, body: Value| {
            let (app, auth, uri) = (&app, auth.clone(), uri.to_owned());
            async move { app.send_json("PATCH", &uri, &auth, body).await }
        };

        // The past meeting: who sat, in what position, who signed; its vote's sentence.
        let a = get("/demo/college/seance-precedente/@attendees".into()).await;
        let people: Vec<(&str, &str, &str, bool)> = a["items"].as_array().unwrap().iter().map(|p| (p["id"].as_str().unwrap(), p["position"].as_str().unwrap(), p["status"].as_str().unwrap(), p["signatory"].as_bool().unwrap())).collect();
        assert_eq!(people, [
            ("denise-dubois", "Directrice générale", "present", true),
            ("emilie-lambert", "Échevine", "present", false),
            ("jean-collard", "Échevin", "excused", false),
            ("marc-dupont", "Bourgmestre", "present", true),
        ], "{a}");
        let v = get("/demo/college/marche-voiries/@votes".into()).await;
        assert_eq!(v["vote"]["sentence"], "par 1 voix pour, 0 contre et 1 abstention", "{v}");
        assert_eq!(v["vote"]["voters"]["abstain"], json!(["emilie-lambert"]));
        let c = app.session_on("demo", "secretaire", pw).await;
        let page = app.get_with("/demo/college/seance-precedente", &[("cookie", &c)]).await.body;
        assert!(page.contains(">Présences</h2>") && page.contains("<dt>Présents</dt><dd>Denise Dubois (Directrice générale), signataire ; Émilie Lambert (Échevine) ; Marc Dupont (Bourgmestre), signataire</dd>"), "{page}");
        assert!(!page.contains(">Organisation communale</a>"), "the organisation is out of the navigation");
        let page = app.get_with("/demo/college/marche-voiries", &[("cookie", &c)]).await.body;
        assert!(page.contains("par 1 voix pour, 0 contre et 1 abstention"), "{page}");

        // Attendance names persons of the body, each once; signatories are present.
        let m = "/demo/college/seance-en-preparation";
        for (bad, why) in [
            (json!({"attendees": ["personne"]}), "not one of the values offered"),
            (json!({"attendees": ["sophie-renard"]}), "not one of the values offered"),
            (json!({"attendees": ["marc-dupont"], "excused": ["marc-dupont"]}), "twice"),
            (json!({"attendees": ["marc-dupont"], "signatories": ["jean-collard"]}), "not among those present"),
        ] {
            let r = patch(m, bad.clone()).await;
            assert_eq!(r.status, 400, "{bad}: {}", r.body);
            assert!(r.body.contains(why), "{bad}: {}", r.body);
        }
        assert_eq!(get(format!("{m}/@attendees")).await["items"].as_array().unwrap().iter().filter(|p| p["status"] != "unknown").count(), 0, "nothing changed");

        // A person holds several positions: the councillor who chairs the CPAS since
        // yesterday sits in the college as its chair, from then on only.
        let admin = app.bearer("demo", "admin", pw).await;
        let since = (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
        let chair = json!({"@type": "Held Position", "title": "Présidente du CPAS", "position": "president_cpas", "bodies": ["college"], "position_start": since});
        let r = app.send_json("POST", "/demo/organisation/sophie-renard", &admin, chair).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let seated = |a: &Value| a["items"].as_array().unwrap().iter().map(|p| (p["id"].as_str().unwrap().to_owned(), p["position"].as_str().unwrap().to_owned())).collect::<Vec<_>>();
        let now = seated(&get(format!("{m}/@attendees")).await);
        assert!(now.contains(&("sophie-renard".to_owned(), "Présidente du CPAS".to_owned())), "{now:?}");
        let before = seated(&get("/demo/college/seance-precedente/@attendees".into()).await);
        assert!(!before.iter().any(|(id, _)| id == "sophie-renard"), "not before she held it: {before:?}");
        let terms = get(format!("{m}/@vocabularies/meetings.persons")).await;
        assert!(terms["items"].as_array().unwrap().iter().any(|t| t["title"] == "Sophie Renard (Présidente du CPAS)"), "{terms}");
        let terms = get("/demo/conseil/@vocabularies/meetings.persons".into()).await;
        assert!(terms["items"].as_array().unwrap().iter().any(|t| t["title"] == "Sophie Renard (Conseillère communale)"), "in the council, her own record's: {terms}");
        let r = patch(m, json!({"excused": ["sophie-renard"]})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let r = patch(m, json!({"excused": []})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let r = patch(m, json!({"attendees": ["marc-dupont", "emilie-lambert", "jean-collard"], "signatories": ["marc-dupont"]})).await;
        assert_eq!(r.status, 204, "{}", r.body);

        // Votes: by those present and not absent for the item, counts within them.
        let item = "/demo/college/plaine-de-jeux";
        let r = patch(item, json!({"vote_secret": true, "vote_count_yes": 3, "vote_count_no": 1})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("counts 4 voters but only 3"), "{}", r.body);
        let r = patch(item, json!({"item_absents": ["emilie-lambert"], "votes_yes": ["emilie-lambert"]})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        let r = patch(item, json!({"votes_yes": ["marc-dupont"], "votes_no": ["marc-dupont"]})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("voted twice"), "{}", r.body);
        let r = patch(item, json!({"item_absents": ["emilie-lambert"], "votes_yes": ["marc-dupont"], "votes_no": ["jean-collard"]})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(get(format!("{item}/@votes")).await["vote"]["sentence"], "par 1 voix pour, 1 contre et aucune abstention");
        let a = get(format!("{item}/@attendees")).await;
        assert!(a["items"].as_array().unwrap().iter().any(|p| p["id"] == "emilie-lambert" && p["status"] == "absent_for_item"), "{a}");
        let r = patch(item, json!({"vote_secret": true, "vote_count_yes": 2})).await;
        assert_eq!(r.status, 400, "a secret vote keeps no names: {}", r.body);
        let r = patch(item, json!({"vote_secret": true, "votes_yes": [], "votes_no": [], "vote_count_yes": 2})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let v = get(format!("{item}/@votes")).await;
        assert_eq!((v["vote"]["sentence"].as_str(), v["vote"].get("voters")), (Some("à l'unanimité (2 voix)"), None), "{v}");
        let votes = get(format!("{m}/@votes")).await;
        assert!(votes["items"].as_array().unwrap().iter().any(|i| i["title"].as_str().unwrap().starts_with("Plaine de jeux") && i["vote"]["yes"] == 2), "{votes}");

        // Several votes on one item: an amendment, voted apart by those who may vote,
        // recorded by the body's meeting managers only.
        let amendment = json!({"@type": "Meeting Vote", "id": "amendement", "title": "Amendement : clôture du parc", "votes_yes": ["marc-dupont"], "votes_no": ["jean-collard"]});
        let agent = app.bearer("demo", "agent", pw).await;
        let r = app.send_json("POST", item, &agent, amendment.clone()).await;
        assert!(matches!(r.status.as_u16(), 401 | 403), "{} {}", r.status, r.body);
        let r = app.send_json("POST", item, &auth, json!({"@type": "Meeting Vote", "title": "Amendement", "votes_yes": ["emilie-lambert"]})).await;
        assert_eq!(r.status, 400, "she is absent for this item: {}", r.body);
        let r = app.send_json("POST", item, &auth, amendment).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let v = get(format!("{item}/@votes")).await;
        assert_eq!(v["vote"]["sentence"], "à l'unanimité (2 voix)", "the item's own vote is unchanged: {v}");
        assert_eq!((v["votes"][0]["title"].as_str(), v["votes"][0]["sentence"].as_str()), (Some("Amendement : clôture du parc"), Some("par 1 voix pour, 1 contre et aucune abstention")), "{v}");
        let votes = get(format!("{m}/@votes")).await;
        assert!(votes["items"].as_array().unwrap().iter().any(|i| i["votes"][0]["title"] == "Amendement : clôture du parc"), "{votes}");
        let page = app.get_with(item, &[("cookie", &c)]).await.body;
        assert!(page.contains("Amendement : clôture du parc</a></dt><dd>par 1 voix pour, 1 contre et aucune abstention</dd>"), "{page}");

        // The body's vote settings: the college votes in public, for or against.
        let admin = app.bearer("demo", "admin", pw).await;
        let r = app.send_json("PATCH", "/demo/college", &admin, json!({"poll_types": ["public"], "vote_values": ["yes", "no"]})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let r = patch(item, json!({"vote_count_yes": 1})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("Collège communal holds no secret vote"), "{}", r.body);
        let r = patch(item, json!({"vote_secret": false, "vote_count_yes": null, "votes_yes": ["marc-dupont"], "votes_abstain": ["jean-collard"]})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("does not count"), "{}", r.body);
        let r = patch(item, json!({"vote_secret": false, "vote_count_yes": null, "votes_yes": ["marc-dupont", "jean-collard"]})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(get(format!("{item}/@votes")).await["vote"]["sentence"], "à l'unanimité (2 voix)");
    }

    async fn a_body_chooses_its_decisions_agenda_order_and_recurring_items(db) {
        let (services, app) = with_meetings(&db).await;
        let pw = "demo password";
        assert!(beffroi_cms::demo::seed(&services, pw).await.unwrap());
        assert!(beffroi_meetings::demo::seed(&services, "demo", pw).await.unwrap());
        let mut auth = std::collections::HashMap::new();
        for login in ["admin", "agent", "chef", "dg", "secretaire"] {
            auth.insert(login, app.bearer("demo", login, pw).await);
        }
        let send = |who: &str, method: &'static str, uri: String, body: Value| {
            let (app, token) = (&app, auth[who].clone());
            async move { app.send_json(method, &uri, &token, body).await }
        };
        let body = "/demo/conseil";

        // The council's settings, checked: recurring items name their service.
        for (bad, why) in [("Sans service", "is not \\\"Title | service\\\""), ("Motion | nulle-part", "not a service")] {
            let r = send("admin", "PATCH", body.into(), json!({"recurring_items": bad})).await;
            assert_eq!(r.status, 400, "{bad}: {}", r.body);
            assert!(r.body.contains(why), "{bad}: {}", r.body);
        }
        let r = send("admin", "PATCH", body.into(), json!({
            "insertion_order": ["category", "privacy"],
            "decided_states": ["refused", "returned_to_proposing_group"],
            "recurring_items": "Approbation du procès-verbal de la séance précédente | population",
            "places": "\nSalle du conseil, hôtel de ville\nSalle des fêtes",
        })).await;
        assert_eq!(r.status, 204, "{}", r.body);

        // A new meeting starts with the recurring item on its agenda, in the body's usual place.
        let held = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
        let r = send("secretaire", "POST", body.into(), json!({"@type": "Meeting", "id": "extra", "title": "Conseil extraordinaire", "date": held})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let extra = send("secretaire", "GET", format!("{body}/extra"), json!(null)).await.json();
        assert_eq!(extra["place"], "Salle du conseil, hôtel de ville");
        let r = send("secretaire", "POST", body.into(), json!({"@type": "Meeting", "id": "fetes", "title": "Conseil décentralisé", "date": held, "place": "Salle des fêtes"})).await;
        assert_eq!(r.json()["place"], "Salle des fêtes", "a place given is kept: {}", r.body);
        // Meetings are numbered per body and year; a number sent is not taken.
        let first = extra["meeting_number"].as_i64().unwrap();
        assert_eq!(r.json()["meeting_number"].as_i64(), Some(first + 1), "{}", r.body);
        let next_year = (chrono::Utc::now() + chrono::Duration::days(400)).to_rfc3339();
        let r = send("secretaire", "POST", body.into(), json!({"@type": "Meeting", "title": "Conseil de l'an prochain", "date": next_year, "meeting_number": 99})).await;
        assert_eq!(r.json()["meeting_number"], 1, "{}", r.body);
        let agenda = |who: &'static str| {
            let send = &send;
            async move {
                let a = send(who, "GET", format!("{body}/extra/@agenda"), json!(null)).await.json();
                a["items"].as_array().unwrap().iter().map(|i| (i["number"].as_str().unwrap().to_owned(), i["title"].as_str().unwrap().to_owned())).collect::<Vec<_>>()
            }
        };
        assert_eq!(agenda("secretaire").await, [("1".to_owned(), "Approbation du procès-verbal de la séance précédente".to_owned())]);

        // Items presented take their place by category (the body's order), then privacy.
        for (id, category, privacy) in [("kermesse", "Divers", "public"), ("huis-clos", "Travaux publics", "secret"), ("voirie", "Travaux publics", "public")] {
            let r = send("agent", "POST", body.into(), json!({"@type": "Meeting Item", "id": id, "title": id, "proposing_group": "travaux",
                "category": category, "privacy": privacy, "preferred_meeting": "extra",
                "decision": {"content-type": "text/html", "data": "<p>Décide.</p>"}})).await;
            assert_eq!(r.status, 201, "{}", r.body);
            for (who, t) in [("agent", "propose"), ("chef", "proposeToValidationLevel1"), ("dg", "validate"), ("secretaire", "present")] {
                let r = send(who, "POST", format!("{body}/{id}/@workflow/{t}"), json!({})).await;
                assert_eq!(r.status, 200, "{who} {t} {id}: {}", r.body);
            }
        }
        let numbered: Vec<(String, String)> = agenda("secretaire").await;
        let order: Vec<&str> = numbered.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(order, ["voirie", "huis-clos", "kermesse", "Approbation du procès-verbal de la séance précédente"], "{numbered:?}");
        assert_eq!(numbered.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["1", "2", "3", "4"]);

        // Only the decisions the body takes are offered, and taken.
        assert_eq!(send("secretaire", "POST", format!("{body}/extra/@workflow/freeze"), json!({})).await.status, 200);
        let offered = send("secretaire", "GET", format!("{body}/voirie/@workflow"), json!(null)).await.json();
        let ids: Vec<&str> = offered["transitions"].as_array().unwrap().iter().map(|t| t["@id"].as_str().unwrap().rsplit('/').next().unwrap()).collect();
        assert!(ids.contains(&"accept") && ids.contains(&"refuse") && ids.contains(&"return_to_proposing_group"), "{ids:?}");
        assert!(!ids.contains(&"delay") && !ids.contains(&"accept_but_modify"), "{ids:?}");
        let r = send("secretaire", "POST", format!("{body}/voirie/@workflow/delay"), json!({})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("does not take the decision"), "{}", r.body);

        // Returned to its service, the item is written again by its creators; the
        // meeting is not closed while it is away; it comes back frozen.
        assert!(matches!(send("agent", "PATCH", format!("{body}/voirie"), json!({"description": "précisé"})).await.status.as_u16(), 401 | 403));
        let r = send("secretaire", "POST", format!("{body}/voirie/@workflow/return_to_proposing_group"), json!({"comment": "Compléter le métré"})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(send("agent", "PATCH", format!("{body}/voirie"), json!({"description": "précisé"})).await.status, 204);
        assert_eq!(send("secretaire", "POST", format!("{body}/extra/@workflow/decide"), json!({})).await.status, 200);
        let r = send("secretaire", "POST", format!("{body}/extra/@workflow/close"), json!({})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("still returned") && r.body.contains("voirie"), "{}", r.body);
        let offered = send("secretaire", "GET", format!("{body}/voirie/@workflow"), json!(null)).await.json();
        let ids: Vec<&str> = offered["transitions"].as_array().unwrap().iter().map(|t| t["@id"].as_str().unwrap().rsplit('/').next().unwrap()).collect();
        assert_eq!(ids, ["backTo_itemfrozen_from_returned_to_proposing_group"], "the meeting is frozen: the item comes back frozen");
        let r = send("secretaire", "POST", format!("{body}/voirie/@workflow/backTo_itemfrozen_from_returned_to_proposing_group"), json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(matches!(send("agent", "PATCH", format!("{body}/voirie"), json!({"description": "encore"})).await.status.as_u16(), 401 | 403));
        let r = send("secretaire", "POST", format!("{body}/extra/@workflow/close"), json!({})).await;
        assert_eq!(r.status, 400, "an item without its decision text is not accepted: {}", r.body);
        assert!(r.body.contains("Approbation du procès-verbal"), "{}", r.body);
        let pv = format!("{body}/approbation-du-proces-verbal-de-la-seance-precedente");
        let r = send("secretaire", "PATCH", pv, json!({"decision": {"content-type": "text/html", "data": "<p>Approuve le procès-verbal.</p>"}})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let r = send("secretaire", "POST", format!("{body}/extra/@workflow/close"), json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = send("secretaire", "GET", format!("{body}/voirie"), json!(null)).await.json();
        assert_eq!((v["review_state"].as_str(), v["description"].as_str()), (Some("accepted"), Some("précisé")), "{v}");
    }

    async fn personal_data_in_a_decision_is_read_only_by_the_service_its_advisers_and_managers(db) {
        let (services, app) = with_meetings(&db).await;
        let staff = demo(&app, &services, &["agent", "chef", "dg", "secretaire", "echevin", "df"]).await;
        let send = |who: &str, method, uri, body| staff.send(who, method, uri, body);
        let html = |who: &str, uri| staff.page(who, uri);
        let p = "/demo/college/permis-lilas".to_owned();
        let r = send("agent", "POST", "/demo/college".into(), json!({"@type": "Meeting Item", "id": "permis-lilas",
            "title": "Permis d'urbanisme rue des Lilas", "proposing_group": "travaux", "budget_impact": true,
            "motivation": "<p>Demande introduite par [[Jean Vanderlinden]], domicilié [[rue des Lilas 3]].</p>",
            "decision": {"content-type": "text/plain", "data": "Le permis est accordé à [[Jean Vanderlinden]] pour la véranda."}})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let decision = |v: &Value| v["decision"]["data"].as_str().unwrap().to_owned();

        // Its writer reads it whole, marked; the editor gets the marks back.
        let mine = send("agent", "GET", p.clone(), json!(null)).await.json();
        assert_eq!(decision(&mine), "<p>Le permis est accordé à <span class=\"personal-data\">Jean Vanderlinden</span> pour la véranda.</p>");
        let form = html("agent", format!("{p}/@@edit")).await;
        assert_eq!(form.status, 200);
        assert!(form.body.contains("[[Jean Vanderlinden]]") && form.body.contains("[[rue des Lilas 3]]"), "{}", form.body);

        // The service's observers read the item, not the names: in JSON, on its page, in
        // search results with their full objects.
        let seen = send("echevin", "GET", p.clone(), json!(null)).await;
        assert_eq!(seen.status, 200, "{}", seen.body);
        assert!(!seen.body.contains("Vanderlinden") && !seen.body.contains("Lilas 3"), "{}", seen.body);
        assert!(decision(&seen.json()).contains("<span class=\"personal-data\">[…]</span> pour la véranda"), "{}", seen.body);
        let page = html("echevin", p.clone()).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("Vanderlinden") && page.body.contains("pour la véranda"), "{}", page.body);
        let found = send("echevin", "GET", "/demo/@search?portal_type=Meeting%20Item&fullobjects=1&b_size=100".into(), json!(null)).await;
        assert!(found.body.contains("permis-lilas") && !found.body.contains("Vanderlinden"), "{}", found.body);
        // A name is never in the full-text index; the rest of the text is.
        for who in ["echevin", "agent"] {
            let r = send(who, "GET", "/demo/@search?SearchableText=Vanderlinden".into(), json!(null)).await.json();
            assert_eq!(r["items_total"], 0, "{who}: {r}");
        }
        let r = send("echevin", "GET", "/demo/@search?SearchableText=v%C3%A9randa".into(), json!(null)).await.json();
        assert_eq!(r["items_total"], 1, "{r}");

        // Once proposed: its reviewers and the finance director asked for advice read the
        // names; the meeting managers too; observers still do not.
        assert_eq!(send("agent", "POST", format!("{p}/@workflow/propose"), json!({})).await.status, 200);
        for who in ["chef", "dg", "df", "secretaire"] {
            let r = send(who, "GET", p.clone(), json!(null)).await;
            assert_eq!(r.status, 200, "{who}: {}", r.body);
            assert!(decision(&r.json()).contains("Jean Vanderlinden"), "{who}: {}", r.body);
        }
        assert!(!send("echevin", "GET", p.clone(), json!(null)).await.body.contains("Vanderlinden"));
        // The body's power observers read items on an agenda, masked as well.
        for (who, t) in [("chef", "proposeToValidationLevel1"), ("dg", "validate"), ("secretaire", "present")] {
            let r = send(who, "POST", format!("{p}/@workflow/{t}"), json!({})).await;
            assert_eq!(r.status, 200, "{who} {t}: {}", r.body);
        }
        let seen = send("echevin", "GET", p.clone(), json!(null)).await;
        assert_eq!(seen.status, 200);
        assert!(!seen.body.contains("Vanderlinden") && seen.body.contains("[…]"), "{}", seen.body);
    }

    async fn annexes_are_typed_by_the_body_and_confidential_ones_read_by_the_service_only(db) {
        use base64::Engine;
        let (services, app) = with_meetings(&db).await;
        let staff = demo(&app, &services, &["admin", "agent", "echevin", "secretaire"]).await;
        let send = |who: &str, method, uri, body| staff.send(who, method, uri, body);
        let page = |who: &str, uri| staff.page(who, uri);
        let r = send("admin", "PATCH", "/demo/college".into(), json!({"annex_types": "Plan\nDevis\nRapport"})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let item = "/demo/college/parking-velos";
        let file = |name: &str| json!({"data": base64::engine::general_purpose::STANDARD.encode(format!("%PDF-1.4 {name}")), "encoding": "base64", "filename": name, "content-type": "application/pdf"});
        let annex = |id: &str, title: &str, kind: &str, confidential: bool| json!({"@type": "Meeting Annex", "id": id, "title": title,
            "file": file(&format!("{id}.pdf")), "annex_type": kind, "to_print": true, "confidential": confidential});

        // Its kind is one of the body's.
        let r = send("agent", "POST", item.into(), annex("photo", "Photo", "Photo", false)).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("annex_type") && r.body.contains("not one of the values offered"), "{}", r.body);
        let terms = send("agent", "GET", format!("{item}/@vocabularies/meetings.annex_types"), json!(null)).await.json();
        assert_eq!(terms["items_total"], 3, "{terms}");
        // Annexes go on items only.
        let r = send("admin", "POST", "/demo/college".into(), annex("perdue", "Perdue", "Plan", false)).await;
        assert!(r.status.is_client_error(), "{} {}", r.status, r.body);
        for (id, title, kind, confidential) in [("plan", "Plan du parking", "Plan", false), ("devis", "Devis du fournisseur", "Devis", true)] {
            let r = send("agent", "POST", item.into(), annex(id, title, kind, confidential)).await;
            assert_eq!(r.status, 201, "{}", r.body);
        }
        let devis = send("agent", "GET", format!("{item}/devis"), json!(null)).await.json();
        assert_eq!((devis["review_state"].as_str(), devis["confidential"].as_bool()), (Some("confidential_annex"), Some(true)), "{devis}");

        // The service reads both, on the item's page; an observer only the one not
        // confidential, which search does not give him either.
        let mine = page("agent", item.into()).await;
        assert!(mine.body.contains(">Plan du parking</a> — Plan (à imprimer)") && mine.body.contains(">Devis du fournisseur</a> — Devis (à imprimer, confidentielle)"), "{}", mine.body);
        assert!(mine.body.contains(&format!("href=\"http://localhost{item}/plan/@@download/file\"")), "{}", mine.body);
        let seen = page("echevin", item.into()).await;
        assert_eq!(seen.status, 200);
        assert!(seen.body.contains(">Plan du parking</a>") && !seen.body.contains("Devis du fournisseur"), "{}", seen.body);
        let r = send("echevin", "GET", format!("{item}/devis"), json!(null)).await;
        assert!(matches!(r.status.as_u16(), 401 | 403), "{} {}", r.status, r.body);
        let r = staff.page("echevin", format!("{item}/devis/@@download/file")).await;
        assert!(matches!(r.status.as_u16(), 401 | 403), "{}", r.status);
        let found = send("echevin", "GET", "/demo/@search?portal_type=Meeting%20Annex".into(), json!(null)).await.json();
        assert_eq!(found["items_total"], 1, "{found}");
        assert_eq!(send("secretaire", "GET", format!("{item}/devis"), json!(null)).await.status, 200, "meeting managers read it");
        // No longer confidential: read as its item is.
        let r = send("agent", "PATCH", format!("{item}/devis"), json!({"confidential": false})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(send("echevin", "GET", format!("{item}/devis"), json!(null)).await.status, 200);
        let found = send("echevin", "GET", "/demo/@search?portal_type=Meeting%20Annex".into(), json!(null)).await.json();
        assert_eq!(found["items_total"], 2, "{found}");
    }

    async fn a_service_starts_an_item_from_a_template_its_body_managers_wrote(db) {
        let (services, app) = with_meetings(&db).await;
        let pw = "demo password";
        assert!(beffroi_cms::demo::seed(&services, pw).await.unwrap());
        assert!(beffroi_meetings::demo::seed(&services, "demo", pw).await.unwrap());
        let token = app.bearer("demo", "agent", pw).await;
        // Templates are the meeting managers': a service's writer adds none.
        let r = app.send_json("POST", "/demo/college", &token, json!({"@type": "Meeting Item Template", "title": "Le mien"})).await;
        assert!(matches!(r.status.as_u16(), 401 | 403), "{} {}", r.status, r.body);
        // (Nor is it offered to him.)
        let types = app.get_with("/demo/college/@types", &[("authorization", &token), ("accept", "application/json")]).await.json();
        let addable: Vec<&str> = types.as_array().unwrap().iter().filter(|t| t["addable"] == true).map(|t| t["id"].as_str().unwrap()).collect();
        assert_eq!(addable, ["Meeting Item"], "{types}");

        // The body's page offers the demo's template to the agent, not to an observer.
        let cookie = app.session_on("demo", "agent", pw).await;
        let page = app.get_with("/demo/college", &[("cookie", &cookie)]).await.body;
        assert!(page.contains(">Nouveau point à partir d&#39;un modèle</h2>") && page.contains("<strong>Marché public de travaux — approbation des conditions et du mode de passation</strong>"), "{page}");
        let form = app.get_with("/demo/college/@@add?type=Meeting%20Item%20Template", &[("cookie", &cookie)]).await;
        assert!(matches!(form.status.as_u16(), 401 | 403), "nor its add form: {}", form.status);
        let observer = app.session_on("demo", "echevin", pw).await;
        let seen = app.get_with("/demo/college", &[("cookie", &observer)]).await.body;
        assert!(seen.contains("<h1>Collège communal</h1>") && !seen.contains("à partir d&#39;un modèle"), "{seen}");
        let post = |template: &str, token: &str| {
            app.post_form("/demo/college/@@from-template", &cookie, format!("_csrf={token}&template={template}"))
        };
        let r = post("nulle-part", &csrf(&page)).await;
        assert_eq!(r.status, 400, "{}", r.body);
        let r = post("modele-marche-travaux", &csrf(&page)).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let to = r.header("location").to_owned();
        assert!(to.starts_with("http://localhost/demo/college/") && to.contains("/@@edit"), "{to}");

        // The new item is the agent's, for his service, with the template's texts.
        let path = to.trim_start_matches("http://localhost").split("/@@edit").next().unwrap().to_owned();
        let item = app.get_with(&path, &[("authorization", &token), ("accept", "application/json")]).await.json();
        assert_eq!(item["@type"], "Meeting Item");
        assert_eq!(item["title"], "Marché public de travaux — approbation des conditions et du mode de passation");
        assert_eq!((item["proposing_group"].as_str(), item["category"].as_str(), item["budget_impact"].as_bool()), (Some("travaux"), Some("Travaux publics"), Some(true)), "{item}");
        assert!(item["motivation"]["data"].as_str().unwrap().contains("loi du 17 juin 2016"), "{item}");
        assert_eq!((item["review_state"].as_str(), item["creators"][0].as_str()), (Some("itemcreated"), Some("agent")), "{item}");
        let edit = app.get_with(&to, &[("cookie", &cookie)]).await;
        assert_eq!(edit.status, 200, "{}", edit.body);

        // API clients do the same with @from-template: 201 with the new item.
        let r = app.send_json("POST", "/demo/college/@from-template", &token, json!({"template": "modele-marche-travaux"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let made = r.json();
        assert_eq!(r.header("location"), made["@id"].as_str().unwrap());
        assert_eq!((made["@type"].as_str(), made["proposing_group"].as_str(), made["creators"][0].as_str()), (Some("Meeting Item"), Some("travaux"), Some("agent")), "{made}");
        assert_ne!(made["@id"].as_str(), Some(format!("http://localhost{path}").as_str()), "a second item");
        for (body, status) in [(json!({"template": "nulle-part"}), 400), (json!({}), 400)] {
            let r = app.send_json("POST", "/demo/college/@from-template", &token, body).await;
            assert_eq!(r.status, status, "{}", r.body);
        }
        let observer = app.bearer("demo", "echevin", pw).await;
        let r = app.send_json("POST", "/demo/college/@from-template", &observer, json!({"template": "modele-marche-travaux"})).await;
        assert!(matches!(r.status.as_u16(), 401 | 403), "an observer writes no item: {} {}", r.status, r.body);
    }

    async fn a_body_keeps_a_meeting_manager_whatever_changes_users_groups_and_sharing(db) {
        let (services, app) = with_meetings(&db).await;
        let staff = demo(&app, &services, &["admin", "dg"]).await;
        let send = |method: &'static str, uri: &str, body: Value| staff.send("admin", method, uri.to_owned(), body);
        let no_manager = Some("Collège communal (/college) would have no meeting manager");
        // The secretary is the college's only meeting manager, by sharing: taking it back is refused…
        let take_back = json!({"entries": [{"id": "secretaire", "type": "user", "roles": {"MeetingManager": false}}]});
        let r = send("POST", "/demo/college/@sharing", take_back.clone()).await;
        assert_eq!((r.status.as_u16(), r.json()["message"].as_str()), (409, no_manager), "{}", r.body);
        // …and nothing changed: she still plans the college's meetings.
        let sharing = staff.get("admin", "/demo/college/@sharing".into()).await.json();
        let secretary = sharing["entries"].as_array().unwrap().iter().find(|e| e["id"] == "secretaire").cloned();
        assert_eq!(secretary.map(|e| e["roles"]["MeetingManager"].clone()), Some(json!(true)), "{sharing}");
        let r = send("DELETE", "/demo/@users/secretaire", json!({})).await;
        assert_eq!((r.status.as_u16(), r.json()["message"].as_str()), (409, no_manager), "{}", r.body);
        let c = app.session_on("demo", "admin", DEMO_PW).await;
        let form = app.get_with("/demo/@@users-groups", &[("cookie", &c)]).await.body;
        let r = app.post_form("/demo/@@users-groups", &c, format!("_csrf={}&action=disable&login=secretaire", csrf(&form))).await;
        assert!(r.status == 409 && r.body.contains("Collège communal (/college) would have no meeting manager"), "{} {}", r.status, r.body);
        assert_eq!(staff.get("admin", "/demo/@users/secretaire".into()).await.json()["enabled"], true);

        // With the director in the college's managers group, the secretary may go.
        let r = send("PATCH", "/demo/@groups/college_meetingmanagers", json!({"users": {"dg": true}})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let r = send("POST", "/demo/college/@sharing", take_back).await;
        assert_eq!(r.status, 204, "{}", r.body);
        // The council keeps its own: the secretary is still its meeting manager.
        let r = send("DELETE", "/demo/@users/secretaire", json!({})).await;
        assert_eq!((r.status.as_u16(), r.json()["message"].as_str()), (409, Some("Conseil communal (/conseil) would have no meeting manager")), "{}", r.body);
        // Now the director is the college's last one, through the group.
        for (method, uri, body) in [
            ("PATCH", "/demo/@groups/college_meetingmanagers", json!({"users": {"dg": false}})),
            ("DELETE", "/demo/@groups/college_meetingmanagers", json!({})),
            ("DELETE", "/demo/@users/dg", json!({})),
            ("POST", "/demo/college/@sharing", json!({"entries": [{"id": "college_meetingmanagers", "type": "group", "roles": {"MeetingManager": false}}]})),
        ] {
            let r = send(method, uri, body).await;
            assert_eq!((r.status.as_u16(), r.json()["message"].as_str()), (409, no_manager), "{method} {uri}: {}", r.body);
        }
        // A body that never had one (just added, its group empty) does not stop other changes.
        let r = send("POST", "/demo", json!({"@type": "Decision Body", "title": "CPAS", "code": "CPAS"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r = send("PATCH", "/demo/@groups/college_meetingmanagers", json!({"users": {"agent": true}})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let r = send("PATCH", "/demo/@groups/college_meetingmanagers", json!({"users": {"agent": false}})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        // The refused changes changed nothing: the director is still in the group, which
        // still holds the role on the college.
        let group = staff.get("admin", "/demo/@groups/college_meetingmanagers".into()).await.json();
        assert!(group["members"]["items"].as_array().unwrap().iter().any(|u| u == "dg"), "{group}");
        let sharing = staff.get("admin", "/demo/college/@sharing".into()).await.json();
        let managers = sharing["entries"].as_array().unwrap().iter().find(|e| e["id"] == "college_meetingmanagers").cloned();
        assert_eq!(managers.map(|e| e["roles"]["MeetingManager"].clone()), Some(json!(true)), "{sharing}");
    }

    async fn a_reviewer_validates_or_sends_back_a_selection_of_items_at_once(db) {
        let (services, app) = with_meetings(&db).await;
        let staff = demo(&app, &services, &["agent", "chef", "dg"]).await;
        let body = "/demo/college";
        let mut uids = Vec::new();
        for (id, title) in [("preau", "Réfection du préau"), ("bancs", "Bancs du parc")] {
            let r = staff.send("agent", "POST", body.into(), json!({"@type": "Meeting Item", "id": id, "title": title, "proposing_group": "travaux"})).await;
            assert_eq!(r.status, 201, "{}", r.body);
            uids.push(r.json()["UID"].as_str().unwrap().to_owned());
            let r = staff.send("agent", "POST", format!("{body}/{id}/@workflow/propose"), json!({})).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let state = |id: &str| {
            let uri = format!("{body}/{id}");
            let get = staff.get("dg", uri);
            async move { get.await.json()["review_state"].as_str().unwrap().to_owned() }
        };
        // The head of service's list has a checkbox per item and the two batch actions.
        let c = app.session_on("demo", "chef", DEMO_PW).await;
        let page = app.get_with(body, &[("cookie", &c)]).await.body;
        let todo = page.split(">Points à valider</h2>").nth(1).unwrap_or_default();
        assert!(todo.contains("action=\"http://localhost/demo/college/@@validate-items\"") && todo.contains("aria-label=\"Sélectionner : Réfection du préau\"") && todo.contains(">Valider la sélection</button>"), "{page}");
        let post = |fields: String| app.post_form("/demo/college/@@validate-items", &c, format!("_csrf={}&{fields}", csrf(&page)));
        // Both go forward at once, to the next level in force (the director's).
        let r = post(format!("item={}&item={}&action=forward&comment=ok", uids[0], uids[1])).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!((state("preau").await, state("bancs").await), ("proposedToValidationLevel1".into(), "proposedToValidationLevel1".into()));
        let history = staff.get("dg", format!("{body}/preau/@history")).await.json();
        assert!(history.as_array().unwrap().iter().any(|h| h["action"] == "proposeToValidationLevel1" && h["comments"] == "ok" && h["actor"]["id"] == "chef"), "{history}");
        // All or nothing: the head may not send back what is no longer at his level.
        let r = post(format!("item={}&action=back", uids[0])).await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert!(r.body.contains("Réfection du préau"), "the message names the item: {}", r.body);
        // The director sends one back; a selection with it and the other is refused
        // whole (the other stays where it was); alone, the other is validated.
        let d = app.session_on("demo", "dg", DEMO_PW).await;
        let page = app.get_with(body, &[("cookie", &d)]).await.body;
        let post = |fields: String| app.post_form("/demo/college/@@validate-items", &d, format!("_csrf={}&{fields}", csrf(&page)));
        assert_eq!(post(format!("item={}&action=back", uids[1])).await.status, 303);
        let r = post(format!("item={}&item={}&action=forward", uids[0], uids[1])).await;
        assert!(matches!(r.status.as_u16(), 400 | 403) && r.body.contains("Bancs du parc"), "{} {}", r.status, r.body);
        assert_eq!((state("preau").await, state("bancs").await), ("proposedToValidationLevel1".into(), "proposed".into()), "nothing half-done");
        assert_eq!(post(format!("item={}&action=forward", uids[0])).await.status, 303);
        assert_eq!((state("preau").await, state("bancs").await), ("validated".into(), "proposed".into()));
        // Validated is the end of the chain; a selection needs an item and an action.
        for fields in [
            format!("item={}&action=forward", uids[0]),
            "action=forward".to_owned(),
            format!("item={}&action=sideways", uids[1]),
            "item=pas-un-uid&action=forward".to_owned(),
        ] {
            let r = post(fields.clone()).await;
            assert_eq!(r.status, 400, "{fields}: {}", r.body);
        }
    }

    async fn a_bodys_items_are_searched_by_state_meeting_service_category_and_words(db) {
        let (services, app) = with_meetings(&db).await;
        assert!(beffroi_cms::demo::seed(&services, DEMO_PW).await.unwrap());
        assert!(beffroi_meetings::demo::seed(&services, "demo", DEMO_PW).await.unwrap());
        let c = app.session_on("demo", "secretaire", DEMO_PW).await;
        let search = |q: &str| {
            let (app, c, uri) = (&app, c.clone(), format!("/demo/college/@@items-search{q}"));
            async move { app.get_with(&uri, &[("cookie", &c)]).await }
        };
        let found = |page: &str| -> Vec<String> {
            page.split("<tbody>").nth(1).unwrap_or_default().split("<tr><td><a href=\"").skip(1).map(|r| r.split('"').next().unwrap().rsplit('/').next().unwrap().to_owned()).collect()
        };
        // The body's page links the search; the form offers the body's own values.
        let body = app.get_with("/demo/college", &[("cookie", &c)]).await.body;
        assert!(body.contains("/demo/college/@@items-search\">Rechercher des points</a>"), "{body}");
        let r = search("").await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("<option value=\"seance-en-preparation\">") && r.body.contains("<option value=\"Mobilité\">Mobilité</option>") && r.body.contains(">Présenté</option>") && !r.body.contains("found-title"), "{}", r.body);
        for (q, want) in [
            ("?meeting=seance-en-preparation", vec!["egouttage-rue-haute", "plaine-de-jeux"]),
            ("?category=Mobilit%C3%A9&service=travaux", vec!["parking-velos", "trottoirs-ecole"]),
            ("?state=validated", vec!["salage-hiver"]),
            ("?SearchableText=tilleuls", vec!["abattage-tilleuls"]),
            ("?state=accepted&meeting=seance-en-preparation", vec![]),
        ] {
            let r = search(q).await;
            assert_eq!(r.status, 200, "{q}: {}", r.body);
            let mut got = found(&r.body);
            got.sort();
            assert_eq!(got, want, "{q}: {}", r.body);
        }
        assert!(search("?state=validated").await.body.contains(">1 point trouvé</h2>"));
        assert!(search("?state=accepted&meeting=seance-en-preparation").await.body.contains("Aucun point ne répond à ces critères."));
        for q in ["?state=nulle-part", "?meeting=autre", "?service=inconnu"] {
            assert_eq!(search(q).await.status, 400, "{q}");
        }
        // With the reader's rights: the finance director, asked for advices only, finds
        // fewer of the college's items than its secretary.
        let df = app.session_on("demo", "df", DEMO_PW).await;
        let all = found(&search("?service=travaux").await.body);
        let page = app.get_with("/demo/college/@@items-search?service=travaux", &[("cookie", &df)]).await.body;
        let seen = found(&page);
        assert!(seen.len() < all.len() && seen.iter().all(|i| all.contains(i)), "{seen:?} of {all:?}");
    }

    async fn a_body_chooses_the_optional_fields_its_items_use(db) {
        let (services, app) = with_meetings(&db).await;
        let staff = demo(&app, &services, &["admin", "agent"]).await;
        let r = staff.send("admin", "PATCH", "/demo/college".into(), json!({"item_fields": ["motivation", "category", "privacy"]})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        // The add form draws only the fields the college uses; the council's, every one.
        let c = app.session_on("demo", "agent", DEMO_PW).await;
        let form = app.get_with("/demo/college/@@add?type=Meeting%20Item", &[("cookie", &c)]).await.body;
        assert!(form.contains("name=\"category\"") && form.contains("name=\"motivation\"") && !form.contains("name=\"budget_impact\"") && !form.contains("name=\"to_discuss\""), "{form}");
        let form = app.get_with("/demo/conseil/@@add?type=Meeting%20Item", &[("cookie", &c)]).await.body;
        assert!(form.contains("name=\"budget_impact\"") && form.contains("name=\"to_discuss\""), "{form}");
        // A value for a field the body leaves out is refused, by the API as by a form.
        let item = json!({"@type": "Meeting Item", "title": "Subside au club de football", "proposing_group": "travaux", "budget_impact": true});
        let r = staff.send("agent", "POST", "/demo/college".into(), item.clone()).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("budget_impact is not used here: Collège communal leaves it out"), "{}", r.body);
        let r = staff.send("agent", "POST", "/demo/conseil".into(), item).await;
        assert_eq!(r.status, 201, "the council uses it: {}", r.body);
        let r = staff.send("agent", "POST", "/demo/college".into(), json!({"@type": "Meeting Item", "id": "subside", "title": "Subside au club de football", "proposing_group": "travaux", "category": "Divers"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r = staff.send("agent", "PATCH", "/demo/college/subside".into(), json!({"to_discuss": true})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        // An item made from a template takes what the template says of the fields used.
        let r = staff.send("agent", "POST", "/demo/college/@from-template".into(), json!({"template": "modele-marche-travaux"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let made = r.json();
        assert!(made["budget_impact"].is_null() && made["motivation"]["data"].as_str().is_some_and(|m| m.contains("loi du 17 juin 2016")), "{made}");
        // An item written before the body left a field out keeps its value and is edited
        // as before.
        let r = staff.send("admin", "PATCH", "/demo/college/salage-hiver".into(), json!({"title": "Plan d'épandage hivernal — reconduction 2027"})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let kept = staff.get("admin", "/demo/college/salage-hiver".into()).await.json();
        assert_eq!(kept["budget_impact"], true, "{kept}");
        // Once the body chooses none again (or saves its form with nothing ticked), its
        // items have every field.
        for none in [json!(null), json!([])] {
            let r = staff.send("admin", "PATCH", "/demo/college".into(), json!({"item_fields": none})).await;
            assert_eq!(r.status, 204, "{}", r.body);
            let form = app.get_with("/demo/college/@@add?type=Meeting%20Item", &[("cookie", &c)]).await.body;
            assert!(form.contains("name=\"budget_impact\""), "{none}: {form}");
        }
        let r = staff.send("agent", "PATCH", "/demo/college/subside".into(), json!({"to_discuss": true})).await;
        assert_eq!(r.status, 204, "every field once the body chooses none: {}", r.body);
    }
}

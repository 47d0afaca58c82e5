//! The demo's meetings: a college and a council, three services, one user per role
//! (all with the demo administrator's password) and items in every state of their
//! life, so that a newcomer sees the application at once.
//!
//! | login | who | groups and roles |
//! | --- | --- | --- |
//! | `agent` | writes items for Travaux | `travaux_creators` |
//! | `chef` | head of Travaux, first validation level | `travaux_reviewers` |
//! | `dg` | director general, last validation level of every service | `*_level1reviewers` |
//! | `secretaire` | secretary of both bodies | MeetingManager on the college and the council |
//! | `df` | finance director, adviser | `finances_advisers` |
//! | `echevin` | alderman, observer of every service and of both bodies | `*_observers`, `college_powerobservers`, `conseil_powerobservers` |

use beffroi_model::ItemPath;
use beffroi_model::security::{Grantee, Principal, Role};
use beffroi_model::{Login, SiteId};
use beffroi_service::{
    CatalogQuery, Found, NewUser, PathQuery, Result, Secret, ServiceError, Services, SharingChange, SiteRow,
    TransitionRequest,
};
use chrono::{Duration, Utc};
use serde_json::{Map, Value, json};

const SERVICES: [(&str, &str); 3] = [("travaux", "Travaux"), ("finances", "Finances"), ("population", "Population")];

/// The persons: id, name, gender, position, the bodies they sit in.
const PERSONS: [(&str, &str, &str, &str, &[&str]); 6] = [
    ("marc-dupont", "Marc Dupont", "M", "bourgmestre", &["college", "conseil"]),
    ("emilie-lambert", "Émilie Lambert", "F", "echevin", &["college", "conseil"]),
    ("jean-collard", "Jean Collard", "M", "echevin", &["college", "conseil"]),
    ("sophie-renard", "Sophie Renard", "F", "conseiller", &["conseil"]),
    ("luc-martin", "Luc Martin", "M", "conseiller", &["conseil"]),
    ("denise-dubois", "Denise Dubois", "F", "directeur_general", &["college", "conseil"]),
];

/// The users: login, full name, the groups they are in.
const PEOPLE: [(&str, &str, &[&str]); 6] = [
    ("agent", "Alice Agent (Travaux)", &["travaux_creators"]),
    ("chef", "Charles Chef (chef du service Travaux)", &["travaux_reviewers"]),
    (
        "dg",
        "Denise Dubois (directrice générale)",
        &["travaux_level1reviewers", "finances_level1reviewers", "population_level1reviewers"],
    ),
    ("secretaire", "Sophie Servais (secrétariat des organes)", &[]),
    ("df", "David Fontaine (directeur financier)", &["finances_advisers"]),
    (
        "echevin",
        "Émile Lambert (échevin des travaux)",
        &["travaux_observers", "finances_observers", "population_observers"],
    ),
];

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn html(s: &str) -> Value {
    json!({"content-type": "text/html", "data": s})
}

/// The bodies' categories, in their agendas' order.
const CATEGORIES: [&str; 7] = [
    "Travaux publics",
    "Mobilité",
    "Environnement",
    "Finances communales",
    "Personnel",
    "Population et état civil",
    "Divers",
];

/// Adds the meetings application to the demo site `site_id` (made by the content
/// application's demo just before). Does nothing when its organisation exists.
pub async fn seed(services: &Services, site_id: &str, password: &str) -> Result<bool> {
    let system = Principal::System;
    let id = SiteId::parse(site_id).map_err(|e| ServiceError::BadRequest(e.to_string()))?;
    let site = services.site(&id).await?.ok_or(ServiceError::NotFound)?;
    services.set_site_apps(&system, &site, &["meetings".into()], &[]).await?;
    let site = services.site(&id).await?.ok_or(ServiceError::NotFound)?;
    let root = ItemPath::root();
    let org_path = ItemPath::parse("/organisation").expect("a path");
    if !matches!(services.get(&system, &site, &org_path).await?, Found::Missing) {
        return Ok(false);
    }
    let org = services
        .create(
            &system,
            &site,
            &root,
            "Organisation",
            Some("organisation"),
            &obj(json!({"title": "Organisation communale", "exclude_from_nav": true})),
        )
        .await?;
    for (id, title) in SERVICES {
        services.create(&system, &site, &org.path, "Service", Some(id), &obj(json!({"title": title}))).await?;
    }
    for (login, fullname, groups) in PEOPLE {
        let new = NewUser {
            login: Login::parse(login).expect("a valid login"),
            password: Secret(password.to_owned()),
            fullname: fullname.into(),
            email: String::new(),
            roles: vec![Role::Member],
        };
        services.create_user(&system, &site, new).await?;
        for g in groups {
            services.add_member(&system, &site, g, login).await?;
        }
    }
    let levels = json!(["proposed", "proposedToValidationLevel1"]);
    for (id, title, code) in [("college", "Collège communal", "CC"), ("conseil", "Conseil communal", "CONS")] {
        let values = json!({"title": title, "code": code, "validation_levels": levels, "budget_adviser": "finances",
            "categories": CATEGORIES.join("\n"),
            "description": format!("Les séances et les points du {}.", title.to_lowercase())});
        let body = services.create(&system, &site, &root, crate::BODY, Some(id), &obj(values)).await?;
        let change = SharingChange {
            entries: vec![(
                Grantee::User("secretaire".into()),
                vec![(Role::parse("MeetingManager").expect("declared"), true)],
            )],
            inherit: None,
        };
        services.update_sharing(&system, &site, &body.path, change).await?;
        // The alderman observes what goes on the body's agendas.
        services.add_member(&system, &site, &format!("{id}_powerobservers"), "echevin").await?;
    }
    // Persons after the bodies they sit in; then the aldermen in charge of the services.
    for (id, title, gender, position, bodies) in PERSONS {
        let values = json!({"title": title, "gender": gender, "position": position, "bodies": bodies, "position_start": "2024-12-02"});
        services.create(&system, &site, &org.path, "Person", Some(id), &obj(values)).await?;
    }
    for (service, alderman) in
        [("travaux", "jean-collard"), ("finances", "emilie-lambert"), ("population", "marc-dupont")]
    {
        let path = ItemPath::parse(&format!("{}/{service}", org.path.as_str())).expect("a path");
        services.update(&system, &site, &path, &obj(json!({"in_charge": alderman}))).await?;
    }
    let who = |login: &'static str| {
        let site = site.clone();
        async move { services.principal(&site, login).await.map(|p| p.expect("a demo user")) }
    };
    let (agent, chef, dg, secretaire) =
        (who("agent").await?, who("chef").await?, who("dg").await?, who("secretaire").await?);
    let df = who("df").await?;
    let college = ItemPath::parse("/college").expect("a path");
    let day = |days: i64, hour: u32| {
        let d = Utc::now().date_naive() + Duration::days(days);
        d.and_hms_opt(hour, 0, 0).expect("a time").and_utc().to_rfc3339()
    };
    let meeting = |title: String, date: String| {
        obj(json!({"title": title, "date": date, "place": "Salle du collège, hôtel de ville"}))
    };
    let past = services
        .create(
            &secretaire,
            &site,
            &college,
            "Meeting",
            Some("seance-precedente"),
            &meeting("Séance du collège (semaine passée)".into(), day(-7, 9)),
        )
        .await?;
    services
        .create(
            &secretaire,
            &site,
            &college,
            "Meeting",
            Some("seance-en-preparation"),
            &meeting("Séance du collège (semaine prochaine)".into(), day(5, 9)),
        )
        .await?;
    // A template the services start from, and the kinds of annex the college takes.
    let template = obj(json!({
        "title": "Marché public de travaux — approbation des conditions et du mode de passation",
        "description": "Pour tout marché de travaux de moins de 140 000 € HTVA.",
        "category": "Travaux publics",
        "budget_impact": true,
        "motivation": html("<p>Vu le Code de la démocratie locale et de la décentralisation, notamment l'article L1222-3 ;</p><p>Vu la loi du 17 juin 2016 relative aux marchés publics ;</p><p>Considérant le cahier des charges établi par le service des travaux ;</p>"),
        "decision": html("<p><strong>Décide</strong> d'approuver le cahier des charges et le montant estimé du marché, et de choisir la procédure négociée sans publication préalable comme mode de passation.</p>"),
    }));
    services
        .create(&secretaire, &site, &college, "Meeting Item Template", Some("modele-marche-travaux"), &template)
        .await?;
    let annexes = obj(json!({"annex_types": "Cahier des charges\nPlan\nDevis\nRapport\nPhoto"}));
    services.update(&system, &site, &college, &annexes).await?;
    let conseil = ItemPath::parse("/conseil").expect("a path");
    let council_meeting =
        obj(json!({"title": "Conseil communal du mois prochain", "date": day(30, 19), "place": "Salle du conseil"}));
    services
        .create(&secretaire, &site, &conseil, "Meeting", Some("conseil-du-mois-prochain"), &council_meeting)
        .await?;

    // (id, title, category, the meeting it is meant for, how far it goes)
    let items: [(&str, &str, &str, &str, &str); 8] = [
        (
            "marche-voiries",
            "Marché de réfection des voiries 2027 — approbation des conditions",
            "Travaux publics",
            "seance-precedente",
            "accepted",
        ),
        (
            "eclairage-led",
            "Remplacement de l'éclairage public par des LED — attribution",
            "Travaux publics",
            "seance-precedente",
            "accepted",
        ),
        (
            "plaine-de-jeux",
            "Plaine de jeux du parc communal — réception provisoire",
            "Travaux publics",
            "seance-en-preparation",
            "presented",
        ),
        (
            "egouttage-rue-haute",
            "Égouttage de la rue Haute — convention avec l'intercommunale",
            "Travaux publics",
            "seance-en-preparation",
            "presented",
        ),
        ("salage-hiver", "Plan d'épandage hivernal — reconduction", "Travaux publics", "", "validated"),
        (
            "trottoirs-ecole",
            "Trottoirs aux abords de l'école du centre — projet",
            "Mobilité",
            "",
            "proposedToValidationLevel1",
        ),
        ("abattage-tilleuls", "Abattage de deux tilleuls malades place communale", "Environnement", "", "proposed"),
        ("parking-velos", "Parking vélos couvert à la gare — étude", "Mobilité", "", "itemcreated"),
    ];
    for (id, title, category, for_meeting, goal) in items {
        let mut values = json!({
            "title": title, "proposing_group": "travaux", "category": category,
            "motivation": html("<p>Vu le Code de la démocratie locale et de la décentralisation ;</p><p>Considérant le rapport du service des travaux ;</p>"),
            "decision": html("<p><strong>Décide</strong> d'approuver la proposition telle que présentée.</p>"),
        });
        if !for_meeting.is_empty() {
            values["preferred_meeting"] = json!(for_meeting);
        }
        // A citizen's name, read by the service and the managers only.
        if id == "abattage-tilleuls" {
            values["motivation"] = html(
                "<p>Vu la demande introduite par [[Mme Claire Lambert, place communale 4]] ;</p>\
                 <p>Considérant l'avis de l'expert forestier ;</p>",
            );
        }
        if ["eclairage-led", "salage-hiver", "trottoirs-ecole"].contains(&id) {
            values["budget_impact"] = json!(true);
        }
        let item = services.create(&agent, &site, &college, "Meeting Item", Some(id), &obj(values)).await?;
        let steps: &[(&Principal, &str)] =
            &[(&agent, "propose"), (&chef, "proposeToValidationLevel1"), (&dg, "validate"), (&secretaire, "present")];
        let upto = match goal {
            "itemcreated" => 0,
            "proposed" => 1,
            "proposedToValidationLevel1" => 2,
            "validated" => 3,
            _ => 4,
        };
        for (n, (actor, transition)) in steps[..upto].iter().enumerate() {
            let req = TransitionRequest { comment: String::new(), ..Default::default() };
            services.transition(actor, &site, &item.path, transition, req).await?;
            // The finance director gives the advices asked on the way, but one.
            if n == 0 && id != "trottoirs-ecole" {
                give_advices(services, &site, &df, &item.path).await?;
            }
        }
    }
    // The past meeting was held: its attendance and a vote recorded, then frozen,
    // decided, closed (its items accepted).
    let attendance = obj(json!({
        "attendees": ["marc-dupont", "emilie-lambert", "denise-dubois"],
        "excused": ["jean-collard"],
        "signatories": ["marc-dupont", "denise-dubois"],
    }));
    services.update(&secretaire, &site, &past.path, &attendance).await?;
    let vote = obj(json!({"votes_yes": ["marc-dupont"], "votes_abstain": ["emilie-lambert"]}));
    services
        .update(
            &secretaire,
            &site,
            &college.child(&beffroi_model::ItemId::parse("marche-voiries").expect("an id")),
            &vote,
        )
        .await?;
    // The past meeting was held: frozen, decided, closed (its items accepted).
    for t in ["freeze", "decide", "close"] {
        services.transition(&secretaire, &site, &past.path, t, TransitionRequest::default()).await?;
    }
    Ok(true)
}

/// The advices asked on the item at `path`, given favourably by `adviser`.
async fn give_advices(services: &Services, site: &SiteRow, adviser: &Principal, path: &ItemPath) -> Result<()> {
    let q = CatalogQuery {
        types: vec!["Meeting Advice".into()],
        paths: vec![PathQuery { path: path.clone(), depth: Some(1) }],
        limit: 10,
        ..Default::default()
    };
    for advice in services.search(adviser, site, q).await?.items {
        let values =
            obj(json!({"advice_type": "positive", "comment": html("<p>Les crédits sont inscrits au budget.</p>")}));
        services.update(adviser, site, &advice.path, &values).await?;
        services.transition(adviser, site, &advice.path, "giveAdvice", TransitionRequest::default()).await?;
    }
    Ok(())
}

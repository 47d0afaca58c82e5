//! The demo site: a French commune's website with realistic content, and its Manager.

use beffroi_model::security::{Principal, Role};
use beffroi_model::{ItemPath, Language, Login, SiteId};
use serde_json::{Map, Value, json};

use beffroi_service::{NewSite, NewUser, Result, Secret, Services, TransitionRequest};

/// (folder title, folder description, [(page title, description, body HTML)])
type Section = (&'static str, &'static str, &'static [(&'static str, &'static str, &'static str)]);

/// The news: (title, description, body HTML, published how many days ago, the
/// illustration's two colours).
type News = (&'static str, &'static str, &'static str, i64, [[u8; 3]; 2]);

const NEWS: &[News] = &[
    (
        "Travaux rue de la Station",
        "La rue de la Station sera fermée à la circulation pendant trois semaines.",
        "<p>Des travaux d'égouttage débutent le 4 mars rue de la Station. Une déviation est mise en place par la rue des Écoles. Les riverains gardent l'accès à leur domicile.</p>",
        2,
        [[233, 138, 21], [122, 62, 10]],
    ),
    (
        "Collecte des sapins de Noël",
        "Les sapins sont ramassés le deuxième lundi de janvier.",
        "<p>Déposez votre sapin, sans décoration ni pot, devant votre habitation la veille au soir. Les sapins sont broyés et compostés.</p>",
        9,
        [[46, 125, 50], [12, 60, 30]],
    ),
    (
        "Nouvelle plaine de jeux au parc communal",
        "Une plaine de jeux accessible à tous les enfants ouvre au parc.",
        "<p>La nouvelle plaine de jeux du parc communal est accessible aux enfants à mobilité réduite. Elle a été conçue avec les écoles et le conseil communal des enfants.</p>",
        16,
        [[2, 136, 209], [106, 27, 154]],
    ),
    (
        "Nouveaux horaires d'été à l'administration",
        "Du 1er juillet au 31 août, les guichets ferment à 15 heures.",
        "<p>Pendant les vacances scolaires, les guichets de l'état civil et de la population sont ouverts de 8 h 30 à 15 h.</p>",
        30,
        [[0, 121, 107], [0, 60, 90]],
    ),
];

/// A demo illustration: a soft diagonal gradient between two colours with a light
/// disc, as a PNG.
fn illustration(colours: [[u8; 3]; 2]) -> Vec<u8> {
    let (w, h) = (800u32, 500u32);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let t = (x + y) as f32 / (w + h) as f32;
        let mix = |i: usize| (colours[0][i] as f32 * (1.0 - t) + colours[1][i] as f32 * t) as u8;
        let (dx, dy) = (x as f32 - 600.0, y as f32 - 140.0);
        let disc = dx * dx + dy * dy < 90.0 * 90.0;
        let lift = |c: u8| if disc { c.saturating_add(60) } else { c };
        image::Rgb([lift(mix(0)), lift(mix(1)), lift(mix(2))])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("a PNG is written to memory");
    out.into_inner()
}

const SECTIONS: &[Section] = &[
    (
        "Vie communale",
        "Le conseil, le collège, les élus et les règlements de la commune.",
        &[
            (
                "Conseil communal",
                "Composition, séances publiques et ordres du jour du conseil communal.",
                "<p>Le conseil communal se réunit en séance publique le dernier lundi de chaque mois à 20 heures, dans la salle du conseil de l'hôtel de ville.</p><h2>Assister aux séances</h2><p>Les séances sont ouvertes à tous. L'ordre du jour est affiché aux valves communales et publié sur ce site sept jours francs avant la séance.</p><h2>Interpeller le conseil</h2><p>Tout habitant de plus de 18 ans peut interpeller directement le collège en séance publique. La demande écrite est adressée au bourgmestre au moins quinze jours avant la séance.</p>",
            ),
            (
                "Collège communal",
                "Le bourgmestre et les échevins, et leurs attributions.",
                "<p>Le collège communal assure la gestion journalière de la commune. Il se réunit chaque mardi.</p><ul><li>Bourgmestre : sécurité, état civil, personnel</li><li>Premier échevin : travaux, mobilité, cimetières</li><li>Deuxième échevine : enseignement, petite enfance, culture</li><li>Troisième échevin : finances, urbanisme, environnement</li></ul>",
            ),
            (
                "Règlement général de police",
                "Le règlement applicable sur tout le territoire communal.",
                "<p>Le règlement général de police rassemble les règles de la vie en commun : propreté publique, tranquillité, sécurité sur la voie publique, animaux, et sanctions administratives.</p><p>La version coordonnée est adoptée par le conseil communal et entre en vigueur le cinquième jour après sa publication.</p>",
            ),
            (
                "Budget et comptes",
                "Le budget de l'exercice et les comptes approuvés.",
                "<p>Le budget ordinaire est présenté en équilibre. Les principaux postes sont l'enseignement, l'entretien des voiries, la police et l'aide sociale.</p><table><thead><tr><th>Poste</th><th>Part</th></tr></thead><tbody><tr><td>Enseignement</td><td>24 %</td></tr><tr><td>Voiries et bâtiments</td><td>19 %</td></tr><tr><td>Police et secours</td><td>17 %</td></tr></tbody></table>",
            ),
        ],
    ),
    (
        "Services",
        "Les services communaux, leurs horaires et leurs démarches.",
        &[
            (
                "État civil",
                "Naissances, mariages, cohabitations légales, décès.",
                "<p>Le service de l'état civil enregistre les naissances, les mariages, les cohabitations légales et les décès survenus sur le territoire communal.</p><h2>Horaires</h2><p>Du lundi au vendredi de 8 h 30 à 12 heures, le mercredi jusqu'à 16 heures.</p>",
            ),
            (
                "Population",
                "Carte d'identité, passeport, domiciliation, certificats.",
                "<p>Le service population délivre les cartes d'identité, les passeports et les titres de séjour, et enregistre les changements d'adresse.</p><p>La plupart des certificats peuvent être obtenus sans rendez-vous.</p>",
            ),
            (
                "Urbanisme",
                "Permis d'urbanisme, division de parcelles, renseignements.",
                "<p>Le service de l'urbanisme instruit les demandes de permis et informe les citoyens sur les règles applicables à leur projet.</p><p>Une réunion de projet préalable est conseillée pour toute construction nouvelle.</p>",
            ),
            (
                "Travaux et environnement",
                "Voiries, espaces verts, collecte des déchets.",
                "<p>Le service des travaux entretient les voiries communales, les bâtiments et les espaces verts. Il organise aussi les collectes d'encombrants.</p>",
            ),
            (
                "Enseignement",
                "Les écoles communales et l'accueil extrascolaire.",
                "<p>La commune organise trois écoles fondamentales. L'accueil extrascolaire est assuré de 7 heures à 18 heures.</p><p>Les inscriptions se font directement auprès de la direction de chaque école.</p>",
            ),
        ],
    ),
];

/// The blocks of the demo's home page: welcome, search, news, agenda, the procedures
/// people come for, contact and opening hours.
const HOME: &str = include_str!("../demo/home.json");

/// The id of the demo site.
pub const DEMO_SITE: &str = "demo";

/// Creates the demo site, its content and its Manager `admin`. Returns false (and does
/// nothing) when the site already exists.
pub async fn seed(services: &Services, admin_password: &str) -> Result<bool> {
    let id = SiteId::parse(DEMO_SITE).expect("valid id");
    if services.site(&id).await?.is_some() || services.list_sites().await?.iter().any(|s| s.id == id) {
        return Ok(false);
    }
    let system = Principal::System;
    let site = services
        .create_site(
            &system,
            NewSite {
                id,
                title: "Commune de Val-d'Ourthe".into(),
                language: Language::Fr,
                hosts: Vec::new(),
                time_zone: Default::default(),
            },
        )
        .await?;
    let obj = |v: Value| -> Map<String, Value> { v.as_object().cloned().unwrap_or_default() };
    let (system_ref, site_ref) = (&system, &site);
    let publish = |path: ItemPath| async move {
        services.transition(system_ref, site_ref, &path, "publish", TransitionRequest::default()).await
    };
    // A published folder at the root, shown in the listing view `layout`.
    let folder = |title: &'static str, description: &'static str, layout: &'static str| async move {
        let values = json!({"title": title, "description": description, "layout": layout});
        let f = services.create(system_ref, site_ref, &ItemPath::root(), "Folder", None, &obj(values)).await?;
        publish(f.path.clone()).await?;
        Ok::<_, beffroi_service::ServiceError>(f)
    };
    for (title, description, pages) in SECTIONS {
        let folder = folder(title, description, "listing_view").await?;
        for (title, description, body) in pages.iter() {
            let page = services
                .create(
                    &system,
                    &site,
                    &folder.path,
                    "Document",
                    None,
                    &obj(json!({"title": title, "description": description, "text": {"content-type": "text/html", "data": body}})),
                )
                .await?;
            services.transition(&system, &site, &page.path, "publish", TransitionRequest::default()).await?;
        }
    }
    // The news, with their illustrations, newest first.
    let news = folder("Actualités", "Les nouvelles de la commune.", "news_listing").await?;
    let now = chrono::Utc::now();
    for (title, description, body, days_ago, colours) in NEWS {
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD.encode(illustration(*colours));
        let values = json!({
            "title": title,
            "description": description,
            "text": {"content-type": "text/html", "data": body},
            "image": {"data": png, "encoding": "base64", "filename": "illustration.png", "content-type": "image/png"},
            "effective": (now - chrono::Duration::days(*days_ago)).to_rfc3339(),
        });
        let item = services.create(&system, &site, &news.path, "News Item", None, &obj(values)).await?;
        publish(item.path).await?;
    }
    let collection = json!({
        "title": "Toutes les actualités",
        "description": "Les actualités et les événements de la commune.",
        "query": [{"i": "portal_type", "o": "plone.app.querystring.operation.selection.any", "v": ["News Item", "Event"]}],
        "sort_on": "modified",
        "sort_reversed": true,
        "layout": "summary_view",
        "effective": (now - chrono::Duration::days(60)).to_rfc3339(),
    });
    let item = services.create(&system, &site, &news.path, "Collection", None, &obj(collection)).await?;
    publish(item.path).await?;
    // The agenda: events to come (one every month, one every week, a day-long one) and
    // one past, shown by month.
    let agenda = folder("Agenda", "Les événements de la commune.", "event_listing").await?;
    let day = |days: i64, hour: u32| {
        let d = now.date_naive() + chrono::Duration::days(days);
        d.and_hms_opt(hour, 0, 0).expect("a valid hour").and_utc().to_rfc3339()
    };
    let events = [
        json!({
            "title": "Conseil communal",
            "description": "Séance publique du conseil communal, chaque premier lundi du mois.",
            "start": "2027-01-04T19:00:00+00:00",
            "end": "2027-01-04T21:00:00+00:00",
            "location": "Salle du conseil, place communale 1",
            "recurrence": "RRULE:FREQ=MONTHLY;BYDAY=1MO;COUNT=12",
            "contact_email": "secretariat@val-d-ourthe.example",
            "subjects": ["conseil communal"],
        }),
        json!({
            "title": "Marché hebdomadaire",
            "description": "Producteurs locaux et artisans sur la place communale.",
            "start": "2026-01-08T07:00:00+00:00",
            "end": "2026-01-08T12:00:00+00:00",
            "location": "Place communale",
            "recurrence": "RRULE:FREQ=WEEKLY;BYDAY=TH",
        }),
        json!({
            "title": "Concert de fin d'année",
            "description": "L'harmonie communale joue à l'église Saint-Martin. Entrée libre.",
            "start": day(12, 19),
            "end": day(12, 21),
            "location": "Église Saint-Martin",
        }),
        json!({
            "title": "Journée propreté",
            "description": "Habitants et écoles nettoient les chemins de la commune.",
            "start": day(40, 8),
            "end": day(40, 17),
            "whole_day": true,
            "location": "Départ de la maison communale",
        }),
        json!({
            "title": "Brocante du village",
            "description": "La brocante annuelle des habitants.",
            "start": day(-60, 7),
            "end": day(-60, 16),
            "location": "Rue de la Station",
        }),
    ];
    for values in events {
        let item = services.create(&system, &site, &agenda.path, "Event", None, &obj(values)).await?;
        publish(item.path).await?;
    }
    // The home page, composed of blocks as its administrator would in the browser.
    let home: Value = serde_json::from_str(HOME).expect("the demo's home page is JSON");
    services.update(&system, &site, &ItemPath::root(), &obj(home)).await?;
    services
        .create_user(
            &system,
            &site,
            NewUser {
                login: Login::parse("admin").expect("valid login"),
                password: Secret(admin_password.to_owned()),
                fullname: "Administrateur".into(),
                email: String::new(),
                roles: vec![Role::Manager],
            },
        )
        .await?;
    Ok(true)
}

//! The demo site: a French commune's website with realistic content, and its Manager.

use beffroi_model::security::{Principal, Role};
use beffroi_model::{ItemPath, Language, Login, SiteId};
use serde_json::{Map, Value, json};

use beffroi_service::{NewSite, NewUser, Result, Secret, Services, TransitionRequest};

/// (folder title, folder description, [(page title, description, body HTML)])
type Section = (&'static str, &'static str, &'static [(&'static str, &'static str, &'static str)]);

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
    (
        "Actualités",
        "Les nouvelles de la commune.",
        &[
            (
                "Travaux rue de la Station",
                "La rue de la Station sera fermée à la circulation pendant trois semaines.",
                "<p>Des travaux d'égouttage débutent le 4 mars rue de la Station. Une déviation est mise en place par la rue des Écoles. Les riverains gardent l'accès à leur domicile.</p>",
            ),
            (
                "Collecte des sapins de Noël",
                "Les sapins sont ramassés le deuxième lundi de janvier.",
                "<p>Déposez votre sapin, sans décoration ni pot, devant votre habitation la veille au soir. Les sapins sont broyés et compostés.</p>",
            ),
            (
                "Nouvelle plaine de jeux au parc communal",
                "Une plaine de jeux accessible à tous les enfants ouvre au parc.",
                "<p>La nouvelle plaine de jeux du parc communal est accessible aux enfants à mobilité réduite. Elle a été conçue avec les écoles et le conseil communal des enfants.</p>",
            ),
        ],
    ),
];

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
    for (title, description, pages) in SECTIONS {
        let folder = services
            .create(
                &system,
                &site,
                &ItemPath::root(),
                "Folder",
                None,
                &obj(json!({"title": title, "description": description})),
            )
            .await?;
        services.transition(&system, &site, &folder.path, "publish", TransitionRequest::default()).await?;
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
    // The other types in the news section: an agenda, news and a listing of both.
    let extra = [
        (
            "Event",
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
        ),
        (
            "News Item",
            json!({
                "title": "Nouveaux horaires d'été à l'administration",
                "description": "Du 1er juillet au 31 août, les guichets ferment à 15 heures.",
                "text": {"content-type": "text/html", "data": "<p>Pendant les vacances scolaires, les guichets de l'état civil et de la population sont ouverts de 8 h 30 à 15 h.</p>"},
                "subjects": ["administration"],
            }),
        ),
        (
            "Collection",
            json!({
                "title": "Toutes les actualités",
                "query": [{"i": "portal_type", "o": "plone.app.querystring.operation.selection.any", "v": ["News Item", "Event"]}],
                "sort_on": "modified",
                "sort_reversed": true,
            }),
        ),
    ];
    for (type_name, values) in extra {
        let news = ItemPath::parse("/actualites").expect("valid path");
        let item = services.create(&system, &site, &news, type_name, None, &obj(values)).await?;
        services.transition(&system, &site, &item.path, "publish", TransitionRequest::default()).await?;
    }
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

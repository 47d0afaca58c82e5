//! The content application: Plone's content types as data (their schemas, which
//! workflow each follows), filling in the same contract as any other application.
//! Sites have it unless they choose otherwise.
//!
//! Its demo site (`beffroi serve --demo`) lives here too, and the page of events
//! (dates, place, next occurrences). The platform draws images, files, links and
//! Collections by what their types declare (a main image, file or address, a query
//! field), not by their names.

pub mod demo;
mod pages;

use beffroi_service::apps::App;
use beffroi_web::WebApp;

/// The content types, in the order the add menu lists them.
pub const TYPES: &[(&str, &str)] = &[
    ("Folder.json", include_str!("../types/Folder.json")),
    ("Document.json", include_str!("../types/Document.json")),
    ("NewsItem.json", include_str!("../types/NewsItem.json")),
    ("Event.json", include_str!("../types/Event.json")),
    ("Link.json", include_str!("../types/Link.json")),
    ("File.json", include_str!("../types/File.json")),
    ("Image.json", include_str!("../types/Image.json")),
    ("Collection.json", include_str!("../types/Collection.json")),
    ("PloneSite.json", include_str!("../types/PloneSite.json")),
];

/// Which workflow each type follows (the platform's simple publication; files and
/// images follow their folder).
pub const CHAINS: (&str, &str) = ("chains.json", include_str!("../chains.json"));

/// The application.
pub const CMS: WebApp = WebApp {
    app: App {
        name: "cms",
        enabled_by_default: true,
        roles: None,
        types: TYPES,
        workflows: &[],
        chains: Some(CHAINS),
        indexes: None,
        hooks: &[],
        item_hooks: &[],
        vocabularies: &[],
        migrations: &[],
        access_checks: &[],
    },
    routes: Vec::new,
    templates: &[("Event.html", include_str!("../templates/Event.html"))],
    messages: &[
        ("fr", include_str!("../locales/fr.ftl")),
        ("nl", include_str!("../locales/nl.ftl")),
        ("de", include_str!("../locales/de.ftl")),
        ("en", include_str!("../locales/en.ftl")),
    ],
    pages: pages::PAGES,
};

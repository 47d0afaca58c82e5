//! The content application: Plone's content types as data (their schemas, which
//! workflow each follows), filling in the same contract as any other application.
//! Sites have it unless they choose otherwise.
//!
//! Its demo site (`beffroi serve --demo`) lives here too. Still in the platform, to
//! move here: the pages of events (dates, next occurrences), images, files and links,
//! and the Collection's query (issue 13); the platform finds them by what the types
//! declare (an event's date check, a main image, file or address, a query field), not
//! by their names.

pub mod demo;

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
        migrations: &[],
    },
    routes: Vec::new,
    templates: &[],
    messages: &[],
};

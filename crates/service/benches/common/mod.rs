//! What the benchmarks share.

use beffroi_model::security::Principal;
use beffroi_model::{Language, SiteId};
use beffroi_service::{Blobs, NewSite, Services, SiteRow, StoreOptions};

/// The content application's folders and pages (its crate depends on this one).
const CONTENT: beffroi_service::apps::App = beffroi_service::apps::App {
    name: "cms",
    enabled_by_default: true,
    roles: None,
    types: &[
        ("Folder.json", include_str!("../../../apps/cms/types/Folder.json")),
        ("Document.json", include_str!("../../../apps/cms/types/Document.json")),
    ],
    workflows: &[],
    chains: Some(("chains.json", r#"{"Folder": "simple_publication", "Document": "simple_publication"}"#)),
    indexes: None,
    hooks: &[],
    item_hooks: &[],
    vocabularies: &[],
    migrations: &[],
    access_checks: &[],
};

/// Services on an SQLite database in `dir` with the content types, and site "b".
pub async fn site(dir: &std::path::Path) -> (Services, SiteRow) {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let s = Services::open(&url, &StoreOptions::default(), Blobs::local(&dir.join("blobs")).unwrap())
        .await
        .unwrap()
        .with_app(&CONTENT)
        .unwrap();
    let new = NewSite {
        id: SiteId::parse("b").unwrap(),
        title: "B".into(),
        language: Language::Fr,
        hosts: vec![],
        time_zone: Default::default(),
    };
    let site = s.create_site(&Principal::System, new).await.unwrap();
    (s, site)
}

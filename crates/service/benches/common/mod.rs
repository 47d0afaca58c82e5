//! What the benchmarks share.

/// The content application's folders and pages (its crate depends on this one).
pub const CONTENT: beffroi_service::apps::App = beffroi_service::apps::App {
    name: "cms",
    enabled_by_default: true,
    types: &[
        ("Folder.json", include_str!("../../../apps/cms/types/Folder.json")),
        ("Document.json", include_str!("../../../apps/cms/types/Document.json")),
    ],
    workflows: &[],
    chains: Some(("chains.json", r#"{"Folder": "simple_publication", "Document": "simple_publication"}"#)),
};

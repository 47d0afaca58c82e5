//! Rich text: stored as sanitized HTML, served as plone.restapi's RichTextValue.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// plone.restapi's rich-text value: `{"content-type", "data", "encoding"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RichText {
    #[serde(rename = "content-type", default = "html_mime")]
    pub content_type: String,
    pub data: String,
    #[serde(default = "utf8")]
    pub encoding: String,
}

fn html_mime() -> String {
    "text/html".to_owned()
}

fn utf8() -> String {
    "utf8".to_owned()
}

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.add_tags(["figure", "figcaption", "caption", "section"])
        .add_generic_attributes(["lang", "title"])
        .link_rel(Some("noopener"));
    b
});

/// Cleans untrusted HTML to the safe subset (no script, handler or `javascript:` URL).
pub fn sanitize_html(html: &str) -> String {
    CLEANER.clean(html).to_string()
}

impl RichText {
    /// Sanitized HTML rich text.
    pub fn html(data: &str) -> Self {
        Self { content_type: html_mime(), data: sanitize_html(data), encoding: utf8() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_handlers_are_removed() {
        let dirty = r#"<p onclick="x()">Bonjour <script>alert(1)</script><a href="javascript:alert(1)">lien</a></p><h2>Titre</h2>"#;
        let clean = sanitize_html(dirty);
        assert!(!clean.contains("script"));
        assert!(!clean.contains("onclick"));
        assert!(!clean.contains("javascript"));
        assert!(clean.contains("<h2>Titre</h2>"));
        assert!(clean.contains("Bonjour"));
    }

    #[test]
    fn links_open_in_the_same_tab() {
        // The editor (Quill) marks every link target="_blank"; a site's own links must
        // not open a new tab, so the attribute never survives.
        let clean =
            sanitize_html(r#"<p><a href="/demo/services" target="_blank" rel="noopener noreferrer">Services</a></p>"#);
        assert!(!clean.contains("target"), "{clean}");
        assert!(clean.contains(r#"href="/demo/services""#));
    }

    #[test]
    fn deserializes_plone_shape() {
        let v: RichText = serde_json::from_str(r#"{"data": "<p>x</p>"}"#).unwrap();
        assert_eq!(v.content_type, "text/html");
        assert_eq!(v.encoding, "utf8");
    }
}

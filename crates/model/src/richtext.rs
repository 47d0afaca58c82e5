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
        .add_allowed_classes("span", [PERSONAL_DATA])
        .link_rel(Some("noopener"));
    b
});

/// The class of a span of personal data in rich text (PloneMeeting marks them with a CSS
/// class too): what a field with `personal_data` shows only to those allowed.
pub const PERSONAL_DATA: &str = "personal-data";

/// What those not allowed read in place of personal data.
pub const MASKED: &str = "[…]";

const OPEN: &str = "[[";
const CLOSE: &str = "]]";

/// Turns the writer's marks `[[Jean Dupont]]` into spans of personal data (before the
/// HTML is sanitized). A mark holds text only: one around markup is left as written.
pub fn mark_personal_data(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut done = 0;
    let mut from = 0;
    while let Some(start) = html[from..].find(OPEN).map(|i| from + i) {
        let inner_at = start + OPEN.len();
        let Some(end) = html[inner_at..].find(CLOSE).map(|i| inner_at + i) else { break };
        let inner = &html[inner_at..end];
        // Inside a tag (an attribute's value), a mark is left as written.
        let in_tag = html[..start].rfind('<') > html[..start].rfind('>');
        if in_tag || inner.trim().is_empty() || inner.contains(['<', '>']) || inner.contains(OPEN) {
            from = inner_at;
            continue;
        }
        out.push_str(&html[done..start]);
        out.push_str(&format!("<span class=\"{PERSONAL_DATA}\">{inner}</span>"));
        done = end + CLOSE.len();
        from = done;
    }
    out.push_str(&html[done..]);
    out
}

/// Each span of personal data in sanitized `html`: the byte ranges of its opening tag,
/// its content and its closing tag.
fn personal_spans(html: &str) -> Vec<(usize, usize, usize, usize)> {
    let class = format!("class=\"{PERSONAL_DATA}\"");
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(i) = html[at..].find("<span").map(|i| at + i) {
        let Some(tag_end) = html[i..].find('>').map(|e| i + e + 1) else { break };
        if !html[i..tag_end].contains(&class) {
            at = tag_end;
            continue;
        }
        // The matching end tag, past the spans nested in it.
        let (mut depth, mut j) = (1, tag_end);
        let close = loop {
            let next_open = html[j..].find("<span").map(|k| j + k);
            let Some(next_close) = html[j..].find("</span>").map(|k| j + k) else { break None };
            match next_open {
                Some(o) if o < next_close => {
                    depth += 1;
                    j = o + 5;
                }
                _ => {
                    depth -= 1;
                    if depth == 0 {
                        break Some(next_close);
                    }
                    j = next_close + 7;
                }
            }
        };
        let Some(close) = close else { break };
        found.push((i, tag_end, close, close + "</span>".len()));
        at = close + "</span>".len();
    }
    found
}

/// `html` with the content of each span of personal data replaced by [`MASKED`] (its
/// attributes too: a title could repeat a name).
pub fn mask_personal_data(html: &str) -> String {
    let spans = personal_spans(html);
    if spans.is_empty() {
        return html.to_owned();
    }
    let mut out = String::with_capacity(html.len());
    let mut last = 0;
    for (open, _, _, end) in spans {
        out.push_str(&html[last..open]);
        out.push_str(&format!("<span class=\"{PERSONAL_DATA}\">{MASKED}</span>"));
        last = end;
    }
    out.push_str(&html[last..]);
    out
}

/// The spans of personal data written back as marks `[[…]]`, for an editor that keeps
/// no classes (a span holding markup stays a span).
pub fn unmark_personal_data(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut last = 0;
    for (open, content, close, end) in personal_spans(html) {
        let inner = &html[content..close];
        if inner.contains('<') {
            continue;
        }
        out.push_str(&html[last..open]);
        out.push_str(OPEN);
        out.push_str(inner);
        out.push_str(CLOSE);
        last = end;
    }
    out.push_str(&html[last..]);
    out
}

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
    fn personal_data_is_marked_masked_and_given_back_to_the_editor() {
        let written = "<p>Permis accordé à [[Jean Dupont]], rue [[des Lilas 3]]; [[]] et [[<b>x</b>]] restent.</p>";
        let stored = sanitize_html(&mark_personal_data(written));
        assert_eq!(
            stored,
            "<p>Permis accordé à <span class=\"personal-data\">Jean Dupont</span>, rue \
             <span class=\"personal-data\">des Lilas 3</span>; [[]] et [[<b>x</b>]] restent.</p>"
        );
        let masked = mask_personal_data(&stored);
        assert!(!masked.contains("Dupont") && !masked.contains("Lilas"), "{masked}");
        assert_eq!(masked.matches("<span class=\"personal-data\">[…]</span>").count(), 2, "{masked}");
        assert_eq!(unmark_personal_data(&stored), written);
        // Other classes do not survive; a title on the span is masked with it; a nested
        // span is inside the masked one.
        let stored = sanitize_html(
            r#"<p><span class="evil">a</span><span title="Jean" class="personal-data">J<span lang="fr">D</span>x</span>b</p>"#,
        );
        assert_eq!(
            mask_personal_data(&stored),
            "<p><span class=\"\">a</span><span class=\"personal-data\">[…]</span>b</p>"
        );
        // Marks cannot break out of the HTML: sanitizing comes after.
        let stored = sanitize_html(&mark_personal_data(r#"<a title="[[x" onclick="y]]">z</a><b title="[[w]]">v</b>"#));
        assert_eq!(stored, r#"<a title="[[x" rel="noopener">z</a><b title="[[w]]">v</b>"#);
    }

    #[test]
    fn deserializes_plone_shape() {
        let v: RichText = serde_json::from_str(r#"{"data": "<p>x</p>"}"#).unwrap();
        assert_eq!(v.content_type, "text/html");
        assert_eq!(v.encoding, "utf8");
    }
}

//! Text analysis for the catalog: words, accent folding, Snowball stems by language
//! (rust-stemmers), the text an item is found by, and highlighted snippets.
//!
//! On SQLite, FTS5 indexes the stems computed here (it has no French, Dutch or German
//! stemmer); PostgreSQL stems with its own configurations. Either way the user's input
//! is reduced to plain words here first: no operator, quote or parenthesis of either
//! engine's query language ever reaches it.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};
use serde_json::{Map, Value};

use crate::lang::Language;

/// Most words of a query that count; the rest is ignored.
pub const MAX_QUERY_WORDS: usize = 10;
/// Longest word kept (longer runs of letters are not words anyone searches for).
const MAX_WORD: usize = 60;

static STEMMERS: LazyLock<[Stemmer; 4]> = LazyLock::new(|| {
    [
        Stemmer::create(Algorithm::French),
        Stemmer::create(Algorithm::Dutch),
        Stemmer::create(Algorithm::German),
        Stemmer::create(Algorithm::English),
    ]
});

fn stemmer(lang: Language) -> &'static Stemmer {
    let s = &*STEMMERS;
    match lang {
        Language::Fr => &s[0],
        Language::Nl => &s[1],
        Language::De => &s[2],
        Language::En => &s[3],
    }
}

/// The words of a text: runs of letters and digits.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty() && w.chars().count() <= MAX_WORD)
}

/// Lower case without accents: "Écoles" → "ecoles".
pub fn fold(word: &str) -> String {
    let lower = word.to_lowercase();
    if lower.is_ascii() { lower } else { deunicode::deunicode(&lower).to_lowercase() }
}

/// The stem of one word in `lang`, folded: "écoles" and "ecoles" → "ecol".
pub fn stem(lang: Language, word: &str) -> String {
    let lower = word.to_lowercase();
    fold(&stemmer(lang).stem(&lower))
}

/// Most words whose stems a thread remembers; past that it starts afresh.
const STEM_CACHE_MAX: usize = 100_000;

thread_local! {
    /// Stems already computed: words repeat (a few hundred make most of any text), and
    /// a lookup costs far less than the Snowball algorithm.
    static STEM_CACHE: std::cell::RefCell<std::collections::HashMap<(Language, String), String>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// What SQLite's full-text index holds for `text` in `lang`: its stems, in order.
pub fn index_text(text: &str, lang: Language) -> String {
    let mut out = String::with_capacity(text.len());
    STEM_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() > STEM_CACHE_MAX {
            cache.clear();
        }
        let mut key = (lang, String::new());
        for w in words(text) {
            if !out.is_empty() {
                out.push(' ');
            }
            key.1.clear();
            key.1.push_str(w);
            match cache.get(&key) {
                Some(s) => out.push_str(s),
                None => {
                    let s = stem(lang, w);
                    out.push_str(&s);
                    cache.insert(key.clone(), s);
                }
            }
        }
    });
    out
}

/// The words of a user's query, lower-cased, at most [`MAX_QUERY_WORDS`].
pub fn query_words(input: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in words(input) {
        let w = w.to_lowercase();
        if !out.contains(&w) {
            out.push(w);
        }
        if out.len() == MAX_QUERY_WORDS {
            break;
        }
    }
    out
}

/// For each query word, the stems it may have in any of the site languages (the
/// reader's language is not known, and a commune writes in several).
pub fn query_stems(input: &str) -> Vec<BTreeSet<String>> {
    stems_in(&query_words(input), &Language::ALL)
}

/// For each word, its stems in the given languages (those a site's content is in).
pub fn stems_in(words: &[String], languages: &[Language]) -> Vec<BTreeSet<String>> {
    words.iter().map(|w| languages.iter().map(|l| stem(*l, w)).collect()).collect()
}

/// Sorts titles as people expect: case and accents ignored, numbers by value.
pub fn sortable_title(title: &str) -> String {
    let folded = fold(title.trim());
    let mut out = String::with_capacity(folded.len() + 8);
    let mut digits = String::new();
    for c in folded.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if !digits.is_empty() {
            out.push_str(&format!("{digits:0>8}"));
            digits.clear();
        }
        out.push(c);
    }
    if !digits.is_empty() {
        out.push_str(&format!("{digits:0>8}"));
    }
    out.chars().take(200).collect()
}

/// The text of (already sanitized) HTML: tags become spaces, entities are decoded.
pub fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The key under which an item keeps the text of its uploaded document.
pub const EXTRACTED_TEXT: &str = "_extracted_text";

/// What an item is found by: its title, and the rest of its text (description,
/// subjects, body, an event's place, a file's extracted text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText {
    pub title: String,
    pub body: String,
}

/// The searchable text of an item from its values: its description, subjects, the
/// fields its type marks searchable (every rich-text field among them) and the text
/// extracted from its file. Without a schema (a type no longer known), every rich-text
/// value is taken.
pub fn search_text(
    title: &str,
    description: &str,
    fields: &Map<String, Value>,
    schema: Option<&crate::schema::TypeSchema>,
) -> SearchText {
    let mut body = String::from(description);
    let mut add = |s: &str| {
        if !s.trim().is_empty() {
            body.push('\n');
            body.push_str(s);
        }
    };
    if let Some(subjects) = fields.get("subjects").and_then(Value::as_array) {
        for s in subjects.iter().filter_map(Value::as_str) {
            add(s);
        }
    }
    // Personal data marked in a rich text is never indexed: a search for a name must
    // not find the item for those who may not read the name.
    let rich = |v: &Value| {
        v.get("data").and_then(Value::as_str).filter(|_| v.get("content-type").is_some()).map(|html| {
            if html.contains(crate::richtext::PERSONAL_DATA) {
                html_text(&crate::richtext::mask_personal_data(html))
            } else {
                html_text(html)
            }
        })
    };
    match schema {
        Some(schema) => {
            for f in schema.searchable_fields() {
                match fields.get(&f.name) {
                    Some(v) if f.kind == crate::schema::FieldKind::Blocks => add(&crate::blocks::text(v)),
                    Some(Value::String(s)) => add(s),
                    Some(v) => add(&rich(v).unwrap_or_default()),
                    None => {}
                }
            }
        }
        None => {
            for v in fields.values() {
                add(&rich(v).unwrap_or_default());
            }
        }
    }
    if let Some(s) = fields.get(EXTRACTED_TEXT).and_then(Value::as_str) {
        add(s);
    }
    SearchText { title: title.to_owned(), body }
}

/// A short passage of `text` around the first words whose stem is among `stems`
/// (stems of any language), as segments marked when they match.
pub fn snippet(text: &str, stems: &[BTreeSet<String>], lang: Language, max_chars: usize) -> Vec<(String, bool)> {
    let wanted: BTreeSet<&str> = stems.iter().flatten().map(String::as_str).collect();
    let matches = |w: &str| wanted.contains(stem(lang, w).as_str()) || wanted.contains(fold(w).as_str());
    // Byte offsets of every word, to cut the text on word boundaries.
    let mut spans: Vec<(usize, usize, bool)> = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            spans.push((s, i, matches(&text[s..i])));
        }
    }
    let first = spans.iter().position(|s| s.2);
    let begin_word = first.map(|f| f.saturating_sub(6)).unwrap_or(0);
    let Some(&(from, _, _)) = spans.get(begin_word) else {
        return Vec::new();
    };
    let mut out: Vec<(String, bool)> = Vec::new();
    if begin_word > 0 {
        out.push(("… ".to_owned(), false));
    }
    let mut pos = from;
    let mut used = 0;
    for &(s, e, hit) in &spans[begin_word..] {
        if used + (e - pos) > max_chars {
            out.push((" …".to_owned(), false));
            break;
        }
        if s > pos {
            push(&mut out, &text[pos..s], false);
        }
        push(&mut out, &text[s..e], hit);
        used += e - pos;
        pos = e;
    }
    out
}

fn push(out: &mut Vec<(String, bool)>, s: &str, hit: bool) {
    match out.last_mut() {
        Some((last, h)) if *h == hit => last.push_str(s),
        _ => out.push((s.to_owned(), hit)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accents_and_plurals_meet_on_one_stem() {
        for w in ["école", "écoles", "ecoles", "Écoles", "ECOLE"] {
            assert_eq!(stem(Language::Fr, w), "ecol", "{w}");
        }
        assert_eq!(stem(Language::Fr, "délibérations"), stem(Language::Fr, "deliberation"));
        assert_eq!(stem(Language::Nl, "scholen"), stem(Language::Nl, "school"));
        assert_eq!(stem(Language::De, "Schulen"), stem(Language::De, "schule"));
    }

    #[test]
    fn queries_are_plain_words_whatever_is_typed() {
        assert_eq!(
            query_words("\"école\" AND (NEAR* -x) OR y:z ^2"),
            ["école", "and", "near", "x", "or", "y", "z", "2"]
        );
        assert!(query_words("*** ((( \"\" ''").is_empty());
        assert_eq!(query_words(&"mot ".repeat(500)), ["mot"]);
        let long: String = (0..50).map(|i| format!("w{i} ")).collect();
        assert_eq!(query_words(&long).len(), MAX_QUERY_WORDS);
        let stems = query_stems("écoles");
        assert!(stems[0].contains("ecol"));
    }

    #[test]
    fn index_text_is_stems_in_order() {
        assert_eq!(index_text("Les écoles, l'école!", Language::Fr), "le ecol l ecol");
    }

    #[test]
    fn titles_sort_by_number_and_without_accents() {
        let mut t = vec!["Zèbre", "étude 10", "Étude 9", "abc"];
        t.sort_by_key(|s| sortable_title(s));
        assert_eq!(t, ["abc", "Étude 9", "étude 10", "Zèbre"]);
    }

    #[test]
    fn html_becomes_text() {
        assert_eq!(html_text("<p>Un&nbsp;<strong>test</strong></p><p>A &amp; B &lt;3</p>"), "Un test A & B <3");
    }

    #[test]
    fn search_text_gathers_the_searchable_fields() {
        let types = crate::schema::TypeRegistry::cms();
        let f = json!({
            "subjects": ["urbanisme"],
            "text": {"data": "<p>Le permis</p>", "content-type": "text/html"},
            "location": "Hôtel de ville",
            "contact_email": "info@commune.be",
        });
        let t = search_text("Titre", "Résumé", f.as_object().unwrap(), types.get("Event"));
        assert_eq!(t.title, "Titre");
        // The event's searchable place and its rich text (the schema's order), not its
        // contact's address.
        assert_eq!(t.body, "Résumé\nurbanisme\nHôtel de ville\nLe permis");
        // Every rich-text field of a type counts, whatever its name.
        let schema = crate::schema::TypeSchema::load(
            "Decision.json",
            r#"{"id": "Decision", "title": {"fr": "Décision"}, "fields": [
                {"name": "motivation", "kind": "richtext"},
                {"name": "decision", "kind": "richtext"},
                {"name": "reference", "kind": "textline"}]}"#,
        )
        .unwrap();
        let f = json!({
            "motivation": {"data": "<p>Vu la loi</p>", "content-type": "text/html"},
            "decision": {"data": "<p>Article 1</p>", "content-type": "text/html"},
            "reference": "2026/12",
        });
        let t = search_text("D", "", f.as_object().unwrap(), Some(&schema));
        assert_eq!(t.body, "\nVu la loi\nArticle 1");
        assert_eq!(search_text("D", "", f.as_object().unwrap(), None).body, "\nArticle 1\nVu la loi");
    }

    #[test]
    fn only_text_fields_may_be_searchable() {
        let e = crate::schema::TypeSchema::load(
            "T.json",
            r#"{"id": "T", "title": {"fr": "T"}, "fields": [{"name": "n", "kind": "integer", "searchable": true}]}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("T.json") && e.to_string().contains("\"n\" cannot be searchable"), "{e}");
    }

    #[test]
    fn snippets_mark_the_matching_words() {
        let text = "La commune ouvre deux nouvelles écoles à la rentrée, dont une école de musique.";
        let s = snippet(text, &query_stems("ecole"), Language::Fr, 200);
        let hits: Vec<&str> = s.iter().filter(|(_, h)| *h).map(|(t, _)| t.as_str()).collect();
        assert_eq!(hits, ["écoles", "école"]);
        let joined: String = s.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(joined, text.trim_end_matches('.'));
        let short = snippet(text, &query_stems("musique"), Language::Fr, 60);
        assert!(short.first().unwrap().0.starts_with("… "));
        assert!(short.iter().any(|(t, h)| *h && t == "musique"));
    }
}

/// The metadata columns (plone.restapi's `metadata_fields`) the platform fills from
/// every item; types' fields declare more (`"metadata": "location"`).
pub const METADATA: &[&str] = &[
    "created",
    "modified",
    "effective",
    "expires",
    "Creator",
    "UID",
    "getId",
    "id",
    "exclude_from_nav",
    "getObjPositionInParent",
    "portal_type",
    "Subject",
    "Language",
];

/// The keys of plone.restapi's summary of a result besides `@id` and `@type`, which
/// no metadata column may replace.
pub const SUMMARY: &[&str] = &["description", "image_field", "image_scales", "review_state", "title", "type_title"];

/// plone.app.querystring, as far as Beffroi answers it: the prefix of operation names,
/// the indexes and operations the Collection form offers (short operation names), and
/// which go together.
pub mod querystring {
    pub const PREFIX: &str = "plone.app.querystring.operation.";

    pub const INDEXES: &[&str] = &[
        "SearchableText",
        "portal_type",
        "review_state",
        "Subject",
        "Creator",
        "path",
        "Language",
        "created",
        "modified",
        "effective",
        "expires",
        "start",
        "end",
    ];

    /// The operations on text, people, places and lists.
    pub const OTHER_OPERATIONS: &[&str] = &[
        "selection.any",
        "selection.all",
        "string.is",
        "string.contains",
        "string.currentUser",
        "string.absolutePath",
        "string.relativePath",
    ];

    /// The operations on dates.
    pub const DATE_OPERATIONS: &[&str] = &[
        "date.lessThan",
        "date.largerThan",
        "date.between",
        "date.today",
        "date.afterToday",
        "date.beforeToday",
        "date.lessThanRelativeDate",
        "date.largerThanRelativeDate",
    ];

    /// Every operation the form offers, in its order.
    pub fn operations() -> impl Iterator<Item = &'static str> {
        OTHER_OPERATIONS.iter().chain(DATE_OPERATIONS).copied()
    }

    /// Whether operation `op` (with or without the prefix) applies to `index`.
    pub fn fits(index: &str, op: &str) -> bool {
        let op = op.strip_prefix(PREFIX).unwrap_or(op);
        match index {
            "SearchableText" | "Language" => true,
            "portal_type" | "review_state" => matches!(op, "selection.any" | "selection.is" | "string.is"),
            "Subject" => matches!(op, "selection.any" | "selection.all" | "selection.is" | "string.is"),
            "Creator" => matches!(op, "string.is" | "selection.any" | "string.currentUser"),
            "path" => matches!(op, "string.absolutePath" | "string.relativePath" | "string.path"),
            "created" | "modified" | "effective" | "expires" | "start" | "end" => DATE_OPERATIONS.contains(&op),
            _ => false,
        }
    }

    /// Whether operation `op` (short name) takes a list of values.
    pub fn takes_list(op: &str) -> bool {
        matches!(op, "selection.any" | "selection.all" | "date.between")
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn operations_fit_their_indexes() {
            assert!(super::fits("Subject", "plone.app.querystring.operation.selection.all"));
            assert!(super::fits("modified", "date.lessThanRelativeDate"));
            assert!(!super::fits("Subject", "date.today"));
            assert!(!super::fits("portal_type", "plone.app.querystring.operation.nope"));
            assert!(!super::fits("getObjSize", "string.is"));
            for i in super::INDEXES {
                assert!(super::operations().any(|o| super::fits(i, o)), "{i} has an operation");
            }
        }
    }
}

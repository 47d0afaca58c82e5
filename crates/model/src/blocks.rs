//! Volto's blocks: a page composed of blocks (`blocks`, a map from block id to its data
//! with an `@type`) in an order (`blocks_layout.items`), as plone.volto stores them on
//! Documents, News Items, Events and the site root.
//!
//! What is checked on write: the shape (each block an object with an `@type`, the
//! layout naming only existing blocks, at most [`MAX_BLOCKS`], containers at most
//! [`MAX_DEPTH`] deep) and the HTML of `html` blocks (sanitized as rich text is); the
//! rest is kept exactly as sent. What is read from them: their text for the full-text
//! index, and safe HTML from the text blocks (Volto's slate), for Beffroi's own pages.
//! Rich text becomes slate blocks and back, so a classic page opens in Volto with its
//! text and Beffroi's editor writes the same blocks Volto does.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, CharacterTokens, EndTag, StartTag, TagToken, Token, TokenSink, TokenSinkResult, Tokenizer,
    TokenizerOpts,
};
use serde_json::{Map, Value, json};

use crate::schema::{FieldError, ValidationErrors};

/// Most blocks one item holds, those inside containers included.
pub const MAX_BLOCKS: usize = 500;

/// How deep containers (a grid of teasers) may nest blocks.
pub const MAX_DEPTH: usize = 2;

/// Most bytes of one item's blocks, serialized.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;

/// The fields the blocks behavior gives a type (plone.volto's `volto.blocks`).
pub const BLOCKS: &str = "blocks";
pub const LAYOUT: &str = "blocks_layout";

/// Checks and cleans a `blocks` value: the map of blocks, each with an `@type`.
pub fn validate_blocks(v: &Value) -> Result<Value, String> {
    let mut count = 0;
    let cleaned = clean_map(v, 1, &mut count)?;
    let size = serde_json::to_vec(&cleaned).map(|b| b.len()).unwrap_or(usize::MAX);
    if size > MAX_BYTES {
        return Err(format!("the blocks take {size} bytes, at most {MAX_BYTES}"));
    }
    Ok(cleaned)
}

fn clean_map(v: &Value, depth: usize, count: &mut usize) -> Result<Value, String> {
    let map = v.as_object().ok_or("expected an object of blocks by id")?;
    let mut out = Map::new();
    for (id, block) in map {
        *count += 1;
        if *count > MAX_BLOCKS {
            return Err(format!("at most {MAX_BLOCKS} blocks"));
        }
        if id.is_empty() || id.chars().count() > 100 || id.chars().any(char::is_control) {
            return Err(format!("block id {id:?}: 1 to 100 characters"));
        }
        let b = block.as_object().ok_or_else(|| format!("block {id}: expected an object"))?;
        match b.get("@type").and_then(Value::as_str) {
            Some(t) if !t.trim().is_empty() && t.chars().count() <= 100 => {}
            _ => return Err(format!("block {id}: \"@type\" is missing")),
        }
        let mut b = b.clone();
        // Volto's HTML block is shown as it is written: it is cleaned as rich text is.
        if b.get("@type").and_then(Value::as_str) == Some("html")
            && let Some(html) = b.get("html").and_then(Value::as_str)
        {
            let clean = crate::richtext::sanitize_html(html);
            b.insert("html".into(), clean.into());
        }
        // A container (a grid) holds blocks of its own, in a layout of its own.
        if let Some(inner) = b.get(BLOCKS) {
            if depth >= MAX_DEPTH {
                return Err(format!("block {id}: containers nest at most {MAX_DEPTH} deep"));
            }
            let inner = clean_map(inner, depth + 1, count).map_err(|e| format!("block {id}: {e}"))?;
            if let Some(layout) = b.get(LAYOUT) {
                let layout = validate_layout(layout).map_err(|e| format!("block {id}: {e}"))?;
                check_layout(&inner, &layout).map_err(|e| format!("block {id}: {e}"))?;
            }
            b.insert(BLOCKS.into(), inner);
        }
        out.insert(id.clone(), Value::Object(b));
    }
    Ok(Value::Object(out))
}

/// Checks a `blocks_layout` value: `{"items": [block ids]}`, each id once.
pub fn validate_layout(v: &Value) -> Result<Value, String> {
    let items = v.get("items").and_then(Value::as_array).ok_or("expected {\"items\": [block ids]}")?;
    let mut seen: Vec<&str> = Vec::with_capacity(items.len());
    for i in items {
        let id = i.as_str().ok_or("the layout's items are block ids")?;
        if seen.contains(&id) {
            return Err(format!("block {id} is twice in the layout"));
        }
        seen.push(id);
    }
    Ok(v.clone())
}

fn check_layout(blocks: &Value, layout: &Value) -> Result<(), String> {
    let ids = layout.get("items").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str);
    for id in ids {
        if blocks.get(id).is_none() {
            return Err(format!("the layout names block {id}, which does not exist"));
        }
    }
    Ok(())
}

/// The rule between an item's two fields, on the values it ends up with: the layout
/// names only blocks it has.
pub fn check(fields: &Map<String, Value>) -> Result<(), ValidationErrors> {
    let Some(layout) = fields.get(LAYOUT).filter(|l| !l.is_null()) else { return Ok(()) };
    let empty = Value::Object(Map::new());
    let blocks = fields.get(BLOCKS).filter(|b| !b.is_null()).unwrap_or(&empty);
    check_layout(blocks, layout).map_err(|message| ValidationErrors(vec![FieldError { field: LAYOUT.into(), message }]))
}

/// Whether an item shows blocks: its layout names at least one.
pub fn has_blocks(fields: &Map<String, Value>) -> bool {
    fields.get(LAYOUT).and_then(|l| l.get("items")).and_then(Value::as_array).is_some_and(|items| {
        items.iter().filter_map(Value::as_str).any(|id| fields.get(BLOCKS).is_some_and(|b| b.get(id).is_some()))
    })
}

/// The blocks of a map in their layout's order (those it does not name are not shown).
pub fn ordered<'a>(blocks: &'a Value, layout: &'a Value) -> impl Iterator<Item = (&'a str, &'a Map<String, Value>)> {
    layout
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(move |id| Some((id, blocks.get(id)?.as_object()?)))
}

/// The words of a map of blocks, for the full-text index: text blocks (slate and the
/// older draft.js), headlines, teasers' titles and descriptions, images' alternative
/// text, tables' cells and HTML blocks, containers' blocks included.
pub fn text(blocks: &Value) -> String {
    let mut out = String::new();
    collect_text(blocks, 0, &mut out);
    out
}

fn collect_text(blocks: &Value, depth: usize, out: &mut String) {
    let Some(map) = blocks.as_object() else { return };
    let add = |s: &str, out: &mut String| {
        let s = s.trim();
        if !s.is_empty() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(s);
        }
    };
    for block in map.values() {
        let Some(b) = block.as_object() else { continue };
        for key in ["headline", "title", "description", "alt", "heading"] {
            if let Some(s) = b.get(key).and_then(Value::as_str) {
                add(s, out);
            }
        }
        if let Some(value) = b.get("value") {
            add(&slate_text(value), out);
        }
        // draft.js: {"blocks": [{"text": …}]}
        if let Some(draft) = b.get("text").and_then(|t| t.get("blocks")).and_then(Value::as_array) {
            for d in draft {
                add(d.get("text").and_then(Value::as_str).unwrap_or(""), out);
            }
        }
        if let Some(rows) = b.get("table").and_then(|t| t.get("rows")).and_then(Value::as_array) {
            for cell in rows.iter().filter_map(|r| r.get("cells")?.as_array()).flatten() {
                match cell.get("value") {
                    Some(v @ Value::Array(_)) => add(&slate_text(v), out),
                    Some(v) => {
                        for d in v.get("blocks").and_then(Value::as_array).into_iter().flatten() {
                            add(d.get("text").and_then(Value::as_str).unwrap_or(""), out);
                        }
                    }
                    None => {}
                }
            }
        }
        if b.get("@type").and_then(Value::as_str) == Some("html")
            && let Some(html) = b.get("html").and_then(Value::as_str)
        {
            add(&crate::catalog::html_text(html), out);
        }
        if let Some(inner) = b.get(BLOCKS)
            && depth < MAX_DEPTH
        {
            collect_text(inner, depth + 1, out);
        }
    }
}

/// The text of slate nodes, a line per block element.
pub fn slate_text(nodes: &Value) -> String {
    fn walk(n: &Value, out: &mut String) {
        match n {
            Value::Array(a) => a.iter().for_each(|c| walk(c, out)),
            Value::Object(o) => {
                if let Some(t) = o.get("text").and_then(Value::as_str) {
                    out.push_str(t);
                }
                if let Some(c) = o.get("children") {
                    walk(c, out);
                }
                if o.get("type").and_then(Value::as_str).is_some_and(is_block_element) {
                    out.push('\n');
                }
            }
            _ => {}
        }
    }
    let mut out = String::new();
    walk(nodes, &mut out);
    out.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

fn is_block_element(t: &str) -> bool {
    matches!(t, "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "li" | "blockquote" | "ul" | "ol" | "pre")
}

/// The slate element types Volto writes and Beffroi reads, named as their HTML tags.
const ELEMENTS: &[&str] = &[
    "p",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "blockquote",
    "pre",
    "strong",
    "em",
    "u",
    "del",
    "sub",
    "sup",
    "code",
];

/// Other names of those elements (as HTML tags or older slate types); an h1 is an h2:
/// the page has its title as its only h1.
const SAME_AS: &[(&str, &str)] =
    &[("h1", "h2"), ("b", "strong"), ("i", "em"), ("s", "del"), ("strike", "del"), ("strikethrough", "del")];

/// The element a slate type or an HTML tag stands for, if it is one of [`ELEMENTS`]
/// (the others show their children in their place: span, div…).
fn element(name: &str) -> Option<&'static str> {
    ELEMENTS
        .iter()
        .find(|e| **e == name)
        .copied()
        .or_else(|| SAME_AS.iter().find(|(other, _)| *other == name).map(|(_, e)| *e))
}

/// The HTML tag of a slate element type, if it has one (others show their children).
fn slate_tag(t: &str) -> Option<&'static str> {
    element(t)
}

/// Whether a link's address may be written in a page: the web's and mail's schemes,
/// paths, anchors; never `javascript:` nor `data:`.
pub fn safe_url(url: &str) -> bool {
    let u = url.trim();
    if u.is_empty() || u.chars().any(char::is_control) {
        return false;
    }
    let lower = u.to_ascii_lowercase();
    match lower.find(':') {
        None => true,
        // A colon after the first slash, ? or # is in a path, not a scheme.
        Some(colon) if lower[..colon].contains(['/', '?', '#']) => true,
        Some(_) => ["http:", "https:", "mailto:", "tel:"].iter().any(|s| lower.starts_with(s)),
    }
}

/// The address a slate link points to: `data.url`, or the older Volto's
/// `data.link.internal.internal_link[0]["@id"]` / `data.link.external.external_link`.
fn link_url(o: &Map<String, Value>) -> Option<&str> {
    let data = o.get("data")?;
    data.get("url")
        .and_then(Value::as_str)
        .or_else(|| data.pointer("/link/external/external_link").and_then(Value::as_str))
        .or_else(|| data.pointer("/link/internal/internal_link/0/@id").and_then(Value::as_str))
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Safe HTML of slate nodes: their text escaped, only known elements as tags, links
/// with a safe address.
pub fn slate_html(nodes: &Value) -> String {
    let mut out = String::new();
    write_slate(nodes, &mut out, 0);
    out
}

fn write_slate(n: &Value, out: &mut String, depth: usize) {
    // Slate trees are shallow; a deeper one is cut rather than recursed into.
    if depth > 32 {
        return;
    }
    match n {
        Value::Array(a) => a.iter().for_each(|c| write_slate(c, out, depth + 1)),
        Value::Object(o) => {
            if let Some(t) = o.get("text").and_then(Value::as_str) {
                // A leaf, with the marks older Volto put on leaves.
                let marks: Vec<&str> = [
                    ("bold", "strong"),
                    ("italic", "em"),
                    ("underline", "u"),
                    ("strikethrough", "del"),
                    ("code", "code"),
                ]
                .iter()
                .filter(|(k, _)| o.get(*k).and_then(Value::as_bool) == Some(true))
                .map(|(_, tag)| *tag)
                .collect();
                for m in &marks {
                    out.push_str(&format!("<{m}>"));
                }
                out.push_str(&escape(t).replace('\n', "<br>"));
                for m in marks.iter().rev() {
                    out.push_str(&format!("</{m}>"));
                }
                return;
            }
            let children = o.get("children").unwrap_or(&Value::Null);
            let t = o.get("type").and_then(Value::as_str).unwrap_or("");
            if t == "link" || t == "a" {
                match link_url(o).filter(|u| safe_url(u)) {
                    Some(url) => {
                        out.push_str(&format!("<a href=\"{}\">", escape(url.trim())));
                        write_slate(children, out, depth + 1);
                        out.push_str("</a>");
                    }
                    None => write_slate(children, out, depth + 1),
                }
                return;
            }
            match slate_tag(t) {
                Some(tag) => {
                    out.push_str(&format!("<{tag}>"));
                    write_slate(children, out, depth + 1);
                    out.push_str(&format!("</{tag}>"));
                }
                None => write_slate(children, out, depth + 1),
            }
        }
        _ => {}
    }
}

/// A top-level piece of rich text: slate nodes, or HTML that slate does not hold (a
/// table, an image, a figure).
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Slate(Value),
    Html(String),
}

/// Rich text (sanitized HTML) as top-level pieces: each paragraph, heading, list or
/// quotation a slate node; what slate does not hold, its HTML.
pub fn html_pieces(html: &str) -> Vec<Piece> {
    let sink = Collector::default();
    let tok = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tok.feed(&input);
    tok.end();
    tok.sink.finish()
}

/// Rich text as slate nodes (what slate does not hold is left out): what Beffroi's
/// editor writes into a text block.
pub fn html_slate(html: &str) -> Value {
    let nodes: Vec<Value> = html_pieces(html)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Slate(v) => Some(v),
            Piece::Html(_) => None,
        })
        .collect();
    if nodes.is_empty() { json!([{"type": "p", "children": [{"text": ""}]}]) } else { Value::Array(nodes) }
}

/// One open element while rich text is read.
struct Open {
    tag: String,
    node: Map<String, Value>,
    children: Vec<Value>,
}

#[derive(Default)]
struct Collector {
    state: RefCell<CollectState>,
}

#[derive(Default)]
struct CollectState {
    stack: Vec<Open>,
    pieces: Vec<Piece>,
    /// The HTML of a top-level element slate does not hold, and how deep in it we are.
    raw: Option<(String, usize)>,
    /// Text met outside any element, gathered into a paragraph.
    loose: Vec<Value>,
}

/// The slate element type of an HTML tag (a link for `a`); None for those whose
/// children stand in their place (span, div…).
fn tag_type(tag: &str) -> Option<&'static str> {
    if tag == "a" { Some("link") } else { element(tag) }
}

/// Top-level elements slate does not hold: kept as HTML.
fn raw_top(tag: &str) -> bool {
    matches!(tag, "table" | "figure" | "img" | "hr" | "iframe" | "video" | "audio" | "dl" | "section")
}

fn is_void(tag: &str) -> bool {
    matches!(tag, "br" | "img" | "hr" | "wbr" | "col" | "source")
}

fn with_text(children: Vec<Value>) -> Vec<Value> {
    if children.is_empty() { vec![json!({"text": ""})] } else { children }
}

impl CollectState {
    fn push_child(&mut self, v: Value) {
        match self.stack.last_mut() {
            Some(open) => open.children.push(v),
            None => self.loose.push(v),
        }
    }

    fn flush_loose(&mut self) {
        let loose = std::mem::take(&mut self.loose);
        let has_text = loose.iter().any(|v| !slate_text(&json!([v])).trim().is_empty() || v.get("type").is_some());
        if has_text {
            self.pieces.push(Piece::Slate(json!({"type": "p", "children": loose})));
        }
    }

    fn open(&mut self, tag: &str, attrs: Vec<(String, String)>) {
        let Some(t) = tag_type(tag) else { return };
        let mut node = Map::new();
        node.insert("type".into(), t.into());
        if t == "link" {
            let href = attrs.iter().find(|(k, _)| k == "href").map(|(_, v)| v.clone()).unwrap_or_default();
            node.insert("data".into(), json!({"url": href}));
        }
        if self.stack.is_empty() && !matches!(t, "strong" | "em" | "u" | "del" | "sub" | "sup" | "code" | "link") {
            self.flush_loose();
        }
        self.stack.push(Open { tag: tag.to_owned(), node, children: Vec::new() });
    }

    fn close(&mut self, tag: &str) {
        if tag_type(tag).is_none() {
            return;
        }
        // Close up to the matching element (sanitized HTML is well nested).
        let Some(at) = self.stack.iter().rposition(|o| o.tag == tag) else { return };
        while self.stack.len() > at {
            let Open { mut node, children, .. } = self.stack.pop().expect("not empty");
            node.insert("children".into(), with_text(children).into());
            let v = Value::Object(node);
            let inline =
                matches!(v["type"].as_str(), Some("strong" | "em" | "u" | "del" | "sub" | "sup" | "code" | "link"));
            if self.stack.is_empty() && !inline {
                self.pieces.push(Piece::Slate(v));
            } else {
                self.push_child(v);
            }
        }
    }

    fn finish(mut self) -> Vec<Piece> {
        while let Some(tag) = self.stack.last().map(|o| o.tag.clone()) {
            self.close(&tag);
        }
        self.flush_loose();
        self.pieces
    }
}

fn attrs_of(tag: &html5ever::tokenizer::Tag) -> Vec<(String, String)> {
    tag.attrs.iter().map(|a| (a.name.local.to_string(), a.value.to_string())).collect()
}

impl TokenSink for Collector {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut s = self.state.borrow_mut();
        // Inside a top-level element kept as HTML: write it back as it came.
        if let Some((raw, depth)) = s.raw.as_mut() {
            match &token {
                TagToken(tag) => {
                    let name = tag.name.to_string();
                    match tag.kind {
                        StartTag => {
                            raw.push('<');
                            raw.push_str(&name);
                            for (k, v) in attrs_of(tag) {
                                raw.push_str(&format!(" {k}=\"{}\"", escape(&v)));
                            }
                            raw.push('>');
                            if !is_void(&name) && !tag.self_closing {
                                *depth += 1;
                            }
                        }
                        EndTag => {
                            raw.push_str(&format!("</{name}>"));
                            *depth = depth.saturating_sub(1);
                        }
                    }
                }
                CharacterTokens(t) => raw.push_str(&escape(t)),
                _ => {}
            }
            if *depth == 0 {
                let (raw, _) = s.raw.take().expect("set");
                s.pieces.push(Piece::Html(crate::richtext::sanitize_html(&raw)));
            }
            return TokenSinkResult::Continue;
        }
        match token {
            TagToken(tag) => {
                let name = tag.name.to_string();
                match tag.kind {
                    StartTag if s.stack.is_empty() && raw_top(&name) => {
                        s.flush_loose();
                        let mut raw = format!("<{name}");
                        for (k, v) in attrs_of(&tag) {
                            raw.push_str(&format!(" {k}=\"{}\"", escape(&v)));
                        }
                        raw.push('>');
                        if is_void(&name) || tag.self_closing {
                            s.pieces.push(Piece::Html(crate::richtext::sanitize_html(&raw)));
                        } else {
                            s.raw = Some((raw, 1));
                        }
                    }
                    StartTag if name == "br" => s.push_child(json!({"text": "\n"})),
                    StartTag => {
                        let attrs = attrs_of(&tag);
                        s.open(&name, attrs);
                    }
                    EndTag => s.close(&name),
                }
            }
            CharacterTokens(t) => {
                // Whitespace between top-level elements is not text.
                if s.stack.is_empty() && t.trim().is_empty() {
                    return TokenSinkResult::Continue;
                }
                let text = t.to_string();
                // Consecutive text joins the previous leaf.
                let target = match s.stack.last_mut() {
                    Some(open) => &mut open.children,
                    None => &mut s.loose,
                };
                match target.last_mut() {
                    Some(Value::Object(o)) if o.len() == 1 && o.get("text").is_some_and(Value::is_string) => {
                        let prev = o["text"].as_str().unwrap_or("").to_owned();
                        o.insert("text".into(), format!("{prev}{text}").into());
                    }
                    _ => target.push(json!({"text": text})),
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

impl Collector {
    fn finish(self) -> Vec<Piece> {
        self.state.into_inner().finish()
    }
}

/// A slate text block of these nodes, with the plain text Volto keeps beside them.
pub fn slate_block(nodes: Value) -> Value {
    let plaintext = slate_text(&nodes).replace('\n', " ");
    json!({"@type": "slate", "value": nodes, "plaintext": plaintext})
}

/// The blocks a classic item (without blocks of its own) shows in Volto, as
/// plone.volto's migration of rich text makes them: its title, its lead image when it
/// has one, then its text a block per paragraph, heading or list (what slate does not
/// hold, an HTML block). Block ids are stable, so the same item gives the same blocks.
pub fn from_rich_text(html: Option<&str>, lead_image: bool) -> (Value, Value) {
    let mut blocks = Map::new();
    let mut items = Vec::new();
    let mut add = |id: String, b: Value| {
        items.push(Value::String(id.clone()));
        blocks.insert(id, b);
    };
    add("beffroi-title".into(), json!({"@type": "title"}));
    if lead_image {
        add("beffroi-leadimage".into(), json!({"@type": "leadimage"}));
    }
    for (n, p) in html.map(html_pieces).unwrap_or_default().into_iter().enumerate() {
        let b = match p {
            Piece::Slate(node) => slate_block(json!([node])),
            Piece::Html(h) => json!({"@type": "html", "html": h}),
        };
        add(format!("beffroi-text-{}", n + 1), b);
    }
    (Value::Object(blocks), json!({ "items": items }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_need_a_type_and_a_layout_of_existing_blocks() {
        assert!(validate_blocks(&json!({"a": {"@type": "slate"}})).is_ok());
        assert!(validate_blocks(&json!([])).unwrap_err().contains("object"));
        assert!(validate_blocks(&json!({"a": {"value": []}})).unwrap_err().contains("@type"));
        assert!(validate_blocks(&json!({"a": 3})).unwrap_err().contains("block a"));
        assert!(validate_layout(&json!({"items": ["a", "a"]})).unwrap_err().contains("twice"));
        assert!(validate_layout(&json!(["a"])).is_err());
        let mut fields = Map::new();
        fields.insert(BLOCKS.into(), json!({"a": {"@type": "title"}}));
        fields.insert(LAYOUT.into(), json!({"items": ["a", "b"]}));
        let e = check(&fields).unwrap_err();
        assert_eq!(e.0[0].field, LAYOUT);
        assert!(e.0[0].message.contains("block b"), "{}", e.0[0].message);
        fields.insert(LAYOUT.into(), json!({"items": ["a"]}));
        assert!(check(&fields).is_ok());
        assert!(has_blocks(&fields));
        // Containers are checked inside, and nest only so deep.
        let grid = json!({"g": {"@type": "gridBlock", "blocks": {"t": {"@type": "teaser"}}, "blocks_layout": {"items": ["t", "x"]}}});
        assert!(validate_blocks(&grid).unwrap_err().contains("block x"));
        let deep = json!({"g": {"@type": "gridBlock", "blocks": {"h": {"@type": "gridBlock", "blocks": {}}}}});
        assert!(validate_blocks(&deep).unwrap_err().contains("nest"));
        let many: Map<String, Value> = (0..=MAX_BLOCKS).map(|n| (n.to_string(), json!({"@type": "slate"}))).collect();
        assert!(validate_blocks(&Value::Object(many)).unwrap_err().contains("at most"));
    }

    #[test]
    fn html_blocks_are_cleaned_and_the_rest_kept() {
        let v = validate_blocks(&json!({
            "h": {"@type": "html", "html": "<p onclick=\"x()\">Hi<script>alert(1)</script></p>"},
            "s": {"@type": "slate", "value": [{"type": "p", "children": [{"text": "<b>kept as text</b>"}]}], "custom": {"x": 1}}
        }))
        .unwrap();
        assert_eq!(v["h"]["html"], "<p>Hi</p>");
        assert_eq!(v["s"]["custom"]["x"], 1);
        assert_eq!(v["s"]["value"][0]["children"][0]["text"], "<b>kept as text</b>");
    }

    #[test]
    fn slate_becomes_safe_html() {
        let nodes = json!([
            {"type": "h2", "children": [{"text": "Heures <d'ouverture>"}]},
            {"type": "p", "children": [
                {"text": "Du lundi "},
                {"type": "strong", "children": [{"text": "au vendredi"}]},
                {"text": ", "},
                {"type": "link", "data": {"url": "https://example.org/a?b=1&c=2"}, "children": [{"text": "ici"}]},
                {"type": "link", "data": {"url": "javascript:alert(1)"}, "children": [{"text": "là"}]},
                {"type": "script", "children": [{"text": "alert(2)"}]},
                {"text": "gras", "bold": true}
            ]},
            {"type": "ul", "children": [{"type": "li", "children": [{"text": "un"}]}]}
        ]);
        assert_eq!(
            slate_html(&nodes),
            "<h2>Heures &lt;d&#39;ouverture&gt;</h2><p>Du lundi <strong>au vendredi</strong>, \
             <a href=\"https://example.org/a?b=1&amp;c=2\">ici</a>làalert(2)<strong>gras</strong></p><ul><li>un</li></ul>"
        );
        assert_eq!(slate_text(&nodes), "Heures <d'ouverture>\nDu lundi au vendredi, icilàalert(2)gras\nun");
        for bad in ["javascript:x", " JavaScript:x", "data:text/html,x", "vbscript:x"] {
            assert!(!safe_url(bad), "{bad}");
        }
        for good in ["/demo/services", "services", "#top", "https://x.be", "mailto:a@b.be", "tel:+3210", "a/b:c"] {
            assert!(safe_url(good), "{good}");
        }
    }

    #[test]
    fn rich_text_becomes_slate_and_back() {
        let html = "<h2>Titre</h2><p>Un <strong>mot</strong> et <a href=\"/demo/x\">un lien</a><br>suite</p>\
                    <ul><li>a</li><li><em>b</em></li></ul><table><tbody><tr><td>1 &amp; 2</td></tr></tbody></table>texte libre";
        let pieces = html_pieces(html);
        assert_eq!(pieces.len(), 5, "{pieces:?}");
        let Piece::Slate(p) = &pieces[1] else { panic!() };
        assert_eq!(p["type"], "p");
        assert_eq!(p["children"][3]["type"], "link");
        assert_eq!(p["children"][3]["data"]["url"], "/demo/x");
        let Piece::Html(t) = &pieces[3] else { panic!("{:?}", pieces[3]) };
        assert_eq!(t, "<table><tbody><tr><td>1 &amp; 2</td></tr></tbody></table>");
        let Piece::Slate(loose) = &pieces[4] else { panic!() };
        assert_eq!(loose["children"][0]["text"], "texte libre");
        // Back to HTML: the same text, as Beffroi's editor shows it.
        let back = slate_html(&html_slate(html));
        assert_eq!(
            back,
            "<h2>Titre</h2><p>Un <strong>mot</strong> et <a href=\"/demo/x\">un lien</a><br>suite</p>\
             <ul><li>a</li><li><em>b</em></li></ul><p>texte libre</p>"
        );
        assert_eq!(html_slate("")[0]["children"][0]["text"], "");
    }

    #[test]
    fn a_classic_item_gets_a_title_and_a_block_per_paragraph() {
        let (blocks, layout) = from_rich_text(Some("<p>Un</p><p>Deux</p>"), false);
        assert_eq!(layout["items"], json!(["beffroi-title", "beffroi-text-1", "beffroi-text-2"]));
        assert_eq!(blocks["beffroi-title"]["@type"], "title");
        assert_eq!(blocks["beffroi-text-2"]["plaintext"], "Deux");
        assert!(validate_blocks(&blocks).is_ok());
        let (_, layout) = from_rich_text(None, true);
        assert_eq!(layout["items"], json!(["beffroi-title", "beffroi-leadimage"]));
    }

    #[test]
    fn the_index_reads_every_kind_of_text() {
        let blocks = json!({
            "a": {"@type": "slate", "value": [{"type": "p", "children": [{"text": "horaires"}]}]},
            "b": {"@type": "text", "text": {"blocks": [{"text": "draftjs"}], "entityMap": {}}},
            "c": {"@type": "teaser", "title": "Population", "description": "guichet"},
            "d": {"@type": "slateTable", "table": {"rows": [{"cells": [{"value": [{"type": "p", "children": [{"text": "cellule"}]}]}]}]}},
            "e": {"@type": "html", "html": "<p>brut</p>"},
            "f": {"@type": "gridBlock", "headline": "Démarches", "blocks": {"g": {"@type": "teaser", "title": "Permis"}}},
            "i": {"@type": "image", "alt": "beffroi"}
        });
        let t = text(&blocks);
        for w in ["horaires", "draftjs", "Population", "guichet", "cellule", "brut", "Démarches", "Permis", "beffroi"]
        {
            assert!(t.contains(w), "{w} in {t}");
        }
    }
}

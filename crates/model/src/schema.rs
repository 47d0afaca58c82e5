//! Content types as data: a schema of typed fields plus behaviors, loaded from JSON
//! files, validating every write and published as JSON Schema (plone.restapi's
//! `@types/<name>`).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::lang::Language;
use crate::richtext::RichText;

/// The content application's type files, for the tests of this crate.
#[cfg(test)]
pub(crate) const CMS_TYPES: &[(&str, &str)] = &[
    ("Folder.json", include_str!("../../apps/cms/types/Folder.json")),
    ("Document.json", include_str!("../../apps/cms/types/Document.json")),
    ("NewsItem.json", include_str!("../../apps/cms/types/NewsItem.json")),
    ("Event.json", include_str!("../../apps/cms/types/Event.json")),
    ("Link.json", include_str!("../../apps/cms/types/Link.json")),
    ("File.json", include_str!("../../apps/cms/types/File.json")),
    ("Image.json", include_str!("../../apps/cms/types/Image.json")),
    ("Collection.json", include_str!("../../apps/cms/types/Collection.json")),
    ("PloneSite.json", include_str!("../../apps/cms/types/PloneSite.json")),
];

/// The type of the site root, as Plone names it (clients depend on the literal).
pub const SITE_ROOT_TYPE: &str = "Plone Site";

/// Text in several languages; French is the fallback, then English.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "BTreeMap<String, String>")]
pub struct Translated(BTreeMap<String, String>);

impl From<BTreeMap<String, String>> for Translated {
    fn from(m: BTreeMap<String, String>) -> Self {
        Self(m)
    }
}

impl Translated {
    pub fn get(&self, lang: Language) -> &str {
        self.0
            .get(lang.code())
            .or_else(|| self.0.get("fr"))
            .or_else(|| self.0.get("en"))
            .map(String::as_str)
            .unwrap_or("")
    }

    fn of(pairs: &[(&str, &str)]) -> Self {
        Self(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }
}

/// The kinds of field a schema may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    TextLine,
    Text,
    RichText,
    Date,
    DateTime,
    Boolean,
    Integer,
    Choice,
    MultiChoice,
    Relation,
    File,
    Image,
    Email,
    Url,
    /// A stored catalog query (plone.app.querystring criteria), for Collections.
    Query,
    /// Volto's blocks of a page, by id (see [`crate::blocks`]).
    Blocks,
    /// The order of those blocks: `{"items": [ids]}`.
    BlocksLayout,
}

/// A widget a field may ask the edit form for, instead of its kind's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Widget {
    /// A text field holding an iCalendar recurrence (RRULE, EXDATE…), edited as
    /// "every week on Monday, 10 times" from the type's `start` date; the type needs a
    /// field filling the `start` metadata column.
    Recurrence,
}

impl Widget {
    /// Its name in type files and templates.
    pub fn name(self) -> &'static str {
        match self {
            Widget::Recurrence => "recurrence",
        }
    }
}

/// A setting of a stored query (a Collection's), held by a field of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryPart {
    /// What the results are sorted on, by plone.restapi's names (choice or text line).
    SortOn,
    /// Whether that order is reversed (boolean).
    SortReversed,
    /// How many results there are at most (integer).
    Limit,
    /// How many results a page of the item's listing shows (integer).
    BatchSize,
}

impl QueryPart {
    /// Its name in type files.
    pub fn name(self) -> &'static str {
        match self {
            QueryPart::SortOn => "sort_on",
            QueryPart::SortReversed => "sort_reversed",
            QueryPart::Limit => "limit",
            QueryPart::BatchSize => "batch_size",
        }
    }
}

/// The metadata column whose field gives the catalog an item's start.
pub const START_COLUMN: &str = "start";
/// The metadata column whose field gives the catalog an item's end.
pub const END_COLUMN: &str = "end";
/// The metadata column whose field gives an event's place.
pub const LOCATION_COLUMN: &str = "location";
/// The metadata column whose field says an event takes whole days (its times unused).
pub const WHOLE_DAY_COLUMN: &str = "whole_day";
/// The metadata column whose field says an event has no end time.
pub const OPEN_END_COLUMN: &str = "open_end";

/// One field of a schema.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub name: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub title: Translated,
    #[serde(default)]
    pub description: Translated,
    #[serde(default)]
    pub required: bool,
    /// Longest accepted text, in characters.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// Allowed values of a choice or multi-choice field.
    #[serde(default)]
    pub choices: Vec<String>,
    /// What people read for each of `choices`, in their language (the value itself
    /// when it has none here).
    #[serde(default)]
    pub choice_titles: BTreeMap<String, Translated>,
    /// The named vocabulary (an application's) whose terms are its allowed values,
    /// computed where the item is (a body's categories, a site's services): instead of
    /// `choices`, on a text line, choice or multi-choice field. Its values are checked
    /// against the terms when they change, and the edit form offers the terms.
    #[serde(default)]
    pub vocabulary: Option<String>,
    /// Set by its application only (an item's number on an agenda): the forms do not
    /// draw it and what people send for it is ignored, as plone.restapi ignores a
    /// read-only field.
    #[serde(default)]
    pub readonly: bool,
    /// Rich text only: the permission (by name, an application's) that lets a reader see
    /// the personal data marked in it (`[[Jean Dupont]]`, kept as a span of class
    /// `personal-data`); others read `[…]` in its place, and the full-text index never
    /// holds it.
    #[serde(default)]
    pub personal_data: Option<String>,
    /// An optional field that the container chooses to use: the name of the
    /// container's multi-choice field listing the optional fields its items use (a
    /// decision body's `item_fields`, as PloneMeeting's usedItemAttributes). While the
    /// container's list is unset or empty (a form with nothing ticked), its items use
    /// every field.
    #[serde(default)]
    pub optional_in: Option<String>,
    #[serde(default)]
    pub fieldset: Option<String>,
    /// The type's main value: its file or image (what `@@download` sends without a
    /// field name), or its address (a Link's).
    #[serde(default)]
    pub primary: bool,
    /// Whether its text goes into the full-text index (rich-text fields always do).
    #[serde(default)]
    pub searchable: bool,
    /// The catalog metadata column it fills in search results (plone.restapi's
    /// `metadata_fields`: `location`, `getRemoteUrl`…); the fields filling `start`
    /// and `end` also give the catalog the item's dates (`start.query`, `sort_on=start`).
    #[serde(default)]
    pub metadata: Option<String>,
    /// The widget the edit form draws instead of its kind's.
    #[serde(default)]
    pub widget: Option<Widget>,
    /// Which setting of the type's stored query it holds (beside a field of kind query).
    #[serde(default)]
    pub query: Option<QueryPart>,
    /// For a query field: the indexes applications declare, which its criteria may
    /// name besides the platform's.
    #[serde(skip)]
    pub declared_indexes: Vec<(String, IndexKind)>,
    /// Set by the behavior that contributed the field, "" for the type's own.
    #[serde(skip)]
    pub behavior: &'static str,
}

impl Field {
    /// Whether an item inside a container with these field values uses the field (see
    /// [`Field::optional_in`]).
    pub fn used_in(&self, container: &Map<String, Value>) -> bool {
        match self.optional_in.as_ref().and_then(|list| container.get(list)) {
            Some(Value::Array(used)) if !used.is_empty() => used.iter().any(|u| u.as_str() == Some(self.name.as_str())),
            _ => true,
        }
    }

    /// What people read for the choice `value` in `lang`: its title, or itself.
    pub fn choice_title<'a>(&'a self, value: &'a str, lang: Language) -> &'a str {
        match self.choice_titles.get(value).map(|t| t.get(lang)) {
            Some(t) if !t.is_empty() => t,
            _ => value,
        }
    }
}

/// A content type.
#[derive(Debug, Clone, Deserialize)]
pub struct TypeSchema {
    pub id: String,
    pub title: Translated,
    #[serde(default)]
    pub description: Translated,
    #[serde(default)]
    pub folderish: bool,
    /// May be added in any folder that does not restrict its types.
    #[serde(default = "yes")]
    pub global_allow: bool,
    /// Types addable inside this one; None means every globally allowed type.
    #[serde(default)]
    pub allowed_types: Option<Vec<String>>,
    /// People add it through the forms and the API; false: only its application makes
    /// it (in a hook), though it may live where `allowed_types` says.
    #[serde(default = "yes")]
    pub addable: bool,
    /// The permission (by name, an application's) people also need to add one, beside
    /// "Add portal content" where it goes (Plone's add permission of a type): a meeting
    /// is added by meeting managers only, though writers add items in the same body.
    #[serde(default)]
    pub add_permission: Option<String>,
    #[serde(default)]
    pub layouts: Vec<String>,
    #[serde(default)]
    pub behaviors: Vec<String>,
    #[serde(default)]
    pub fields: Vec<Field>,
    /// Rules between fields, checked on the values an item ends up with (after a
    /// partial update merges them): `event_dates` (end after start, a valid RRULE).
    #[serde(default)]
    pub checks: Vec<String>,
    /// What schema.org calls its items (`Event`, `NewsArticle`, `Article`…): the
    /// description of their pages for search engines. None: not described.
    #[serde(default)]
    pub schema_org: Option<String>,
}

/// The rules a type file may name in `checks`.
const CHECKS: &[&str] = &["event_dates"];

fn yes() -> bool {
    true
}

/// Checks what fields declare beyond their kind (`metadata`, `widget`, `query`): each
/// declared once in the type, on a field of a kind that can hold it.
fn check_declarations(fields: &[Field]) -> Result<(), String> {
    use FieldKind as K;
    let once = |what: &str, same: &dyn Fn(&Field) -> bool| {
        let mut holders = fields.iter().filter(|f| same(f));
        match (holders.next(), holders.next()) {
            (Some(a), Some(b)) => Err(format!("fields {:?} and {:?} both declare {what}", a.name, b.name)),
            _ => Ok(()),
        }
    };
    for f in fields {
        let name = &f.name;
        if let Some(column) = &f.metadata {
            let fit = !column.is_empty()
                && column.len() <= 64
                && column.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && column.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !fit {
                return Err(format!(
                    "field {name:?}: {column:?} cannot name a metadata column (letters, digits and _)"
                ));
            }
            if crate::catalog::METADATA.contains(&column.as_str()) || crate::catalog::SUMMARY.contains(&column.as_str())
            {
                return Err(format!("field {name:?} cannot fill metadata column {column:?}: the platform fills it"));
            }
            if matches!(f.kind, K::File | K::Image) {
                return Err(format!("field {name:?} cannot fill a metadata column: it holds a file"));
            }
            let dated = column == START_COLUMN || column == END_COLUMN;
            if dated && !matches!(f.kind, K::Date | K::DateTime) {
                return Err(format!("field {name:?} cannot fill metadata column {column:?}: it holds no date"));
            }
            once(&format!("metadata column {column:?}"), &|g| g.metadata == f.metadata)?;
        }
        if let Some(w) = f.widget {
            match w {
                Widget::Recurrence => {
                    if f.kind != K::Text {
                        return Err(format!(
                            "field {name:?} cannot have the recurrence widget: it is not a text field"
                        ));
                    }
                    if !fields.iter().any(|g| g.metadata.as_deref() == Some(START_COLUMN)) {
                        return Err(format!(
                            "field {name:?} cannot have the recurrence widget: no field fills metadata column \"start\""
                        ));
                    }
                }
            }
            once(&format!("widget {:?}", w.name()), &|g| g.widget == Some(w))?;
        }
        if let Some(v) = &f.vocabulary {
            let fit = !v.is_empty()
                && v.len() <= 100
                && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if !fit {
                return Err(format!("field {name:?}: {v:?} cannot name a vocabulary (letters, digits, . _ -)"));
            }
            if !matches!(f.kind, K::TextLine | K::Choice | K::MultiChoice) {
                return Err(format!("field {name:?} cannot take its values from a vocabulary: a {:?} field", f.kind));
            }
            if !f.choices.is_empty() {
                return Err(format!("field {name:?} has both choices and a vocabulary"));
            }
        }
        if let Some(c) = f.choice_titles.keys().find(|c| !f.choices.contains(c)) {
            return Err(format!("field {name:?} names a title for {c:?}, which is not one of its choices"));
        }
        if let Some(list) = &f.optional_in
            && (list.is_empty() || !list.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(format!("field {name:?}: {list:?} cannot name a field of the container"));
        }
        if f.optional_in.is_some() && f.required {
            return Err(format!("field {name:?} is required: it cannot be optional in its container"));
        }
        if f.personal_data.is_some() && f.kind != K::RichText {
            return Err(format!("field {name:?} cannot mark personal data: a {:?} field", f.kind));
        }
        if let Some(part) = f.query {
            let fits = match part {
                QueryPart::SortOn => matches!(f.kind, K::Choice | K::TextLine),
                QueryPart::SortReversed => f.kind == K::Boolean,
                QueryPart::Limit | QueryPart::BatchSize => f.kind == K::Integer,
            };
            if !fits {
                return Err(format!("field {name:?} cannot hold the query's {}: a {:?} field", part.name(), f.kind));
            }
            match fields.iter().filter(|g| g.kind == K::Query).count() {
                1 => {}
                0 => return Err(format!("field {name:?} holds a setting of a query, but no field is of kind query")),
                _ => {
                    return Err(format!(
                        "field {name:?} holds a setting of a query, but several fields are of kind query"
                    ));
                }
            }
            once(&format!("the query's {}", part.name()), &|g| g.query == Some(part))?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

/// One field's validation failure.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// All the field errors of one write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct ValidationErrors(pub Vec<FieldError>);

/// Whether a write creates an item (required fields must be present) or patches one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    Create,
    Update,
}

/// Keys that plone.restapi serializes but that a write may not set; a client that sends
/// back what it read gets them ignored rather than refused.
const READ_ONLY_KEYS: &[&str] = &[
    "@id",
    "@type",
    "@components",
    // Volto's note of the behaviors a form was drawn with, sent back on every save.
    "@static_behaviors",
    "UID",
    "id",
    "parent",
    "created",
    "modified",
    "review_state",
    "is_folderish",
    "items",
    "items_total",
    "batching",
    "type_title",
    "layout",
    "lock",
    "version",
    "versioning_enabled",
    "working_copy",
    "working_copy_of",
    "next_item",
    "previous_item",
    "nextPreviousEnabled",
    "allow_discussion",
    "creators",
    "contributors",
    "relatedItems",
];

fn behavior_fields(name: &str) -> Option<Vec<Field>> {
    let f = |name: &str, kind, title: &[(&str, &str)], behavior: &'static str| Field {
        name: name.to_owned(),
        kind,
        title: Translated::of(title),
        description: Translated::default(),
        required: false,
        max_length: None,
        choices: Vec::new(),
        choice_titles: BTreeMap::new(),
        vocabulary: None,
        readonly: false,
        personal_data: None,
        optional_in: None,
        fieldset: None,
        primary: false,
        searchable: false,
        metadata: None,
        widget: None,
        query: None,
        declared_indexes: Vec::new(),
        behavior,
    };
    let fields = match name {
        "basic" => {
            let mut title = f(
                "title",
                FieldKind::TextLine,
                &[("fr", "Titre"), ("nl", "Titel"), ("de", "Titel"), ("en", "Title")],
                "plone.basic",
            );
            title.required = true;
            title.max_length = Some(255);
            let mut description = f(
                "description",
                FieldKind::Text,
                &[("fr", "Description"), ("nl", "Beschrijving"), ("de", "Beschreibung"), ("en", "Summary")],
                "plone.basic",
            );
            description.max_length = Some(2000);
            vec![title, description]
        }
        "dublincore" => {
            let mut rights = f(
                "rights",
                FieldKind::Text,
                &[("fr", "Droits"), ("nl", "Rechten"), ("de", "Rechte"), ("en", "Rights")],
                "plone.dublincore",
            );
            rights.fieldset = Some("ownership".into());
            let mut subjects = f(
                "subjects",
                FieldKind::MultiChoice,
                &[("fr", "Mots-clés"), ("nl", "Trefwoorden"), ("de", "Schlagwörter"), ("en", "Tags")],
                "plone.dublincore",
            );
            subjects.fieldset = Some("categorization".into());
            let mut language = f(
                "language",
                FieldKind::Choice,
                &[("fr", "Langue"), ("nl", "Taal"), ("de", "Sprache"), ("en", "Language")],
                "plone.dublincore",
            );
            language.fieldset = Some("categorization".into());
            language.choices = Language::ALL.iter().map(|l| l.code().to_owned()).collect();
            let mut effective = f(
                "effective",
                FieldKind::DateTime,
                &[
                    ("fr", "Date de publication"),
                    ("nl", "Publicatiedatum"),
                    ("de", "Veröffentlichungsdatum"),
                    ("en", "Publishing date"),
                ],
                "plone.dublincore",
            );
            effective.fieldset = Some("dates".into());
            let mut expires = f(
                "expires",
                FieldKind::DateTime,
                &[("fr", "Date d'expiration"), ("nl", "Vervaldatum"), ("de", "Ablaufdatum"), ("en", "Expiration date")],
                "plone.dublincore",
            );
            expires.fieldset = Some("dates".into());
            vec![subjects, language, effective, expires, rights]
        }
        "exclude_from_nav" => {
            let mut x = f(
                "exclude_from_nav",
                FieldKind::Boolean,
                &[
                    ("fr", "Exclure de la navigation"),
                    ("nl", "Uitsluiten van navigatie"),
                    ("de", "Aus der Navigation ausschließen"),
                    ("en", "Exclude from navigation"),
                ],
                "plone.excludefromnavigation",
            );
            x.fieldset = Some("settings".into());
            vec![x]
        }
        "versioning" => {
            let mut note = f(
                "changeNote",
                FieldKind::TextLine,
                &[
                    ("fr", "Note de modification"),
                    ("nl", "Wijzigingsnotitie"),
                    ("de", "Änderungsnotiz"),
                    ("en", "Change Note"),
                ],
                "plone.versioning",
            );
            note.max_length = Some(500);
            vec![note]
        }
        "table_of_contents" => {
            let mut x = f(
                "table_of_contents",
                FieldKind::Boolean,
                &[
                    ("fr", "Table des matières"),
                    ("nl", "Inhoudsopgave"),
                    ("de", "Inhaltsverzeichnis"),
                    ("en", "Table of contents"),
                ],
                "plone.tableofcontents",
            );
            x.fieldset = Some("settings".into());
            vec![x]
        }
        "leadimage" => {
            let image = f(
                "image",
                FieldKind::Image,
                &[("fr", "Image d'en-tête"), ("nl", "Hoofdafbeelding"), ("de", "Aufmacherbild"), ("en", "Lead Image")],
                "plone.leadimage",
            );
            let mut caption = f(
                "image_caption",
                FieldKind::TextLine,
                &[
                    ("fr", "Légende de l'image"),
                    ("nl", "Onderschrift"),
                    ("de", "Bildunterschrift"),
                    ("en", "Lead Image Caption"),
                ],
                "plone.leadimage",
            );
            caption.max_length = Some(500);
            vec![image, caption]
        }
        // plone.volto's `volto.blocks`: the page composed of blocks (Volto edits them;
        // Beffroi's pages show them). In the "layout" fieldset, which Volto's form
        // draws as its blocks editor rather than as fields.
        "blocks" => {
            let mut blocks = f(
                crate::blocks::BLOCKS,
                FieldKind::Blocks,
                &[("fr", "Blocs"), ("nl", "Blokken"), ("de", "Blöcke"), ("en", "Blocks")],
                "volto.blocks",
            );
            blocks.fieldset = Some("layout".into());
            blocks.searchable = true;
            let mut layout = f(
                crate::blocks::LAYOUT,
                FieldKind::BlocksLayout,
                &[
                    ("fr", "Disposition des blocs"),
                    ("nl", "Indeling van de blokken"),
                    ("de", "Anordnung der Blöcke"),
                    ("en", "Blocks Layout"),
                ],
                "volto.blocks",
            );
            layout.fieldset = Some("layout".into());
            vec![blocks, layout]
        }
        // Makes the title optional: it is taken from the uploaded file's name.
        "namefromfilename" => Vec::new(),
        _ => return None,
    };
    Some(fields)
}

impl TypeSchema {
    /// The schema as items inside a container with these field values use it: without
    /// the optional fields it leaves out (the forms then neither draw nor read them).
    pub fn in_container(&self, container: &Map<String, Value>) -> std::borrow::Cow<'_, TypeSchema> {
        if self.fields.iter().all(|f| f.used_in(container)) {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut t = self.clone();
        t.fields.retain(|f| f.used_in(container));
        std::borrow::Cow::Owned(t)
    }

    /// The first field given a value in `values` that items inside a container with
    /// these field values do not use.
    pub fn unused_in(&self, container: &Map<String, Value>, values: &Map<String, Value>) -> Option<&Field> {
        let given = |v: &Value| !(v.is_null() || v == "" || v == &Value::Array(Vec::new()) || v == &Value::Bool(false));
        self.fields.iter().find(|f| !f.used_in(container) && values.get(&f.name).is_some_and(given))
    }

    /// Whether `values` name a field only the type's application sets.
    pub fn names_readonly(&self, values: &Map<String, Value>) -> bool {
        values.keys().any(|k| self.field(k).is_some_and(|f| f.readonly))
    }

    /// `values` without the fields only the type's application sets.
    pub fn without_readonly(&self, values: &Map<String, Value>) -> Map<String, Value> {
        values
            .iter()
            .filter(|(k, _)| self.field(k).is_none_or(|f| !f.readonly))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Parses a type file and expands its behaviors into fields.
    pub fn load(file: &str, json: &str) -> Result<Self, SchemaError> {
        let err = |message: String| SchemaError::Invalid { file: file.to_owned(), message };
        let mut t: TypeSchema = serde_json::from_str(json).map_err(|e| err(e.to_string()))?;
        let mut all = Vec::new();
        for b in &t.behaviors {
            all.extend(behavior_fields(b).ok_or_else(|| err(format!("unknown behavior {b:?}")))?);
        }
        all.append(&mut t.fields);
        let mut seen = std::collections::HashSet::new();
        for f in &all {
            if !seen.insert(f.name.clone()) {
                return Err(err(format!("field {:?} is defined twice", f.name)));
            }
            if matches!(f.kind, FieldKind::Choice) && f.choices.is_empty() && f.vocabulary.is_none() {
                return Err(err(format!("choice field {:?} has neither choices nor a vocabulary", f.name)));
            }
            let textual = matches!(
                f.kind,
                FieldKind::TextLine
                    | FieldKind::Text
                    | FieldKind::RichText
                    | FieldKind::Email
                    | FieldKind::Url
                    | FieldKind::Blocks
            );
            if f.searchable && !textual {
                return Err(err(format!("field {:?} cannot be searchable: it holds no text", f.name)));
            }
        }
        check_declarations(&all).map_err(err)?;
        if let Some(c) = t.checks.iter().find(|c| !CHECKS.contains(&c.as_str())) {
            return Err(err(format!("unknown check {c:?}")));
        }
        if t.behaviors.iter().any(|b| b == "namefromfilename") {
            for f in all.iter_mut().filter(|f| f.name == "title") {
                f.required = false;
            }
        }
        t.fields = all;
        Ok(t)
    }

    /// The field that fills metadata column `column`.
    pub fn metadata_field(&self, column: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.metadata.as_deref() == Some(column))
    }

    /// An item's start and end, as the catalog keeps them: the values of the fields
    /// filling the `start` and `end` metadata columns (a date at midnight UTC).
    pub fn date_range(&self, fields: &Map<String, Value>) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let at = |column: &str| {
            let s = fields.get(&self.metadata_field(column)?.name)?.as_str()?;
            parse_datetime(s)
                .or_else(|| Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0)?.and_utc()))
        };
        (at(START_COLUMN), at(END_COLUMN))
    }

    /// The value an item's fields give to a metadata column (see [`START_COLUMN`]).
    pub fn column_value<'a>(&self, fields: &'a Map<String, Value>, column: &str) -> Option<&'a Value> {
        fields.get(&self.metadata_field(column)?.name)
    }

    /// Whether the fields an item has say yes to a metadata column (a boolean one).
    pub fn column_flag(&self, fields: &Map<String, Value>, column: &str) -> bool {
        self.column_value(fields, column).and_then(Value::as_bool).unwrap_or(false)
    }

    /// The field the edit form draws with widget `w`.
    pub fn widget_field(&self, w: Widget) -> Option<&Field> {
        self.fields.iter().find(|f| f.widget == Some(w))
    }

    /// The field holding the type's stored query (its criteria), if it has one.
    pub fn query_field(&self) -> Option<&Field> {
        self.fields.iter().find(|f| f.kind == FieldKind::Query)
    }

    /// The value an item gives to a setting of its stored query, if its type holds it.
    pub fn query_setting<'a>(&self, fields: &'a Map<String, Value>, part: QueryPart) -> Option<&'a Value> {
        let f = self.fields.iter().find(|f| f.query == Some(part))?;
        fields.get(&f.name).filter(|v| !v.is_null())
    }

    /// Runs the type's `checks` on an item's merged values.
    pub fn check_values(&self, fields: &Map<String, Value>) -> Result<(), ValidationErrors> {
        for c in &self.checks {
            if c == "event_dates" {
                crate::event::check(fields)?;
            }
        }
        if self.field(crate::blocks::LAYOUT).is_some() {
            crate::blocks::check(fields)?;
        }
        Ok(())
    }

    /// The rich-text fields, in the schema's order.
    pub fn rich_text_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.kind == FieldKind::RichText)
    }

    /// The fields whose text the full-text index holds: every rich-text field and the
    /// fields marked searchable, in the schema's order.
    pub fn searchable_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.kind == FieldKind::RichText || f.searchable)
    }

    /// The type's main value (its file, its image, its address), if one is marked.
    pub fn primary(&self) -> Option<&Field> {
        self.fields.iter().find(|f| f.primary)
    }

    /// Whether the type's main value is of this kind (an Image type: an image).
    pub fn primary_is(&self, kind: FieldKind) -> bool {
        self.primary().is_some_and(|f| f.kind == kind)
    }

    /// Whether the type is an event: its files ask for the `event_dates` check.
    pub fn is_event(&self) -> bool {
        self.checks.iter().any(|c| c == "event_dates")
    }

    /// Whether the type's items list a stored catalog query (a Collection).
    pub fn has_query(&self) -> bool {
        self.query_field().is_some()
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Checks and normalizes the values of one write. Keys the client may send back
    /// from a read are ignored; unknown keys are errors.
    pub fn validate(
        &self,
        input: &Map<String, Value>,
        mode: WriteMode,
    ) -> Result<Map<String, Value>, ValidationErrors> {
        self.validate_with(input, mode, &[])
    }

    /// [`TypeSchema::validate`] where the fields named in `provided` come apart from
    /// `input` (files uploaded with a form) and count as present.
    pub fn validate_with(
        &self,
        input: &Map<String, Value>,
        mode: WriteMode,
        provided: &[&str],
    ) -> Result<Map<String, Value>, ValidationErrors> {
        let mut out = Map::new();
        let mut errors = Vec::new();
        for (key, value) in input {
            // A type may make one of them its own field (a folder's "layout").
            if READ_ONLY_KEYS.contains(&key.as_str()) && self.field(key).is_none() {
                continue;
            }
            let Some(field) = self.field(key) else {
                errors.push(FieldError { field: key.clone(), message: "unknown field".into() });
                continue;
            };
            // A file or image sent back as it was read (with its download URL and no
            // data) leaves the stored file unchanged.
            if matches!(field.kind, FieldKind::File | FieldKind::Image)
                && value.as_object().is_some_and(|o| !o.contains_key("data") && o.contains_key("download"))
            {
                continue;
            }
            match validate_value(field, value) {
                Ok(v) => {
                    if field.required && v.is_null() {
                        errors.push(FieldError { field: key.clone(), message: "required".into() });
                    } else {
                        out.insert(key.clone(), v);
                    }
                }
                Err(message) => errors.push(FieldError { field: key.clone(), message }),
            }
        }
        if mode == WriteMode::Create {
            for f in self.fields.iter().filter(|f| f.required) {
                if !input.contains_key(&f.name) && !provided.contains(&f.name.as_str()) {
                    errors.push(FieldError { field: f.name.clone(), message: "required".into() });
                }
            }
        }
        if errors.is_empty() { Ok(out) } else { Err(ValidationErrors(errors)) }
    }

    /// The type as plone.restapi's JSON Schema (`@types/<name>`).
    pub fn json_schema(&self, lang: Language) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut fieldsets: Vec<(String, Vec<String>)> = vec![("default".into(), Vec::new())];
        for f in &self.fields {
            properties.insert(f.name.clone(), field_schema(f, lang));
            if f.required {
                required.push(f.name.clone());
            }
            let set = f.fieldset.clone().unwrap_or_else(|| "default".into());
            match fieldsets.iter_mut().find(|(id, _)| *id == set) {
                Some((_, fields)) => fields.push(f.name.clone()),
                None => fieldsets.push((set, vec![f.name.clone()])),
            }
        }
        let fieldsets: Vec<Value> = fieldsets
            .into_iter()
            .map(|(id, fields)| json!({"id": id, "title": fieldset_title(&id, lang), "fields": fields, "behavior": "plone"}))
            .collect();
        json!({
            "title": self.title.get(lang),
            "type": "object",
            "properties": properties,
            "required": required,
            "fieldsets": fieldsets,
            "layouts": self.layouts,
        })
    }
}

fn fieldset_title(id: &str, lang: Language) -> &'static str {
    let fr = matches!(lang, Language::Fr);
    match id {
        "default" => {
            if fr {
                "Par défaut"
            } else {
                "Default"
            }
        }
        "settings" => {
            if fr {
                "Paramètres"
            } else {
                "Settings"
            }
        }
        "categorization" => {
            if fr {
                "Catégorisation"
            } else {
                "Categorization"
            }
        }
        "dates" => "Dates",
        "ownership" => {
            if fr {
                "Propriété"
            } else {
                "Ownership"
            }
        }
        _ => "",
    }
}

fn field_schema(f: &Field, lang: Language) -> Value {
    let (ty, factory, widget) = match f.kind {
        FieldKind::TextLine => ("string", "Text line (String)", None),
        FieldKind::Text => ("string", "Text", Some("textarea")),
        FieldKind::RichText => ("string", "Rich Text", Some("richtext")),
        FieldKind::Date => ("string", "Date", Some("date")),
        FieldKind::DateTime => ("string", "Date/Time", Some("datetime")),
        FieldKind::Boolean => ("boolean", "Yes/No", None),
        FieldKind::Integer => ("integer", "Integer", None),
        FieldKind::Choice => ("string", "Choice", None),
        FieldKind::MultiChoice => ("array", "Multiple Choice", None),
        FieldKind::Relation => ("string", "Relation Choice", Some("relation")),
        FieldKind::File => ("object", "File Upload", Some("file")),
        FieldKind::Image => ("object", "Image", Some("image")),
        FieldKind::Email => ("string", "Email", Some("email")),
        FieldKind::Url => ("string", "URL", Some("url")),
        FieldKind::Query => ("array", "List", Some("querystring")),
        FieldKind::Blocks | FieldKind::BlocksLayout => ("dict", "JSONField", Some("json")),
    };
    let mut s = json!({
        "title": f.title.get(lang),
        "description": f.description.get(lang),
        "type": ty,
        "factory": factory,
        "behavior": if f.behavior.is_empty() { "plone.dexterity.schema.generated" } else { f.behavior },
    });
    let m = s.as_object_mut().expect("object literal");
    if let Some(w) = widget {
        m.insert("widget".into(), w.into());
    }
    if let Some(max) = f.max_length {
        m.insert("maxLength".into(), max.into());
    }
    if f.readonly {
        m.insert("readonly".into(), true.into());
    }
    match f.kind {
        FieldKind::Blocks => {
            m.insert("default".into(), json!({}));
        }
        FieldKind::BlocksLayout => {
            m.insert("default".into(), json!({"items": []}));
        }
        _ => {}
    }
    // A vocabulary by its name: the web layer makes it the URL of its `@vocabularies`.
    let vocabulary = f.vocabulary.as_ref().map(|v| json!({ "@id": v }));
    // Titled choices as plone.restapi gives a static vocabulary's: tokens and titles.
    let titles: Vec<&str> = f.choices.iter().map(|c| f.choice_title(c, lang)).collect();
    let titled = !f.choice_titles.is_empty();
    if f.kind == FieldKind::Choice {
        match &vocabulary {
            Some(v) => m.insert("vocabulary".into(), v.clone()),
            None => m.insert("enum".into(), f.choices.clone().into()),
        };
        if titled {
            m.insert("enumNames".into(), json!(titles));
            let pairs: Vec<Value> = f.choices.iter().zip(&titles).map(|(c, t)| json!([c, t])).collect();
            m.insert("choices".into(), pairs.into());
        }
    }
    if f.kind == FieldKind::TextLine
        && let Some(v) = &vocabulary
    {
        m.insert("vocabulary".into(), v.clone());
    }
    // Free tags: Volto suggests those in use, from Plone's vocabulary of keywords.
    if f.kind == FieldKind::MultiChoice && vocabulary.is_none() && f.choices.is_empty() {
        m.insert("widgetOptions".into(), json!({"vocabulary": {"@id": "plone.app.vocabularies.Keywords"}}));
    }
    if f.kind == FieldKind::MultiChoice {
        let items = match (&vocabulary, f.choices.is_empty()) {
            (Some(v), _) => json!({"type": "string", "vocabulary": v}),
            (None, true) => json!({"type": "string"}),
            (None, false) if titled => json!({"type": "string", "enum": f.choices, "enumNames": titles}),
            (None, false) => json!({"type": "string", "enum": f.choices}),
        };
        m.insert("items".into(), items);
        m.insert("uniqueItems".into(), true.into());
    }
    s
}

fn check_len(f: &Field, s: &str) -> Result<(), String> {
    match f.max_length {
        Some(max) if s.chars().count() > max => Err(format!("at most {max} characters")),
        _ => Ok(()),
    }
}

fn validate_value(f: &Field, v: &Value) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let as_str = || v.as_str().ok_or_else(|| "expected a string".to_owned());
    match f.kind {
        FieldKind::TextLine => {
            let s = as_str()?;
            if s.contains(['\n', '\r']) {
                return Err("must be a single line".into());
            }
            if s.chars().any(char::is_control) {
                return Err("must not contain control characters".into());
            }
            let s = s.trim();
            check_len(f, s)?;
            if f.required && s.is_empty() {
                return Err("required".into());
            }
            Ok(s.into())
        }
        FieldKind::Text => {
            let s = as_str()?;
            if s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
                return Err("must not contain control characters".into());
            }
            check_len(f, s)?;
            Ok(s.trim().into())
        }
        FieldKind::RichText => {
            // The writer's marks of personal data become spans, then the HTML is cleaned.
            let marked = |html: &str| match f.personal_data {
                Some(_) => crate::richtext::mark_personal_data(html),
                None => html.to_owned(),
            };
            let rt: RichText = match v {
                Value::String(s) => RichText::html(&marked(s)),
                Value::Object(_) => {
                    let raw: RichText = serde_json::from_value(v.clone())
                        .map_err(|_| "expected {\"data\": …, \"content-type\": …}".to_owned())?;
                    if raw.content_type != "text/html" && raw.content_type != "text/plain" {
                        return Err(format!("unsupported content-type {:?}", raw.content_type));
                    }
                    if raw.content_type == "text/plain" {
                        let escaped = raw.data.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
                        RichText::html(&marked(&format!("<p>{escaped}</p>")))
                    } else {
                        RichText::html(&marked(&raw.data))
                    }
                }
                _ => return Err("expected rich text".into()),
            };
            check_len(f, &rt.data)?;
            Ok(serde_json::to_value(rt).expect("serializable"))
        }
        FieldKind::Date => {
            let s = as_str()?;
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| "expected a date YYYY-MM-DD".to_owned())?;
            Ok(s.into())
        }
        FieldKind::DateTime => {
            let s = as_str()?;
            let dt = parse_datetime(s).ok_or("expected a date and time (ISO 8601)")?;
            Ok(dt.to_rfc3339_opts(chrono::SecondsFormat::Secs, false).into())
        }
        FieldKind::Boolean => v.as_bool().map(Value::Bool).ok_or_else(|| "expected true or false".into()),
        FieldKind::Integer => v.as_i64().map(Value::from).ok_or_else(|| "expected an integer".into()),
        FieldKind::Choice => {
            let s = as_str()?;
            // A vocabulary's terms are checked where they are known (the services).
            if f.choices.iter().any(|c| c == s) || (f.vocabulary.is_some() && !s.is_empty() && s.len() <= 200) {
                Ok(s.into())
            } else {
                Err(format!("{s:?} is not one of {:?}", f.choices))
            }
        }
        FieldKind::MultiChoice => {
            let arr = v.as_array().ok_or("expected a list")?;
            let mut out: Vec<String> = Vec::new();
            for x in arr {
                let s = x.as_str().ok_or("expected a list of strings")?.trim();
                if s.is_empty() || s.chars().count() > 100 {
                    return Err("each value has 1 to 100 characters".into());
                }
                if !f.choices.is_empty() && !f.choices.iter().any(|c| c == s) {
                    return Err(format!("{s:?} is not an allowed value"));
                }
                if !out.iter().any(|o| o == s) {
                    out.push(s.to_owned());
                }
            }
            Ok(out.into())
        }
        FieldKind::Relation => {
            let s = as_str()?;
            uuid::Uuid::try_parse(s).map_err(|_| "expected the UID of an item".to_owned())?;
            Ok(s.into())
        }
        FieldKind::File | FieldKind::Image => {
            // An upload: {"data", "encoding": "base64", "filename", "content-type"}. The
            // service decodes and stores it; only its shape is checked here.
            let o = v.as_object().ok_or("expected an object with data, encoding, filename and content-type")?;
            for k in ["filename", "data"] {
                if !o.get(k).is_some_and(Value::is_string) {
                    return Err(format!("missing {k}"));
                }
            }
            match o.get("encoding").and_then(Value::as_str) {
                None | Some("base64") => {}
                Some(other) => return Err(format!("unsupported encoding {other:?} (base64 only)")),
            }
            if o.get("content-type").is_some_and(|c| !c.is_string()) {
                return Err("content-type must be a string".into());
            }
            Ok(v.clone())
        }
        FieldKind::Query => {
            let arr = v.as_array().ok_or("expected a list of criteria")?;
            if arr.len() > 50 {
                return Err("at most 50 criteria".into());
            }
            for (n, c) in arr.iter().enumerate() {
                let (Some(i), Some(o)) = (c.get("i").and_then(Value::as_str), c.get("o").and_then(Value::as_str))
                else {
                    return Err("each criterion has an index \"i\" and an operation \"o\"".into());
                };
                let short = o.strip_prefix(crate::catalog::querystring::PREFIX).unwrap_or(o);
                let fits = match f.declared_indexes.iter().find(|(name, _)| name == i) {
                    Some((_, kind)) => kind.operations().contains(&short),
                    None => crate::catalog::querystring::fits(i, o),
                };
                if !fits {
                    let o = short;
                    return Err(format!("criterion {}: {o} does not apply to {i}", n + 1));
                }
            }
            Ok(v.clone())
        }
        FieldKind::Blocks => crate::blocks::validate_blocks(v),
        FieldKind::BlocksLayout => crate::blocks::validate_layout(v),
        FieldKind::Email => {
            let s = as_str()?.trim();
            let valid = s.len() <= 254
                && s.split_once('@').is_some_and(|(local, domain)| {
                    !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
                })
                && !s.contains(char::is_whitespace);
            if valid { Ok(s.into()) } else { Err("expected an email address".into()) }
        }
        FieldKind::Url => {
            let s = as_str()?.trim();
            let valid = (s.starts_with("https://")
                || s.starts_with("http://")
                || s.starts_with("mailto:")
                || s.starts_with('/'))
                && !s.contains(char::is_whitespace)
                && s.len() <= 2000;
            if valid { Ok(s.into()) } else { Err("expected an http(s) URL".into()) }
        }
    }
}

/// Parses an ISO 8601 date-time, with or without offset (without: taken as UTC).
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(n.and_utc());
        }
    }
    None
}

/// The loaded content types.
#[derive(Debug, Clone, Default)]
pub struct TypeRegistry {
    types: Vec<TypeSchema>,
    indexes: Vec<IndexDecl>,
}

/// What a catalog index keeps of its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexKind {
    /// Each value (a text line, a choice, each of a list's), found exactly.
    Keyword,
    /// A date or date-time, found by ranges.
    Date,
    /// An integer, found by ranges.
    Number,
    /// True or false (an item without the value: false).
    Boolean,
    /// Its words join the full text.
    Text,
}

impl IndexKind {
    /// The plone.app.querystring operations (short names) a criterion on such an index
    /// takes.
    pub fn operations(self) -> &'static [&'static str] {
        match self {
            IndexKind::Keyword => &["selection.any", "selection.all", "selection.is", "string.is"],
            IndexKind::Boolean => &["boolean.isTrue", "boolean.isFalse"],
            IndexKind::Number => &["int.is", "int.lessThan", "int.largerThan", "int.between"],
            IndexKind::Date => crate::catalog::querystring::DATE_OPERATIONS,
            IndexKind::Text => &[],
        }
    }

    /// Whether a field of `kind` can be indexed so.
    fn fits(self, kind: FieldKind) -> bool {
        use FieldKind as F;
        match self {
            IndexKind::Keyword => matches!(kind, F::TextLine | F::Choice | F::MultiChoice | F::Email | F::Url),
            IndexKind::Date => matches!(kind, F::Date | F::DateTime),
            IndexKind::Number => kind == F::Integer,
            IndexKind::Boolean => kind == F::Boolean,
            IndexKind::Text => matches!(kind, F::TextLine | F::Text | F::RichText),
        }
    }
}

/// A catalog index an application declares: queries name it (`@search?district=…`,
/// a Collection's criterion) and it reads the field of the same name (or `field`) of
/// every type that has one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexDecl {
    #[serde(skip)]
    pub name: String,
    pub kind: IndexKind,
    /// The field it reads; its own name when absent.
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub title: Translated,
}

/// The names queries give a meaning to besides the platform's indexes
/// (`catalog::querystring::INDEXES`): no declared index takes one of either.
pub const RESERVED_INDEX_NAMES: &[&str] = &[
    "UID",
    "getId",
    "id",
    "sortable_title",
    "getObjPositionInParent",
    "sort_on",
    "sort_order",
    "sort_limit",
    "b_start",
    "b_size",
    "metadata_fields",
    "fullobjects",
    "query",
];

impl TypeRegistry {
    /// The types shipped in the binary.
    /// The types of these files, in order; a file that does not load or a type
    /// defined twice is refused.
    pub fn from_files(files: &[(&str, &str)]) -> Result<Self, SchemaError> {
        let mut reg = Self::default();
        for (file, json) in files {
            reg.add(file, TypeSchema::load(file, json)?)?;
        }
        Ok(reg)
    }

    /// The content application's types, for the tests of this crate.
    #[cfg(test)]
    pub(crate) fn cms() -> Self {
        Self::from_files(CMS_TYPES).expect("the content types load")
    }

    /// Adds a type an application brings; one whose name another type has is refused.
    pub fn add(&mut self, file: &str, schema: TypeSchema) -> Result<(), SchemaError> {
        if self.get(&schema.id).is_some() {
            return Err(SchemaError::Invalid {
                file: file.to_owned(),
                message: format!("type {:?} is already defined", schema.id),
            });
        }
        let mut schema = schema;
        let declared: Vec<(String, IndexKind)> = self.indexes.iter().map(|d| (d.name.clone(), d.kind)).collect();
        for f in schema.fields.iter_mut().filter(|f| f.kind == FieldKind::Query) {
            f.declared_indexes = declared.clone();
        }
        self.types.push(schema);
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&TypeSchema> {
        self.types.iter().find(|t| t.id == id)
    }

    /// Adds the catalog indexes of an index file (`{"name": {"kind": …, "field": …}}`):
    /// a name already taken, a field no type has, or a field of a kind the index
    /// cannot read is refused, naming the file. A text index makes its field
    /// searchable in every type that has it.
    pub fn add_indexes(&mut self, file: &str, json: &str) -> Result<(), SchemaError> {
        let err = |message: String| SchemaError::Invalid { file: file.to_owned(), message };
        let decls: BTreeMap<String, IndexDecl> = serde_json::from_str(json).map_err(|e| err(e.to_string()))?;
        let mut added = Vec::new();
        for (name, mut decl) in decls {
            let fit = !name.is_empty()
                && name.len() <= 64
                && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !fit {
                return Err(err(format!("{name:?} cannot name an index (letters, digits and _)")));
            }
            if RESERVED_INDEX_NAMES.contains(&name.as_str())
                || crate::catalog::querystring::INDEXES.contains(&name.as_str())
                || self.index(&name).is_some()
            {
                return Err(err(format!("index {name:?} is already defined")));
            }
            if decl.field.is_empty() {
                decl.field = name.clone();
            }
            let mut holders = self.types.iter().filter_map(|t| Some((t, t.field(&decl.field)?))).peekable();
            if holders.peek().is_none() {
                return Err(err(format!("index {name:?} is on field {:?}, which no type has", decl.field)));
            }
            if let Some((t, f)) = holders.find(|(_, f)| !decl.kind.fits(f.kind)) {
                return Err(err(format!(
                    "index {name:?} cannot read field {:?} of {}: a {:?} index on a {:?} field",
                    f.name, t.id, decl.kind, f.kind
                )));
            }
            decl.name = name;
            added.push(decl);
        }
        for t in &mut self.types {
            for f in t.fields.iter_mut().filter(|f| f.kind == FieldKind::Query) {
                f.declared_indexes.extend(added.iter().map(|d| (d.name.clone(), d.kind)));
            }
        }
        for decl in &added {
            if decl.kind == IndexKind::Text {
                for t in &mut self.types {
                    for f in t.fields.iter_mut().filter(|f| f.name == decl.field) {
                        f.searchable = true;
                    }
                }
            }
        }
        self.indexes.extend(added);
        Ok(())
    }

    /// The metadata columns the types' fields fill (`location`, `start`…), besides the
    /// platform's (`catalog::METADATA`), sorted.
    pub fn metadata_columns(&self) -> Vec<&str> {
        let columns: std::collections::BTreeSet<&str> =
            self.types.iter().flat_map(|t| t.fields.iter().filter_map(|f| f.metadata.as_deref())).collect();
        columns.into_iter().collect()
    }

    /// The declared catalog indexes.
    pub fn indexes(&self) -> &[IndexDecl] {
        &self.indexes
    }

    /// The declared index named `name`.
    pub fn index(&self, name: &str) -> Option<&IndexDecl> {
        self.indexes.iter().find(|i| i.name == name)
    }

    pub fn all(&self) -> &[TypeSchema] {
        &self.types
    }

    /// The type whose items are images (its main value an image), and that field.
    pub fn image_type(&self) -> Option<(&TypeSchema, &Field)> {
        self.types
            .iter()
            .filter(|t| !t.folderish)
            .find_map(|t| Some((t, t.primary().filter(|f| f.kind == FieldKind::Image)?)))
    }

    /// The names of the types that hold others (the site root aside: no item is one).
    pub fn folderish(&self) -> Vec<String> {
        self.types.iter().filter(|t| t.folderish && t.id != SITE_ROOT_TYPE).map(|t| t.id.clone()).collect()
    }

    /// Whether `child` may be added inside an item of type `parent` (None: the site root).
    pub fn may_contain(&self, parent: Option<&str>, child: &str) -> bool {
        self.may_contain_with(&TypeRules::default(), parent, child)
    }

    /// Whether people may add a `child` in a `parent`: it may live there and is not
    /// made only by its application.
    pub fn may_add_with(&self, rules: &TypeRules, parent: Option<&str>, child: &str) -> bool {
        self.get(child).is_some_and(|t| t.addable) && self.may_contain_with(rules, parent, child)
    }

    /// The permission people need, beside "Add portal content", to add a `child`.
    pub fn add_permission(&self, child: &str) -> Option<crate::security::Permission> {
        let name = self.get(child)?.add_permission.as_deref()?;
        // An unknown name is refused at load; were it not, nobody would add one.
        Some(crate::security::Permission::parse(name).unwrap_or(crate::security::Permission::ManagePortal))
    }

    /// [`TypeRegistry::may_contain`] with a site's own rules over the type files'.
    pub fn may_contain_with(&self, rules: &TypeRules, parent: Option<&str>, child: &str) -> bool {
        let Some(child_t) = self.get(child).filter(|_| rules.has(child)) else {
            return false;
        };
        let global_allow = rules.by_type.get(child).and_then(|r| r.global_allow).unwrap_or(child_t.global_allow);
        match parent {
            None => global_allow,
            Some(p) => match self.get(p) {
                Some(pt) if pt.folderish => {
                    let allowed = match rules.by_type.get(p).and_then(|r| r.allowed_types.as_ref()) {
                        Some(site_rule) => site_rule.as_ref(),
                        None => pt.allowed_types.as_ref(),
                    };
                    match allowed {
                        Some(list) => list.iter().any(|t| t == child),
                        None => global_allow,
                    }
                }
                _ => false,
            },
        }
    }
}

/// A site's own containment rule for one type, over its type file: which types it
/// holds (`Some(None)`: any globally allowed type) and whether it may be added anywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct TypeRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_types: Option<Option<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_allow: Option<bool>,
}

/// A site's rules, by type (what is stored), and the types it does not have at all
/// (those of the applications it has not enabled: never stored, worked out).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(from = "BTreeMap<String, TypeRule>", into = "BTreeMap<String, TypeRule>")]
pub struct TypeRules {
    pub by_type: BTreeMap<String, TypeRule>,
    pub unavailable: std::collections::BTreeSet<String>,
}

impl From<BTreeMap<String, TypeRule>> for TypeRules {
    fn from(by_type: BTreeMap<String, TypeRule>) -> Self {
        TypeRules { by_type, unavailable: Default::default() }
    }
}

impl From<TypeRules> for BTreeMap<String, TypeRule> {
    fn from(r: TypeRules) -> Self {
        r.by_type
    }
}

impl TypeRules {
    /// Whether the site has the type (its application is enabled there).
    pub fn has(&self, type_name: &str) -> bool {
        !self.unavailable.contains(type_name)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_container_chooses_the_optional_fields_its_items_use() {
        use super::TypeSchema;
        let t = TypeSchema::load(
            "P.json",
            r#"{"id": "P", "title": {"fr": "P"}, "fields": [
                {"name": "always", "kind": "textline"},
                {"name": "a", "kind": "textline", "optional_in": "used"},
                {"name": "b", "kind": "boolean", "optional_in": "used"}]}"#,
        )
        .unwrap();
        let names = |c: serde_json::Value| -> Vec<String> {
            t.in_container(c.as_object().unwrap()).fields.iter().map(|f| f.name.clone()).collect()
        };
        assert_eq!(names(serde_json::json!({})), ["always", "a", "b"], "until the container chooses");
        assert_eq!(names(serde_json::json!({"used": null})), ["always", "a", "b"]);
        assert_eq!(names(serde_json::json!({"used": ["b"]})), ["always", "b"]);
        assert_eq!(names(serde_json::json!({"used": []})), ["always", "a", "b"], "nothing ticked is no choice");
        let container = serde_json::json!({"used": ["b"]});
        let unused = |v: serde_json::Value| {
            t.unused_in(container.as_object().unwrap(), v.as_object().unwrap()).map(|f| f.name.clone())
        };
        assert_eq!(unused(serde_json::json!({"a": "x", "b": true})), Some("a".into()));
        assert_eq!(unused(serde_json::json!({"a": "", "always": "x"})), None, "an empty value is no value");
        let bad = |json: &str| TypeSchema::load("P.json", json).unwrap_err().to_string();
        assert!(bad(r#"{"id": "P", "title": {"fr": "P"}, "fields": [{"name": "a", "kind": "textline", "required": true, "optional_in": "used"}]}"#)
            .contains("is required: it cannot be optional"));
        assert!(bad(r#"{"id": "P", "title": {"fr": "P"}, "fields": [{"name": "a", "kind": "textline", "optional_in": "a b"}]}"#)
            .contains("cannot name a field of the container"));
    }

    #[test]
    fn indexes_are_declared_on_fields_that_exist_and_fit() {
        let mut reg = TypeRegistry::from_files(&[(
            "R.json",
            r#"{"id": "R", "title": {"fr": "R"}, "fields": [
                {"name": "district", "kind": "textline"}, {"name": "urgent", "kind": "boolean"},
                {"name": "due", "kind": "date"}, {"name": "count", "kind": "integer"},
                {"name": "note", "kind": "text"}]}"#,
        )])
        .unwrap();
        let bad =
            |reg: &TypeRegistry, json: &str| reg.clone().add_indexes("indexes.json", json).unwrap_err().to_string();
        assert_eq!(
            bad(&reg, r#"{"x": {"kind": "keyword"}}"#),
            "indexes.json: index \"x\" is on field \"x\", which no type has"
        );
        assert_eq!(
            bad(&reg, r#"{"due_k": {"kind": "keyword", "field": "due"}}"#),
            "indexes.json: index \"due_k\" cannot read field \"due\" of R: a Keyword index on a Date field"
        );
        assert_eq!(
            bad(&reg, r#"{"review_state": {"kind": "keyword"}}"#),
            "indexes.json: index \"review_state\" is already defined"
        );
        assert!(bad(&reg, r#"{"a b": {"kind": "keyword"}}"#).contains("cannot name an index"));
        assert!(bad(&reg, r#"{"district": {"kind": "colour"}}"#).contains("unknown variant `colour`"));
        reg.add_indexes(
            "indexes.json",
            r#"{"district": {"kind": "keyword"}, "urgent": {"kind": "boolean"}, "due": {"kind": "date"},
                "count": {"kind": "number"}, "note": {"kind": "text"}}"#,
        )
        .unwrap();
        assert_eq!(reg.index("due").map(|i| i.kind), Some(IndexKind::Date));
        assert!(reg.get("R").unwrap().field("note").unwrap().searchable, "a text index makes its field searchable");
        assert!(bad(&reg, r#"{"district": {"kind": "keyword"}}"#).contains("already defined"));
    }
    use super::*;

    fn doc() -> TypeSchema {
        TypeRegistry::cms().get("Document").unwrap().clone()
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn builtin_types_load_with_behavior_fields() {
        let reg = TypeRegistry::cms();
        let d = reg.get("Document").unwrap();
        for name in ["title", "description", "text", "subjects", "exclude_from_nav", "changeNote"] {
            assert!(d.field(name).is_some(), "{name}");
        }
        assert!(reg.get("Folder").unwrap().folderish);
        assert_eq!(d.title.get(Language::Fr), "Page");
        assert_eq!(d.title.get(Language::Nl), "Pagina");
    }

    #[test]
    fn create_requires_title() {
        let err = doc().validate(&obj(json!({"description": "x"})), WriteMode::Create).unwrap_err();
        assert_eq!(err.0, vec![FieldError { field: "title".into(), message: "required".into() }]);
        assert!(doc().validate(&obj(json!({"description": "x"})), WriteMode::Update).is_ok());
        assert!(doc().validate(&obj(json!({"title": "   "})), WriteMode::Create).is_err());
    }

    #[test]
    fn control_characters_are_refused_in_text() {
        let err = doc().validate(&obj(json!({"title": "Avis\u{0}"})), WriteMode::Create).unwrap_err();
        assert_eq!(err.0[0].field, "title");
        assert!(doc().validate(&obj(json!({"title": "a\u{1b}[31m"})), WriteMode::Create).is_err());
        let err = doc().validate(&obj(json!({"title": "t", "description": "x\u{7}"})), WriteMode::Create).unwrap_err();
        assert_eq!(err.0[0].field, "description");
        // Line breaks and tabs are text in a description.
        assert!(doc().validate(&obj(json!({"title": "t", "description": "a\n\tb"})), WriteMode::Create).is_ok());
    }

    #[test]
    fn unknown_fields_are_errors_but_read_only_keys_are_ignored() {
        let err = doc().validate(&obj(json!({"title": "t", "titel": "x"})), WriteMode::Create).unwrap_err();
        assert_eq!(err.0[0].field, "titel");
        let ok =
            doc().validate(&obj(json!({"title": "t", "@type": "Document", "UID": "x"})), WriteMode::Create).unwrap();
        assert_eq!(ok.len(), 1);
    }

    #[test]
    fn values_are_checked_by_kind() {
        let d = doc();
        let bad = [
            json!({"title": 3}),
            json!({"title": "a\nb"}),
            json!({"title": "x".repeat(256)}),
            json!({"exclude_from_nav": "yes"}),
            json!({"effective": "tomorrow"}),
            json!({"language": "es"}),
            json!({"subjects": "x"}),
            json!({"text": {"data": "x", "content-type": "application/pdf"}}),
        ];
        for b in bad {
            assert!(d.validate(&obj(b.clone()), WriteMode::Update).is_err(), "{b}");
        }
        let ok = d
            .validate(
                &obj(json!({"effective": "2026-03-01T10:00", "subjects": ["a", "a", "b"], "language": "nl"})),
                WriteMode::Update,
            )
            .unwrap();
        assert_eq!(ok["effective"], "2026-03-01T10:00:00+00:00");
        assert_eq!(ok["subjects"], json!(["a", "b"]));
    }

    #[test]
    fn rich_text_is_sanitized_on_validation() {
        let v = doc()
            .validate(
                &obj(json!({"text": {"data": "<p>ok<script>x</script></p>", "content-type": "text/html"}})),
                WriteMode::Update,
            )
            .unwrap();
        assert_eq!(v["text"]["data"], "<p>ok</p>");
        let plain = doc()
            .validate(&obj(json!({"text": {"data": "a<b", "content-type": "text/plain"}})), WriteMode::Update)
            .unwrap();
        assert_eq!(plain["text"]["data"], "<p>a&lt;b</p>");
    }

    #[test]
    fn json_schema_has_plone_shape() {
        let s = doc().json_schema(Language::En);
        assert_eq!(s["type"], "object");
        assert_eq!(s["required"], json!(["title"]));
        assert_eq!(s["properties"]["text"]["widget"], "richtext");
        assert_eq!(s["properties"]["title"]["factory"], "Text line (String)");
        assert_eq!(s["fieldsets"][0]["id"], "default");
        assert!(s["fieldsets"][0]["fields"].as_array().unwrap().contains(&json!("text")));
    }

    #[test]
    fn plone_types_are_shipped() {
        let reg = TypeRegistry::cms();
        for t in ["Folder", "Document", "News Item", "Event", "Link", "File", "Image", "Collection"] {
            assert!(reg.get(t).is_some(), "{t}");
        }
        let news = reg.get("News Item").unwrap();
        assert_eq!(news.field("image").unwrap().kind, FieldKind::Image);
        assert!(news.field("image_caption").is_some());
        let file = reg.get("File").unwrap();
        assert!(!file.field("title").unwrap().required, "a file is named after its upload");
        assert!(file.field("file").unwrap().primary);
        let event = reg.get("Event").unwrap();
        let err = event.validate(&obj(json!({"title": "Conseil"})), WriteMode::Create).unwrap_err();
        let missing: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(missing, ["start", "end"]);
    }

    #[test]
    fn uploads_and_queries_are_checked_for_shape() {
        let reg = TypeRegistry::cms();
        let file = reg.get("File").unwrap();
        let ok =
            json!({"file": {"data": "aGk=", "encoding": "base64", "filename": "a.txt", "content-type": "text/plain"}});
        assert!(file.validate(&obj(ok), WriteMode::Create).is_ok());
        for bad in [
            json!({"file": "aGk="}),
            json!({"file": {"data": "aGk="}}),
            json!({"file": {"data": "aGk=", "filename": "a", "encoding": "rot13"}}),
        ] {
            assert!(file.validate(&obj(bad.clone()), WriteMode::Update).is_err(), "{bad}");
        }
        // Sent back as read: ignored.
        let echoed = file
            .validate(&obj(json!({"file": {"download": "http://x/@@download/file", "size": 3}})), WriteMode::Update)
            .unwrap();
        assert!(echoed.is_empty());
        let coll = reg.get("Collection").unwrap();
        let q = json!({"query": [{"i": "portal_type", "o": "plone.app.querystring.operation.selection.any", "v": ["Document"]}]});
        assert!(coll.validate(&obj(q), WriteMode::Update).is_ok());
        assert!(coll.validate(&obj(json!({"query": [{"v": 1}]})), WriteMode::Update).is_err());
        assert_eq!(coll.json_schema(Language::En)["properties"]["query"]["widget"], "querystring");
    }

    #[test]
    fn containment_follows_type_rules() {
        let reg = TypeRegistry::cms();
        assert!(reg.may_contain(None, "Document"));
        assert!(reg.may_contain(Some("Folder"), "Document"));
        assert!(!reg.may_contain(Some("Document"), "Document"));
        assert!(!reg.may_contain(Some("Folder"), "Nope"));
    }

    #[test]
    fn site_rules_override_the_type_files() {
        let reg = TypeRegistry::cms();
        let mut rules = TypeRules::default();
        rules.by_type.insert(
            "Folder".into(),
            TypeRule { allowed_types: Some(Some(vec!["Document".into()])), global_allow: None },
        );
        rules.by_type.insert("Event".into(), TypeRule { allowed_types: None, global_allow: Some(false) });
        assert!(reg.may_contain_with(&rules, Some("Folder"), "Document"));
        assert!(!reg.may_contain_with(&rules, Some("Folder"), "News Item"));
        assert!(!reg.may_contain_with(&rules, None, "Event"));
        assert!(reg.may_contain_with(&rules, None, "News Item"));
        assert!(reg.may_contain(Some("Folder"), "News Item"));
    }

    #[test]
    fn fields_declare_what_the_platform_does_with_them() {
        let reg = TypeRegistry::cms();
        let event = reg.get("Event").unwrap();
        assert_eq!(event.metadata_field("location").map(|f| f.name.as_str()), Some("location"));
        assert_eq!(event.widget_field(Widget::Recurrence).map(|f| f.name.as_str()), Some("recurrence"));
        let (start, end) = event.date_range(&obj(json!({"start": "2026-05-01T10:00:00+00:00", "end": "garbage"})));
        assert_eq!(start.map(|d| d.to_rfc3339()), Some("2026-05-01T10:00:00+00:00".into()));
        assert_eq!(end, None);
        assert_eq!(reg.metadata_columns(), ["end", "getRemoteUrl", "location", "open_end", "start", "whole_day"]);
        let coll = reg.get("Collection").unwrap();
        let values = obj(json!({"item_count": 5, "limit": null}));
        assert_eq!(coll.query_setting(&values, QueryPart::BatchSize), Some(&json!(5)));
        assert_eq!(coll.query_setting(&values, QueryPart::Limit), None);
        assert_eq!(reg.get("Document").unwrap().query_setting(&values, QueryPart::BatchSize), None);

        // Any type gets the same by declaring it, a date filling `start` included.
        let t = TypeSchema::load(
            "Hearing.json",
            r#"{"id": "Hearing", "title": {}, "fields": [
                {"name": "day", "kind": "date", "metadata": "start"},
                {"name": "rule", "kind": "text", "widget": "recurrence"}]}"#,
        )
        .unwrap();
        assert_eq!(
            t.date_range(&obj(json!({"day": "2026-05-01"}))).0.map(|d| d.to_rfc3339()),
            Some("2026-05-01T00:00:00+00:00".into())
        );
        let bad = |fields: &str| {
            let json = format!(r#"{{"id": "X", "title": {{}}, "fields": [{fields}]}}"#);
            TypeSchema::load("X.json", &json).unwrap_err().to_string()
        };
        assert_eq!(
            bad(r#"{"name": "a", "kind": "text", "widget": "recurrence"}"#),
            "X.json: field \"a\" cannot have the recurrence widget: no field fills metadata column \"start\""
        );
        assert!(bad(r#"{"name": "a", "kind": "text", "widget": "calendar"}"#).contains("unknown variant `calendar`"));
        assert!(bad(r#"{"name": "a", "kind": "text", "metdata": "x"}"#).contains("unknown field `metdata`"));
        assert_eq!(
            bad(r#"{"name": "a", "kind": "textline", "metadata": "start"}"#),
            "X.json: field \"a\" cannot fill metadata column \"start\": it holds no date"
        );
        assert!(bad(r#"{"name": "a", "kind": "textline", "metadata": "UID"}"#).contains("the platform fills it"));
        assert!(bad(r#"{"name": "a", "kind": "textline", "metadata": "title"}"#).contains("the platform fills it"));
        assert!(
            bad(r#"{"name": "a", "kind": "textline", "metadata": "a b"}"#).contains("cannot name a metadata column")
        );
        assert!(bad(r#"{"name": "a", "kind": "file", "metadata": "a"}"#).contains("it holds a file"));
        assert_eq!(
            bad(
                r#"{"name": "a", "kind": "textline", "metadata": "m"}, {"name": "b", "kind": "text", "metadata": "m"}"#
            ),
            "X.json: fields \"a\" and \"b\" both declare metadata column \"m\""
        );
        assert_eq!(
            bad(r#"{"name": "n", "kind": "integer", "query": "limit"}"#),
            "X.json: field \"n\" holds a setting of a query, but no field is of kind query"
        );
        assert_eq!(
            bad(r#"{"name": "q", "kind": "query"}, {"name": "n", "kind": "textline", "query": "limit"}"#),
            "X.json: field \"n\" cannot hold the query's limit: a TextLine field"
        );
        assert!(
            bad(r#"{"name": "q", "kind": "query"}, {"name": "r", "kind": "query"}, {"name": "n", "kind": "integer", "query": "limit"}"#)
                .contains("several fields are of kind query")
        );
        assert!(
            bad(r#"{"name": "q", "kind": "query"}, {"name": "n", "kind": "integer", "query": "page"}"#)
                .contains("unknown variant `page`")
        );
    }

    #[test]
    fn bad_type_files_name_the_problem() {
        let e = TypeSchema::load("X.json", r#"{"id":"X","title":{},"behaviors":["nope"]}"#).unwrap_err();
        assert!(e.to_string().contains("X.json") && e.to_string().contains("nope"));
        let e = TypeSchema::load("Z.json", r#"{"id":"Z","title":{},"checks":["nope"]}"#).unwrap_err();
        assert!(e.to_string().contains("unknown check"), "{e}");
        let e = TypeSchema::load("Y.json", "{").unwrap_err();
        assert!(e.to_string().starts_with("Y.json"));
    }

    #[test]
    fn choices_have_titles_in_each_language() {
        let json = r#"{"id":"V","title":{"fr":"V"},"fields":[
            {"name":"vote","kind":"choice","choices":["yes","no"],
             "choice_titles":{"yes":{"fr":"Pour","nl":"Voor"}}},
            {"name":"votes","kind":"multichoice","choices":["yes","no"],
             "choice_titles":{"no":{"fr":"Contre"}}}]}"#;
        let t = TypeSchema::load("V.json", json).unwrap();
        let f = t.field("vote").unwrap();
        assert_eq!((f.choice_title("yes", Language::Nl), f.choice_title("yes", Language::De)), ("Voor", "Pour"));
        assert_eq!(f.choice_title("no", Language::Fr), "no", "untitled: the value itself");
        let s = t.json_schema(Language::Fr);
        assert_eq!(s["properties"]["vote"]["choices"], json!([["yes", "Pour"], ["no", "no"]]));
        assert_eq!(s["properties"]["vote"]["enumNames"], json!(["Pour", "no"]));
        assert_eq!(s["properties"]["votes"]["items"]["enumNames"], json!(["yes", "Contre"]));
        let bad = json.replace(r#"{"no":{"fr":"Contre"}}"#, r#"{"maybe":{"fr":"Peut-être"}}"#);
        let e = TypeSchema::load("V.json", &bad).unwrap_err();
        assert!(e.to_string().contains("names a title for \"maybe\", which is not one of its choices"), "{e}");
    }
}

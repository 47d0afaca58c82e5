//! Identifiers that appear in URLs: site ids and item ids (path segments).

use std::fmt;

use deunicode::deunicode;
use serde::{Deserialize, Serialize};

/// Longest id a generated slug may have; longer titles are cut at a word boundary.
pub const SLUG_MAX_LEN: usize = 80;
/// Longest item id accepted at all (imported content may carry longer ones than slugs).
pub const ITEM_ID_MAX_LEN: usize = 200;
const SITE_ID_MAX_LEN: usize = 40;

/// Names that cannot be site ids because the server's own URLs start with them.
const RESERVED_SITE_IDS: &[&str] = &["static", "favicon.ico", "robots.txt"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("an id cannot be empty")]
    Empty,
    #[error("an id is at most {max} characters long")]
    TooLong { max: usize },
    #[error("an id may only contain lower-case letters, digits and '-' (got {0:?})")]
    InvalidSiteChar(String),
    #[error("an id may only contain letters, digits, '-', '_' and '.', and not start with '.', '_' or '-' (got {0:?})")]
    InvalidItemChar(String),
    #[error("a login may only contain letters, digits and . _ @ + - (got {0:?})")]
    InvalidLogin(String),
    #[error("{0:?} is reserved")]
    Reserved(String),
}

/// The id of a site (a commune): lower-case ASCII letters, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SiteId(String);

impl SiteId {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if s.len() > SITE_ID_MAX_LEN {
            return Err(IdError::TooLong { max: SITE_ID_MAX_LEN });
        }
        let ok = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if !ok {
            return Err(IdError::InvalidSiteChar(s.to_owned()));
        }
        if RESERVED_SITE_IDS.contains(&s) {
            return Err(IdError::Reserved(s.to_owned()));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SiteId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}

impl From<SiteId> for String {
    fn from(id: SiteId) -> String {
        id.0
    }
}

impl fmt::Display for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of an item inside its folder: one URL path segment.
///
/// Generated ids are lower-case slugs; ids coming from imports may also hold upper-case
/// letters, '_' and '.', as Plone's do ("front-page", "Members", "plan.pdf").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ItemId(String);

impl ItemId {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if s.len() > ITEM_ID_MAX_LEN {
            return Err(IdError::TooLong { max: ITEM_ID_MAX_LEN });
        }
        let first_ok = s.as_bytes()[0].is_ascii_alphanumeric();
        let ok = first_ok && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !ok {
            return Err(IdError::InvalidItemChar(s.to_owned()));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// This id with a numeric suffix, keeping within the length limit: "page" → "page-2".
    pub fn with_suffix(&self, n: u32) -> ItemId {
        let suffix = format!("-{n}");
        let keep = self.0.len().min(ITEM_ID_MAX_LEN - suffix.len());
        let base = self.0[..keep].trim_end_matches('-');
        ItemId(format!("{base}{suffix}"))
    }
}

impl TryFrom<String> for ItemId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}

impl From<ItemId> for String {
    fn from(id: ItemId) -> String {
        id.0
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's login name: 1 to 100 characters among letters, digits and `. _ @ + -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Login(String);

impl Login {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if s.len() > 100 {
            return Err(IdError::TooLong { max: 100 });
        }
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'+' | b'-')) {
            return Err(IdError::InvalidLogin(s.to_owned()));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Login {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}

impl From<Login> for String {
    fn from(l: Login) -> String {
        l.0
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A URL-safe id made from a title: accents folded, lower case, words joined by '-',
/// at most [`SLUG_MAX_LEN`] characters cut at a word boundary. An empty result (a title
/// of punctuation only) gives "item".
pub fn slugify(title: &str) -> ItemId {
    let folded = deunicode(title).to_ascii_lowercase();
    let mut slug = String::with_capacity(folded.len());
    for word in folded.split(|c: char| !c.is_ascii_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let extra = if slug.is_empty() { word.len() } else { word.len() + 1 };
        if slug.len() + extra > SLUG_MAX_LEN {
            if slug.is_empty() {
                slug.push_str(&word[..SLUG_MAX_LEN]);
            }
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(word);
    }
    if slug.is_empty() {
        slug.push_str("item");
    }
    ItemId(slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_folds_accents_and_joins_words() {
        assert_eq!(slugify("Règlement général de police").as_str(), "reglement-general-de-police");
        assert_eq!(slugify("  Œuvres d'art & Straße!  ").as_str(), "oeuvres-d-art-strasse");
        assert_eq!(slugify("École Saint-Joseph").as_str(), "ecole-saint-joseph");
    }

    #[test]
    fn slug_of_punctuation_is_item() {
        assert_eq!(slugify("?!…").as_str(), "item");
        assert_eq!(slugify("").as_str(), "item");
    }

    #[test]
    fn slug_is_cut_at_a_word_boundary() {
        let title = "conseil ".repeat(30);
        let slug = slugify(&title);
        assert!(slug.as_str().len() <= SLUG_MAX_LEN);
        assert!(slug.as_str().ends_with("conseil"));
        let one_word = "a".repeat(200);
        assert_eq!(slugify(&one_word).as_str().len(), SLUG_MAX_LEN);
    }

    #[test]
    fn suffix_stays_within_limit() {
        let id = ItemId::parse(&"a".repeat(ITEM_ID_MAX_LEN)).unwrap();
        let s = id.with_suffix(12);
        assert!(s.as_str().len() <= ITEM_ID_MAX_LEN);
        assert!(s.as_str().ends_with("-12"));
        assert_eq!(ItemId::parse("page").unwrap().with_suffix(1).as_str(), "page-1");
    }

    #[test]
    fn logins_allow_emails_but_not_spaces() {
        assert!(Login::parse("marie.dupont@namur.be").is_ok());
        assert!(Login::parse("admin").is_ok());
        assert!(Login::parse("a b").is_err());
        assert!(Login::parse("").is_err());
        assert!(Login::parse("<x>").is_err());
    }

    #[test]
    fn site_ids_are_strict() {
        assert!(SiteId::parse("namur").is_ok());
        assert!(SiteId::parse("la-louviere").is_ok());
        assert!(SiteId::parse("Namur").is_err());
        assert!(SiteId::parse("-x").is_err());
        assert!(SiteId::parse("").is_err());
        assert!(SiteId::parse("@@health").is_err());
        assert!(SiteId::parse("static").is_err());
        assert!(SiteId::parse(&"a".repeat(41)).is_err());
    }

    #[test]
    fn item_ids_refuse_traversal_and_markup() {
        for bad in ["", ".", "..", ".hidden", "-x", "a/b", "a b", "@@edit", "<x>", "é"] {
            assert!(ItemId::parse(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["front-page", "Members", "plan.pdf", "a_b"] {
            assert!(ItemId::parse(good).is_ok(), "{good:?} refused");
        }
    }
}

//! Paths of items inside a site: "" for the site root, "/a/b" below it.

use std::fmt;

use crate::ids::{IdError, ItemId};

/// Most segments a path may have; deeper requests are refused before any lookup.
pub const MAX_DEPTH: usize = 32;

/// The stored path of an item within its site.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ItemPath(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("invalid path segment: {0}")]
    Segment(#[from] IdError),
    #[error("a path has at most {MAX_DEPTH} segments")]
    TooDeep,
}

impl ItemPath {
    /// The site root.
    pub fn root() -> Self {
        Self(String::new())
    }

    /// A path from its segments, each checked as an [`ItemId`].
    pub fn from_segments<'a>(segments: impl IntoIterator<Item = &'a str>) -> Result<Self, PathError> {
        let mut path = String::new();
        for (n, seg) in segments.into_iter().enumerate() {
            if n >= MAX_DEPTH {
                return Err(PathError::TooDeep);
            }
            let id = ItemId::parse(seg)?;
            path.push('/');
            path.push_str(id.as_str());
        }
        Ok(Self(path))
    }

    /// A path as stored ("" or "/a/b"), checked.
    pub fn parse(s: &str) -> Result<Self, PathError> {
        if s.is_empty() || s == "/" {
            return Ok(Self::root());
        }
        Self::from_segments(s.trim_start_matches('/').split('/'))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn depth(&self) -> usize {
        self.0.bytes().filter(|b| *b == b'/').count()
    }

    pub fn child(&self, id: &ItemId) -> ItemPath {
        ItemPath(format!("{}/{}", self.0, id.as_str()))
    }

    /// The last segment, None for the root.
    pub fn last(&self) -> Option<&str> {
        self.0.rfind('/').map(|i| &self.0[i + 1..])
    }

    pub fn parent(&self) -> Option<ItemPath> {
        self.0.rfind('/').map(|i| ItemPath(self.0[..i].to_owned()))
    }

    /// This path and all its ancestors, from the root down to this path.
    pub fn lineage(&self) -> Vec<ItemPath> {
        let mut out = vec![ItemPath::root()];
        for (i, b) in self.0.bytes().enumerate().skip(1) {
            if b == b'/' {
                out.push(ItemPath(self.0[..i].to_owned()));
            }
        }
        if !self.is_root() {
            out.push(self.clone());
        }
        out
    }

    /// True when `self` lies strictly below `ancestor`.
    pub fn is_below(&self, ancestor: &ItemPath) -> bool {
        self.0.len() > ancestor.0.len()
            && self.0.starts_with(&ancestor.0)
            && self.0.as_bytes()[ancestor.0.len()] == b'/'
    }

    /// The bounds `(low, high)` such that every strict descendant's path `p` satisfies
    /// `low < p < high` in byte order ('0' follows '/' in ASCII). Index-friendly on
    /// both backends, with no LIKE wildcard to escape.
    pub fn descendant_bounds(&self) -> (String, String) {
        (format!("{}/", self.0), format!("{}0", self.0))
    }

    /// `self` with its `old` prefix replaced by `new` (used when a subtree moves).
    pub fn rebase(&self, old: &ItemPath, new: &ItemPath) -> Option<ItemPath> {
        if self == old {
            Some(new.clone())
        } else if self.is_below(old) {
            Some(ItemPath(format!("{}{}", new.0, &self.0[old.0.len()..])))
        } else {
            None
        }
    }

    /// Wraps an already-validated stored path (from the database).
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }
}

impl fmt::Display for ItemPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "/" } else { &self.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert!(ItemPath::parse("").unwrap().is_root());
        assert!(ItemPath::parse("/").unwrap().is_root());
        let p = ItemPath::parse("/services/etat-civil").unwrap();
        assert_eq!(p.as_str(), "/services/etat-civil");
        assert_eq!(p.depth(), 2);
        assert_eq!(p.last(), Some("etat-civil"));
        assert_eq!(p.parent().unwrap().as_str(), "/services");
        assert_eq!(ItemPath::root().last(), None);
        assert!(ItemPath::parse("/a/../b").is_err());
        assert!(ItemPath::parse("/a//b").is_err());
    }

    #[test]
    fn refuses_too_deep_paths() {
        let deep = "/a".repeat(MAX_DEPTH + 1);
        assert_eq!(ItemPath::parse(&deep), Err(PathError::TooDeep));
        assert!(ItemPath::parse(&"/a".repeat(MAX_DEPTH)).is_ok());
    }

    #[test]
    fn lineage_runs_from_root_down() {
        let p = ItemPath::parse("/a/b/c").unwrap();
        let l: Vec<_> = p.lineage().iter().map(|p| p.as_str().to_owned()).collect();
        assert_eq!(l, ["", "/a", "/a/b", "/a/b/c"]);
        assert_eq!(ItemPath::root().lineage().len(), 1);
    }

    #[test]
    fn below_and_bounds_agree() {
        let a = ItemPath::parse("/a").unwrap();
        let (lo, hi) = a.descendant_bounds();
        for (p, below) in
            [("/a/b", true), ("/a", false), ("/ab", false), ("/a-b", false), ("/a/b/c", true), ("/b", false)]
        {
            let p = ItemPath::parse(p).unwrap();
            assert_eq!(p.is_below(&a), below, "{p}");
            let in_bounds = lo.as_str() < p.as_str() && p.as_str() < hi.as_str();
            assert_eq!(in_bounds, below, "{p} bounds");
        }
        let root = ItemPath::root();
        assert!(a.is_below(&root));
        assert!(!root.is_below(&root));
    }

    #[test]
    fn rebase_moves_subtrees() {
        let old = ItemPath::parse("/a/b").unwrap();
        let new = ItemPath::parse("/c/b").unwrap();
        assert_eq!(ItemPath::parse("/a/b/x").unwrap().rebase(&old, &new).unwrap().as_str(), "/c/b/x");
        assert_eq!(old.rebase(&old, &new).unwrap(), new);
        assert!(ItemPath::parse("/a/bx").unwrap().rebase(&old, &new).is_none());
    }
}

//! Differences between two versions of a text, word by word (with the similar crate),
//! for comparing revisions.

use similar::{ChangeTag, TextDiff};

/// A run of words: the same in both versions, only in the old one, or only in the new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Same(String),
    Removed(String),
    Added(String),
}

/// The words of `old` and `new` as runs of kept, removed and added text.
pub fn words(old: &str, new: &str) -> Vec<Part> {
    let diff = TextDiff::from_words(old, new);
    let mut out: Vec<Part> = Vec::new();
    for change in diff.iter_all_changes() {
        let text = change.value();
        match (change.tag(), out.last_mut()) {
            (ChangeTag::Equal, Some(Part::Same(s)))
            | (ChangeTag::Delete, Some(Part::Removed(s)))
            | (ChangeTag::Insert, Some(Part::Added(s))) => s.push_str(text),
            (ChangeTag::Equal, _) => out.push(Part::Same(text.to_owned())),
            (ChangeTag::Delete, _) => out.push(Part::Removed(text.to_owned())),
            (ChangeTag::Insert, _) => out.push(Part::Added(text.to_owned())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_words_are_marked() {
        let d = words("Le conseil se réunit lundi.", "Le conseil communal se réunit mardi.");
        assert!(
            d.contains(&Part::Added("communal ".into()))
                || d.iter().any(|p| matches!(p, Part::Added(s) if s.contains("communal"))),
            "{d:?}"
        );
        assert!(d.iter().any(|p| matches!(p, Part::Removed(s) if s.contains("lundi"))), "{d:?}");
        assert!(d.iter().any(|p| matches!(p, Part::Added(s) if s.contains("mardi"))), "{d:?}");
        assert_eq!(words("même", "même"), vec![Part::Same("même".into())]);
    }
}

//! The languages Beffroi speaks.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A content and interface language. French is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Fr,
    Nl,
    De,
    En,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?}: expected fr, nl, de or en")]
pub struct UnknownLanguage(pub String);

impl Language {
    pub const ALL: [Language; 4] = [Language::Fr, Language::Nl, Language::De, Language::En];

    pub fn parse(s: &str) -> Result<Self, UnknownLanguage> {
        match s.to_ascii_lowercase().as_str() {
            "fr" => Ok(Self::Fr),
            "nl" => Ok(Self::Nl),
            "de" => Ok(Self::De),
            "en" => Ok(Self::En),
            _ => Err(UnknownLanguage(s.to_owned())),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Fr => "fr",
            Self::Nl => "nl",
            Self::De => "de",
            Self::En => "en",
        }
    }

    /// The language's own name for itself, as plone.restapi's `language.title` shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Self::Fr => "Français",
            Self::Nl => "Nederlands",
            Self::De => "Deutsch",
            Self::En => "English",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_codes_case_insensitively() {
        assert_eq!(Language::parse("NL").unwrap(), Language::Nl);
        assert_eq!(Language::parse("fr").unwrap().code(), "fr");
        assert!(Language::parse("es").is_err());
        assert_eq!(Language::default(), Language::Fr);
    }
}

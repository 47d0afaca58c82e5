//! The translation catalog: Fluent files per language, embedded in the binary.
//! French is complete and is the fallback; English is complete; Dutch and German hold
//! what has been translated so far.

use std::collections::HashMap;

use beffroi_model::Language;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

const CATALOGS: &[(Language, &str)] = &[
    (Language::Fr, include_str!("../locales/fr.ftl")),
    (Language::En, include_str!("../locales/en.ftl")),
    (Language::Nl, include_str!("../locales/nl.ftl")),
    (Language::De, include_str!("../locales/de.ftl")),
];

pub struct I18n {
    bundles: HashMap<Language, FluentBundle<FluentResource>>,
}

impl I18n {
    /// Loads the embedded catalogs. A syntax error in one is a programming error,
    /// caught by the tests.
    pub fn load() -> Self {
        Self::load_with(&[]).expect("the embedded catalogs load")
    }

    /// The embedded catalogs and applications' messages: (application, language code,
    /// Fluent source). A syntax error, an unknown language or a message defined twice
    /// is refused with the application's name.
    pub fn load_with<'a>(extra: &[(&'a str, &str, &str)]) -> Result<Self, (&'a str, String)> {
        let mut bundles = HashMap::new();
        for (lang, source) in CATALOGS {
            let res = FluentResource::try_new((*source).to_owned()).expect("valid Fluent catalog");
            let id = lang.code().parse().expect("valid language id");
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // Unicode isolation marks would show up in HTML attributes and tests.
            bundle.set_use_isolating(false);
            bundle.add_resource(res).expect("no duplicate messages");
            bundles.insert(*lang, bundle);
        }
        for (app, code, source) in extra {
            let lang = Language::parse(code).map_err(|e| (*app, e.to_string()))?;
            let res = FluentResource::try_new((*source).to_owned()).map_err(|(_, errors)| {
                (*app, format!("messages in {code}: {}", errors.first().map(|e| e.to_string()).unwrap_or_default()))
            })?;
            let bundle = bundles.get_mut(&lang).ok_or((*app, format!("no catalog for {code}")))?;
            bundle.add_resource(res).map_err(|errors| (*app, format!("messages in {code}: {errors:?}")))?;
        }
        Ok(Self { bundles })
    }

    fn format(&self, lang: Language, key: &str, args: Option<&FluentArgs>) -> Option<String> {
        let bundle = self.bundles.get(&lang)?;
        let pattern = bundle.get_message(key)?.value()?;
        let mut errors = Vec::new();
        Some(bundle.format_pattern(pattern, args, &mut errors).into_owned())
    }

    /// The message `key` in `lang`, else in French, else the key itself.
    pub fn t(&self, lang: Language, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let fargs = (!args.is_empty()).then(|| {
            let mut a = FluentArgs::new();
            for (k, v) in args {
                a.set(*k, v.clone());
            }
            a
        });
        self.format(lang, key, fargs.as_ref())
            .or_else(|| self.format(Language::Fr, key, fargs.as_ref()))
            .unwrap_or_else(|| key.to_owned())
    }

    /// Whether `lang` has its own text for `key` (for completeness checks).
    pub fn has(&self, lang: Language, key: &str) -> bool {
        self.bundles.get(&lang).is_some_and(|b| b.has_message(key))
    }

    /// The message keys of the French catalog, the reference.
    pub fn keys() -> Vec<String> {
        CATALOGS[0]
            .1
            .lines()
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
            .filter(|k| !k.is_empty() && !k.starts_with('#') && !k.starts_with(' '))
            .map(str::to_owned)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_and_english_are_complete() {
        let i = I18n::load();
        let keys = I18n::keys();
        assert!(keys.len() > 20);
        for k in &keys {
            assert!(i.has(Language::Fr, k), "fr lacks {k}");
            assert!(i.has(Language::En, k), "en lacks {k}");
        }
    }

    #[test]
    fn plurals_and_fallback() {
        let i = I18n::load();
        assert_eq!(i.t(Language::Fr, "items-count", &[("count", 1.into())]), "1 élément");
        assert_eq!(i.t(Language::Fr, "items-count", &[("count", 3.into())]), "3 éléments");
        assert_eq!(i.t(Language::En, "items-count", &[("count", 0.into())]), "No items");
        assert_eq!(i.t(Language::Nl, "skip-to-content", &[]), "Naar de inhoud");
        assert_eq!(i.t(Language::Nl, "items-count", &[("count", 3.into())]), "3 items");
        // A message a language lacks shows in French rather than as a key (an
        // application's catalogs may be behind); an unknown key shows as itself.
        let app = I18n::load_with(&[("test", "fr", "only-here = Seulement ici\n")]).unwrap();
        assert_eq!(app.t(Language::De, "only-here", &[]), "Seulement ici");
        assert_eq!(i.t(Language::De, "no-such-key", &[]), "no-such-key");
    }
}

//! Applications: what each brings to the platform as data (content types, workflows
//! and which workflow each type follows), and which ones a site has enabled. The web
//! layer adds each application's endpoints, views, templates and messages.

use std::collections::BTreeSet;

use beffroi_model::schema::TypeSchema;
use beffroi_model::workflow::{Workflow, WorkflowRegistry};
use beffroi_store::{AppMigration, SiteRow};

use crate::work::{AccessCheckFn, Change, HookFn, ItemHook, ItemHookFn, TransitionHook, Transitioned, When};

/// An application as data. Every file is named so that a mistake in it stops the
/// server at start with one line naming the application, the file and the problem.
#[derive(Debug, Clone, Copy)]
pub struct App {
    /// Its name, what `beffroi site apps --enable` takes (lowercase, no spaces).
    pub name: &'static str,
    /// Enabled on a site that has not chosen its applications.
    pub enabled_by_default: bool,
    /// The roles and permissions it adds: (file name, JSON `{"roles": {"Name":
    /// {"sharable": bool, "delegated_by": [roles]}}, "permissions": {"Name": {"roles":
    /// [roles holding it at the site root]}}}`); workflow files may then name them.
    pub roles: Option<(&'static str, &'static str)>,
    /// Content type files: (file name, JSON).
    pub types: &'static [(&'static str, &'static str)],
    /// Workflow files: (file name, JSON).
    pub workflows: &'static [(&'static str, &'static str)],
    /// Which workflow each of its types follows: (file name, JSON `{"Type": "workflow"
    /// or null}`); null follows the container's.
    pub chains: Option<(&'static str, &'static str)>,
    /// The catalog indexes it declares: (file name, JSON `{"name": {"kind": "keyword" |
    /// "date" | "number" | "boolean" | "text", "field": …}}`).
    pub indexes: Option<(&'static str, &'static str)>,
    /// What it runs before and after workflow transitions, on the sites that enable it.
    pub hooks: &'static [TransitionHook],
    /// What it runs when someone adds or edits an item of one of its types.
    pub item_hooks: &'static [ItemHook],
    /// Its named vocabularies, which its types' fields may name (and those of the
    /// applications loaded after it).
    pub vocabularies: &'static [crate::Vocabulary],
    /// Its own tables, in both dialects, in increasing versions; every table and index
    /// it creates is named after it (`requests_…` for "requests").
    pub migrations: &'static [AppMigration],
    /// What it finds wrong with a site's access (a decision body nobody manages); a
    /// change of users, groups or sharing that brings a new problem is refused.
    pub access_checks: &'static [AccessCheckFn],
}

/// An application that does not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("application {app}: {message}")]
pub struct AppError {
    pub app: String,
    pub message: String,
}

/// What the services keep of an application.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub name: &'static str,
    pub enabled_by_default: bool,
    pub types: Vec<String>,
    pub hooks: &'static [TransitionHook],
    pub item_hooks: &'static [ItemHook],
    pub vocabularies: &'static [crate::Vocabulary],
    pub migrations: &'static [AppMigration],
    pub access_checks: &'static [AccessCheckFn],
}

/// Whether `name` is fit to name an application.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Loads `app` over what is loaded already: its types join `types`, its workflows and
/// chain `workflows`. Nothing changes when it fails.
pub(crate) fn load(
    app: &App,
    loaded: &[Loaded],
    types: &mut beffroi_model::schema::TypeRegistry,
    workflows: &mut WorkflowRegistry,
) -> Result<Loaded, AppError> {
    let err = |message: String| AppError { app: app.name.to_owned(), message };
    if !valid_name(app.name) {
        return Err(err("its name must be lowercase letters, digits and dashes".into()));
    }
    if loaded.iter().any(|l| l.name == app.name) {
        return Err(err("loaded twice".into()));
    }
    if let Some((file, json)) = app.roles {
        beffroi_model::security::declare(json).map_err(|e| err(format!("{file}: {e}")))?;
    }
    let mut new_types = types.clone();
    let mut names = Vec::new();
    for (file, json) in app.types {
        let schema = TypeSchema::load(file, json).map_err(|e| err(e.to_string()))?;
        if let Some(owner) = loaded.iter().find(|l| l.types.contains(&schema.id)) {
            return Err(err(format!("{file}: type {:?} belongs to application {}", schema.id, owner.name)));
        }
        names.push(schema.id.clone());
        new_types.add(file, schema).map_err(|e| err(e.to_string()))?;
    }
    if let Some((file, json)) = app.indexes {
        new_types.add_indexes(file, json).map_err(|e| err(e.to_string()))?;
    }
    let mut files: Vec<(String, String)> = Vec::new();
    for (file, json) in app.workflows {
        let wf = Workflow::load(file, json).map_err(|e| err(e.to_string()))?;
        if workflows.get(&wf.id).is_some() {
            return Err(err(format!("{file}: workflow {:?} is already defined", wf.id)));
        }
        files.push(((*file).to_owned(), (*json).to_owned()));
    }
    if let Some((file, json)) = app.chains {
        let chain: std::collections::BTreeMap<String, Option<String>> =
            serde_json::from_str(json).map_err(|e| err(format!("{file}: {e}")))?;
        if let Some(t) = chain.keys().find(|t| new_types.get(t).is_none()) {
            return Err(err(format!("{file}: unknown type {t:?}")));
        }
        files.push((beffroi_model::workflow::CHAINS_FILE.to_owned(), (*json).to_owned()));
    }
    let new_workflows = workflows.with_site(&files).map_err(|e| err(e.to_string()))?;
    for hook in app.hooks {
        let Some(wf) = new_workflows.get(hook.workflow) else {
            return Err(err(format!("a hook names the unknown workflow {:?}", hook.workflow)));
        };
        if let Some(t) = hook.transition
            && wf.transition(t).is_none()
        {
            return Err(err(format!("a hook names {t:?}, which workflow {:?} does not have", hook.workflow)));
        }
    }
    if let Some(h) = app.item_hooks.iter().find(|h| new_types.get(h.type_name).is_none()) {
        return Err(err(format!("an item hook names the unknown type {:?}", h.type_name)));
    }
    let known =
        |name: &str| app.vocabularies.iter().chain(loaded.iter().flat_map(|l| l.vocabularies)).any(|v| v.name == name);
    for (i, v) in app.vocabularies.iter().enumerate() {
        if !v.name.starts_with(&format!("{}.", app.name)) {
            return Err(err(format!("vocabulary {:?} is not named {}.…", v.name, app.name)));
        }
        if app.vocabularies[..i].iter().any(|w| w.name == v.name) {
            return Err(err(format!("vocabulary {:?} is declared twice", v.name)));
        }
    }
    for t in &names {
        let schema = new_types.get(t).expect("just added");
        if let Some((f, v)) =
            schema.fields.iter().filter_map(|f| Some((f, f.vocabulary.as_deref()?))).find(|(_, v)| !known(v))
        {
            return Err(err(format!("type {t:?}: field {:?} names the unknown vocabulary {v:?}", f.name)));
        }
        if let Some((f, p)) = schema
            .fields
            .iter()
            .filter_map(|f| Some((f, f.personal_data.as_deref()?)))
            .find(|(_, p)| beffroi_model::security::Permission::parse(p).is_none())
        {
            return Err(err(format!("type {t:?}: field {:?} names the unknown permission {p:?}", f.name)));
        }
        if let Some(p) = schema.add_permission.as_deref()
            && beffroi_model::security::Permission::parse(p).is_none()
        {
            return Err(err(format!("type {t:?}: its add permission {p:?} is unknown")));
        }
    }
    *types = new_types;
    *workflows = new_workflows;
    check_migrations(app).map_err(err)?;
    Ok(Loaded {
        name: app.name,
        enabled_by_default: app.enabled_by_default,
        types: names,
        hooks: app.hooks,
        item_hooks: app.item_hooks,
        vocabularies: app.vocabularies,
        migrations: app.migrations,
        access_checks: app.access_checks,
    })
}

/// Checks an application's migrations: versions increasing from 1, and every table
/// or index they create, alter or drop named after the application, so that two
/// applications never touch the same table, nor the platform's.
fn check_migrations(app: &App) -> Result<(), String> {
    let prefix = format!("{}_", app.name.replace('-', "_"));
    let mut last = 0;
    for m in app.migrations {
        if m.version <= last {
            return Err(format!("migration {}: versions must increase from 1", m.version));
        }
        last = m.version;
        for (dialect, sql) in [("sqlite", m.sqlite), ("postgres", m.postgres)] {
            for name in touched_names(sql) {
                if !name.starts_with(&prefix) {
                    return Err(format!("migration {} ({dialect}): {name:?} is not named {prefix}…", m.version));
                }
            }
        }
    }
    Ok(())
}

/// The tables and indexes a migration creates, alters or drops, and the tables its
/// indexes are on.
fn touched_names(sql: &str) -> Vec<String> {
    let lower = sql.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c == '(' || c == ';' || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = Vec::new();
    let skip = ["if", "not", "exists", "unique", "concurrently", "temporary", "temp"];
    for (i, w) in words.iter().enumerate() {
        let object = match *w {
            "table" | "index" | "view" | "trigger" | "sequence" => {
                i > 0
                    && matches!(
                        words[i - 1],
                        "create" | "alter" | "drop" | "unique" | "temporary" | "temp" | "or" | "replace"
                    )
            }
            "on" => words[..i].iter().rev().take(6).any(|p| *p == "index"),
            _ => false,
        };
        if object && let Some(name) = words[i + 1..].iter().find(|n| !skip.contains(n)) {
            out.push(name.trim_matches('"').to_owned());
        }
    }
    out
}

/// The names of the applications `site` has enabled, among those loaded.
pub(crate) fn enabled<'a>(loaded: &'a [Loaded], site: &SiteRow) -> Vec<&'a str> {
    loaded
        .iter()
        .filter(|l| match &site.apps {
            Some(list) => list.iter().any(|n| n == l.name),
            None => l.enabled_by_default,
        })
        .map(|l| l.name)
        .collect()
}

/// The types of the applications `site` has not enabled.
pub(crate) fn unavailable_types(loaded: &[Loaded], site: &SiteRow) -> BTreeSet<String> {
    let on = enabled(loaded, site);
    loaded.iter().filter(|l| !on.contains(&l.name)).flat_map(|l| l.types.iter().cloned()).collect()
}

/// The hooks of the applications `site` has enabled on transition `t` at `when`, in
/// the order the applications were loaded.
pub(crate) fn hooks(loaded: &[Loaded], site: &SiteRow, t: &Transitioned, when: When) -> Vec<HookFn> {
    let on = enabled(loaded, site);
    loaded
        .iter()
        .filter(|l| on.contains(&l.name))
        .flat_map(|l| l.hooks.iter())
        .filter(|h| h.when == when && h.workflow == t.workflow && h.transition.is_none_or(|id| id == t.transition))
        .map(|h| h.run)
        .collect()
}

/// The access checks of the applications `site` has enabled.
pub(crate) fn access_checks(loaded: &[Loaded], site: &SiteRow) -> Vec<AccessCheckFn> {
    let on = enabled(loaded, site);
    loaded.iter().filter(|l| on.contains(&l.name)).flat_map(|l| l.access_checks.iter().copied()).collect()
}

/// The vocabularies of the applications `site` has enabled.
pub(crate) fn vocabularies<'a>(loaded: &'a [Loaded], site: &SiteRow) -> impl Iterator<Item = &'a crate::Vocabulary> {
    let on = enabled(loaded, site);
    loaded.iter().filter(move |l| on.contains(&l.name)).flat_map(|l| l.vocabularies.iter())
}

/// The item hooks of the applications `site` has enabled on `on` for `type_name`.
pub(crate) fn item_hooks(loaded: &[Loaded], site: &SiteRow, type_name: &str, on: Change) -> Vec<ItemHookFn> {
    let enabled = enabled(loaded, site);
    loaded
        .iter()
        .filter(|l| enabled.contains(&l.name))
        .flat_map(|l| l.item_hooks.iter())
        .filter(|h| h.on == on && h.type_name == type_name)
        .map(|h| h.run)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(types: &'static [(&'static str, &'static str)], chains: Option<(&'static str, &'static str)>) -> App {
        App {
            name: "test",
            enabled_by_default: false,
            roles: None,
            types,
            workflows: &[],
            chains,
            indexes: None,
            hooks: &[],
            item_hooks: &[],
            vocabularies: &[],
            migrations: &[],
            access_checks: &[],
        }
    }

    /// A type every test server has.
    const NOTICE: (&str, &str) = ("Notice.json", r#"{"id": "Notice", "title": {"fr": "Avis"}}"#);

    fn load_one(a: &App) -> Result<Loaded, AppError> {
        let mut types = beffroi_model::schema::TypeRegistry::from_files(&[NOTICE]).unwrap();
        let mut workflows = WorkflowRegistry::builtin();
        load(a, &[], &mut types, &mut workflows)
    }

    #[test]
    fn bad_data_is_refused_naming_the_application_and_the_file() {
        let e = load_one(&app(
            &[("T.json", r#"{"id": "T", "title": {"fr": "T"}, "fields": [{"name": "x", "kind": "colour"}]}"#)],
            None,
        ))
        .unwrap_err();
        assert!(e.to_string().starts_with("application test: T.json: unknown variant `colour`"), "{e}");
        let e = load_one(&app(&[("Avis.json", r#"{"id": "Notice", "title": {"fr": "A"}}"#)], None)).unwrap_err();
        assert_eq!(e.to_string(), "application test: Avis.json: type \"Notice\" is already defined");
        let e = load_one(&app(&[], Some(("chains.json", r#"{"Nope": "one_state"}"#)))).unwrap_err();
        assert_eq!(e.to_string(), "application test: chains.json: unknown type \"Nope\"");
        let e = load_one(&app(
            &[("T.json", r#"{"id": "T", "title": {"fr": "T"}}"#)],
            Some(("chains.json", r#"{"T": "nope"}"#)),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("unknown workflow \"nope\""), "{e}");
        let mut bad = app(&[], None);
        bad.name = "Bad Name";
        assert!(load_one(&bad).unwrap_err().to_string().contains("lowercase"));
    }

    fn no_terms<'a>(_: &'a mut crate::Work<'_>, _: &'a beffroi_store::ItemRow) -> crate::VocabularyFuture<'a> {
        Box::pin(async { Ok(Vec::new()) })
    }

    #[test]
    fn a_field_names_a_vocabulary_its_application_or_an_earlier_one_declares() {
        const WITH_VOCABULARY: (&str, &str) = (
            "T.json",
            r#"{"id": "T", "title": {"fr": "T"}, "fields": [{"name": "x", "kind": "choice", "vocabulary": "test.colours"}]}"#,
        );
        let e = load_one(&app(&[WITH_VOCABULARY], None)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "application test: type \"T\": field \"x\" names the unknown vocabulary \"test.colours\""
        );
        let mut declared = app(&[WITH_VOCABULARY], None);
        declared.vocabularies = &[crate::Vocabulary { name: "test.colours", terms: no_terms }];
        assert!(load_one(&declared).is_ok());
        let mut foreign = app(&[], None);
        foreign.vocabularies = &[crate::Vocabulary { name: "other.colours", terms: no_terms }];
        assert!(load_one(&foreign).unwrap_err().to_string().contains("is not named test."));
        let e = load_one(&app(
            &[("T.json", r#"{"id": "T", "title": {"fr": "T"}, "fields": [{"name": "x", "kind": "date", "vocabulary": "test.colours"}]}"#)],
            None,
        ))
        .unwrap_err();
        assert!(e.to_string().contains("cannot take its values from a vocabulary"), "{e}");
    }

    #[test]
    fn personal_data_is_read_with_a_known_permission_and_only_in_rich_text() {
        let e = load_one(&app(
            &[("T.json", r#"{"id": "T", "title": {"fr": "T"}, "fields": [{"name": "x", "kind": "richtext", "personal_data": "No such permission"}]}"#)],
            None,
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "application test: type \"T\": field \"x\" names the unknown permission \"No such permission\""
        );
        let e = load_one(&app(
            &[("T.json", r#"{"id": "T", "title": {"fr": "T"}, "fields": [{"name": "x", "kind": "text", "personal_data": "View"}]}"#)],
            None,
        ))
        .unwrap_err();
        assert!(e.to_string().contains("cannot mark personal data"), "{e}");
        let e = load_one(&app(&[("T.json", r#"{"id": "T", "title": {"fr": "T"}, "add_permission": "Nope"}"#)], None))
            .unwrap_err();
        assert_eq!(e.to_string(), "application test: type \"T\": its add permission \"Nope\" is unknown");
        assert!(load_one(&app(
            &[("T.json", r#"{"id": "T", "title": {"fr": "T"}, "fields": [{"name": "x", "kind": "richtext", "personal_data": "View"}]}"#)],
            None,
        ))
        .is_ok());
    }

    fn nothing<'a>(
        _: &'a mut crate::Work<'_>,
        _: &'a beffroi_store::ItemRow,
        _: &'a Transitioned,
    ) -> crate::HookFuture<'a> {
        Box::pin(async { Ok(()) })
    }

    #[test]
    fn a_hook_names_a_workflow_and_transition_that_exist() {
        const ON_PUBLISH: &[TransitionHook] = &[TransitionHook {
            workflow: "simple_publication",
            transition: Some("publish"),
            when: When::After,
            run: nothing,
        }];
        const ON_NOPE: &[TransitionHook] = &[TransitionHook {
            workflow: "simple_publication",
            transition: Some("nope"),
            when: When::Before,
            run: nothing,
        }];
        const ON_UNKNOWN: &[TransitionHook] =
            &[TransitionHook { workflow: "unknown", transition: None, when: When::Before, run: nothing }];
        let mut a = app(&[], None);
        a.hooks = ON_PUBLISH;
        assert_eq!(load_one(&a).unwrap().hooks.len(), 1);
        a.hooks = ON_NOPE;
        assert_eq!(
            load_one(&a).unwrap_err().to_string(),
            "application test: a hook names \"nope\", which workflow \"simple_publication\" does not have"
        );
        a.hooks = ON_UNKNOWN;
        assert_eq!(
            load_one(&a).unwrap_err().to_string(),
            "application test: a hook names the unknown workflow \"unknown\""
        );
    }

    #[test]
    fn migrations_touch_only_the_tables_named_after_their_application() {
        const GOOD: &[AppMigration] = &[AppMigration {
            version: 1,
            description: "notes",
            sqlite: "create table test_notes (id integer primary key, note text);\ncreate index if not exists test_notes_note on test_notes(note);",
            postgres: "CREATE TABLE test_notes (id bigint primary key, note text); CREATE UNIQUE INDEX test_notes_note ON test_notes (note);",
        }];
        const BAD: &[AppMigration] = &[AppMigration {
            version: 1,
            description: "steals",
            sqlite: "create table test_x (id integer);",
            postgres: "alter table items add column x text;",
        }];
        const INDEX_ON_ITEMS: &[AppMigration] = &[AppMigration {
            version: 1,
            description: "i",
            sqlite: "create index test_i on items(title);",
            postgres: "",
        }];
        const BACKWARDS: &[AppMigration] = &[
            AppMigration { version: 2, description: "a", sqlite: "", postgres: "" },
            AppMigration { version: 1, description: "b", sqlite: "", postgres: "" },
        ];
        let mut a = app(&[], None);
        a.migrations = GOOD;
        assert!(load_one(&a).is_ok());
        a.migrations = BAD;
        assert_eq!(
            load_one(&a).unwrap_err().to_string(),
            "application test: migration 1 (postgres): \"items\" is not named test_…"
        );
        a.migrations = INDEX_ON_ITEMS;
        assert!(load_one(&a).unwrap_err().to_string().contains("\"items\" is not named"));
        a.migrations = BACKWARDS;
        assert!(load_one(&a).unwrap_err().to_string().contains("versions must increase"));
    }

    #[test]
    fn a_failed_load_changes_nothing_and_a_type_has_one_owner() {
        let mut types = beffroi_model::schema::TypeRegistry::from_files(&[NOTICE]).unwrap();
        let mut workflows = WorkflowRegistry::builtin();
        let first =
            app(&[("T.json", r#"{"id": "T", "title": {"fr": "T"}}"#)], Some(("chains.json", r#"{"T": "one_state"}"#)));
        let loaded = load(&first, &[], &mut types, &mut workflows).unwrap();
        assert_eq!(loaded.types, ["T"]);
        assert_eq!(workflows.for_type("T").map(|w| w.id.as_str()), Some("one_state"));
        let mut second = app(
            &[("U.json", r#"{"id": "U", "title": {"fr": "U"}}"#), ("T2.json", r#"{"id": "T", "title": {"fr": "T"}}"#)],
            None,
        );
        second.name = "second";
        let e = load(&second, std::slice::from_ref(&loaded), &mut types, &mut workflows).unwrap_err();
        assert_eq!(e.to_string(), "application second: T2.json: type \"T\" belongs to application test");
        assert!(types.get("U").is_none(), "nothing of a failed application is kept");
        assert!(
            load(&first, std::slice::from_ref(&loaded), &mut types, &mut workflows)
                .unwrap_err()
                .to_string()
                .contains("loaded twice")
        );
    }
}

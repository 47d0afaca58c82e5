//! Workflows as data (Plone's DCWorkflow model): states that decide which roles hold
//! which permissions, transitions guarded by permissions or roles, an initial state,
//! and a chain assigning a workflow to each type. Definitions ship as JSON files and are
//! checked when loaded; the functions here are pure.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use crate::schema::Translated;
use crate::security::{Node, Permission, PermissionMap, Principal, Role, RoleSet, is_allowed};

/// The workflows shipped in the binary, for any application's types to follow.
pub const BUILTIN_WORKFLOWS: &[(&str, &str)] = &[
    ("simple_publication.json", include_str!("../workflows/simple_publication.json")),
    ("intranet.json", include_str!("../workflows/intranet.json")),
    ("one_state.json", include_str!("../workflows/one_state.json")),
];
/// The name of a chain file (which workflow each type follows).
pub const CHAINS_FILE: &str = "chains.json";

/// The roles of one permission in one state; with `acquire`, the roles the container
/// gives are added.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatePermission {
    pub roles: Vec<Role>,
    #[serde(default)]
    pub acquire: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub id: String,
    pub title: Translated,
    #[serde(default)]
    pub description: Translated,
    /// The permissions this state manages; the others come from the container.
    #[serde(default)]
    pub permissions: BTreeMap<Permission, StatePermission>,
}

/// Who may take a transition: any of the permissions, and any of the roles, when given;
/// and when the item's values meet the expression, if there is one (see
/// [`crate::expr`]; it holds for everyone, the system included).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guard {
    #[serde(default)]
    pub permissions: Vec<Permission>,
    #[serde(default)]
    pub roles: Vec<Role>,
    /// The condition as written, e.g. `item.answer and container.review_state == 'published'`.
    #[serde(default)]
    pub expression: Option<String>,
    /// The condition parsed at load.
    #[serde(skip)]
    pub condition: Option<crate::expr::Expr>,
}

impl Guard {
    /// Whether the item's values (and its container's) meet the guard's expression.
    pub fn condition_holds(
        &self,
        item: &serde_json::Map<String, serde_json::Value>,
        container: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> bool {
        self.condition.as_ref().is_none_or(|c| c.holds(item, container))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub id: String,
    pub title: Translated,
    /// The states it leaves from.
    pub from: Vec<String>,
    pub to: String,
    #[serde(default)]
    pub guard: Guard,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    pub id: String,
    pub title: Translated,
    #[serde(default)]
    pub description: Translated,
    pub initial_state: String,
    pub states: Vec<State>,
    #[serde(default)]
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct WorkflowError {
    pub file: String,
    pub message: String,
}

impl Workflow {
    /// Parses and checks a definition: unknown states, duplicate ids, transitions
    /// without a target or a source, unreachable states are errors naming the file.
    pub fn load(file: &str, json: &str) -> Result<Workflow, WorkflowError> {
        let err = |message: String| WorkflowError { file: file.to_owned(), message };
        let mut wf: Workflow = serde_json::from_str(json).map_err(|e| err(e.to_string()))?;
        for t in &mut wf.transitions {
            if let Some(src) = &t.guard.expression {
                let parsed = crate::expr::Expr::parse(src)
                    .map_err(|e| err(format!("transition {:?}: guard expression: {e}", t.id)))?;
                t.guard.condition = Some(parsed);
            }
        }
        let mut ids = HashSet::new();
        for s in &wf.states {
            if !ids.insert(s.id.as_str()) {
                return Err(err(format!("state {:?} is defined twice", s.id)));
            }
        }
        if !ids.contains(wf.initial_state.as_str()) {
            return Err(err(format!("initial state {:?} is not a state", wf.initial_state)));
        }
        let mut tids = HashSet::new();
        for t in &wf.transitions {
            if !tids.insert(t.id.as_str()) {
                return Err(err(format!("transition {:?} is defined twice", t.id)));
            }
            if t.to.is_empty() || !ids.contains(t.to.as_str()) {
                return Err(err(format!("transition {:?} goes to unknown state {:?}", t.id, t.to)));
            }
            if t.from.is_empty() {
                return Err(err(format!("transition {:?} leaves from no state", t.id)));
            }
            if let Some(f) = t.from.iter().find(|f| !ids.contains(f.as_str())) {
                return Err(err(format!("transition {:?} leaves from unknown state {f:?}", t.id)));
            }
        }
        // Every state must be reachable from the initial one.
        let mut reached: HashSet<&str> = HashSet::from([wf.initial_state.as_str()]);
        loop {
            let before = reached.len();
            for t in &wf.transitions {
                if t.from.iter().any(|f| reached.contains(f.as_str())) {
                    reached.insert(t.to.as_str());
                }
            }
            if reached.len() == before {
                break;
            }
        }
        if let Some(s) = wf.states.iter().find(|s| !reached.contains(s.id.as_str())) {
            return Err(err(format!("state {:?} cannot be reached from {:?}", s.id, wf.initial_state)));
        }
        Ok(wf)
    }

    pub fn state(&self, id: &str) -> Option<&State> {
        self.states.iter().find(|s| s.id == id)
    }

    pub fn transition(&self, id: &str) -> Option<&Transition> {
        self.transitions.iter().find(|t| t.id == id)
    }

    /// The transitions leaving `state`.
    pub fn exits<'a>(&'a self, state: &'a str) -> impl Iterator<Item = &'a Transition> {
        self.transitions.iter().filter(move |t| t.from.iter().any(|f| f == state))
    }
}

/// The permission map of an item: its state's map over what its container gives.
/// Permissions the state does not manage, or marks `acquire`, take the container's
/// roles; an item without workflow (or in an unknown state) takes them all.
pub fn item_map(container: &PermissionMap, state: Option<&State>) -> PermissionMap {
    let mut map = container.clone();
    if let Some(state) = state {
        for (p, sp) in &state.permissions {
            let own = RoleSet::of(&sp.roles);
            let roles = if sp.acquire { own.union(container.roles_for(*p)) } else { own };
            map.set(*p, roles);
        }
    }
    map
}

/// Whether `principal` passes `guard` on the item at the end of `lineage` whose
/// permission map is `map`.
pub fn guard_allows(principal: &Principal, lineage: &[Node<'_>], map: &PermissionMap, guard: &Guard) -> bool {
    if *principal == Principal::System {
        return true;
    }
    let perms_ok =
        guard.permissions.is_empty() || guard.permissions.iter().any(|p| is_allowed(principal, lineage, *p, map));
    let roles_ok = guard.roles.is_empty() || {
        let held = crate::security::roles_on(principal, lineage);
        guard.roles.iter().any(|r| held.contains(*r))
    };
    perms_ok && roles_ok
}

/// The loaded workflows and which one each type follows.
#[derive(Debug, Clone)]
pub struct WorkflowRegistry {
    workflows: Vec<Workflow>,
    chains: BTreeMap<String, Option<String>>,
}

impl WorkflowRegistry {
    /// The workflows shipped in the binary, no type following any yet (applications
    /// bring their chains).
    pub fn builtin() -> Self {
        let workflows = BUILTIN_WORKFLOWS
            .iter()
            .map(|(f, j)| Workflow::load(f, j).expect("built-in workflows are valid"))
            .collect();
        Self::new(workflows, CHAINS_FILE, "{}").expect("an empty chain is valid")
    }

    /// Checks that the chain names only known workflows.
    pub fn new(workflows: Vec<Workflow>, chain_file: &str, chain_json: &str) -> Result<Self, WorkflowError> {
        let err = |message: String| WorkflowError { file: chain_file.to_owned(), message };
        let chains: BTreeMap<String, Option<String>> =
            serde_json::from_str(chain_json).map_err(|e| err(e.to_string()))?;
        for (t, w) in &chains {
            if let Some(w) = w
                && !workflows.iter().any(|x| &x.id == w)
            {
                return Err(err(format!("type {t:?} follows unknown workflow {w:?}")));
            }
        }
        Ok(Self { workflows, chains })
    }

    /// This registry with a site's own definitions: `files` holds workflows (replacing
    /// a shipped one of the same id, or added) and, under the name `chains.json`, chain
    /// entries that override the shipped ones type by type.
    pub fn with_site(&self, files: &[(String, String)]) -> Result<Self, WorkflowError> {
        let mut workflows = self.workflows.clone();
        let mut chain_files = Vec::new();
        for (name, json) in files {
            if name == CHAINS_FILE {
                chain_files.push((name, json));
                continue;
            }
            let wf = Workflow::load(name, json)?;
            match workflows.iter_mut().find(|w| w.id == wf.id) {
                Some(slot) => *slot = wf,
                None => workflows.push(wf),
            }
        }
        let mut chains = self.chains.clone();
        for (name, json) in chain_files {
            let err = |message: String| WorkflowError { file: name.clone(), message };
            let more: BTreeMap<String, Option<String>> = serde_json::from_str(json).map_err(|e| err(e.to_string()))?;
            chains.extend(more);
        }
        let chain_json = serde_json::to_string(&chains).expect("a map serializes");
        Self::new(workflows, CHAINS_FILE, &chain_json)
    }

    /// The chain: which workflow each type follows (None: the container's).
    pub fn chains(&self) -> &BTreeMap<String, Option<String>> {
        &self.chains
    }

    pub fn get(&self, id: &str) -> Option<&Workflow> {
        self.workflows.iter().find(|w| w.id == id)
    }

    pub fn all(&self) -> &[Workflow] {
        &self.workflows
    }

    /// The workflow of a type; None for types without one (they follow their container).
    pub fn for_type(&self, type_name: &str) -> Option<&Workflow> {
        self.chains.get(type_name).and_then(|w| w.as_deref()).and_then(|w| self.get(w))
    }

    /// The title in `lang` of state `id` of the workflow `type_name` follows; the id
    /// itself when the workflow has no such state.
    pub fn state_title(&self, type_name: &str, id: &str, lang: crate::Language) -> String {
        self.for_type(type_name)
            .and_then(|wf| wf.state(id))
            .map_or_else(|| id.to_owned(), |s| s.title.get(lang).to_owned())
    }

    /// The title in `lang` of transition `id` of the workflow `type_name` follows; the
    /// id itself when unknown (a transition of a workflow since replaced).
    pub fn transition_title(&self, type_name: &str, id: &str, lang: crate::Language) -> String {
        self.for_type(type_name)
            .and_then(|wf| wf.transition(id))
            .map_or_else(|| id.to_owned(), |t| t.title.get(lang).to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::LocalRoles;

    /// The shipped workflows with the content application's chain.
    pub(super) fn reg() -> WorkflowRegistry {
        let chain = include_str!("../../apps/cms/chains.json");
        WorkflowRegistry::builtin().with_site(&[(CHAINS_FILE.to_owned(), chain.to_owned())]).unwrap()
    }

    #[test]
    fn guard_expressions_are_parsed_at_load() {
        let wf = |expr: &str| {
            format!(
                r#"{{"id": "w", "title": {{"fr": "W"}}, "initial_state": "a",
                "states": [{{"id": "a", "title": {{"fr": "A"}}}}, {{"id": "b", "title": {{"fr": "B"}}}}],
                "transitions": [{{"id": "go", "title": {{"fr": "Go"}}, "from": ["a"], "to": "b",
                  "guard": {{"expression": {}}}}}]}}"#,
                serde_json::to_string(expr).unwrap()
            )
        };
        let ok = Workflow::load("w.json", &wf("item.decision and container.review_state == 'published'")).unwrap();
        let g = &ok.transition("go").unwrap().guard;
        let item = serde_json::json!({"decision": {"content-type": "text/html", "data": "<p>Approuvé</p>"}});
        let published = serde_json::json!({"review_state": "published"});
        assert!(g.condition_holds(item.as_object().unwrap(), published.as_object()));
        assert!(!g.condition_holds(item.as_object().unwrap(), None));
        let e = Workflow::load("w.json", &wf("item.decision and")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "w.json: transition \"go\": guard expression: expected a value at character 17 of \"item.decision and\""
        );
    }

    #[test]
    fn builtin_workflows_load_with_plone_states() {
        let r = reg();
        let sp = r.get("simple_publication").unwrap();
        assert_eq!(sp.initial_state, "private");
        let states: Vec<&str> = sp.states.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(states, ["private", "pending", "published"]);
        let exits: Vec<&str> = sp.exits("private").map(|t| t.id.as_str()).collect();
        assert_eq!(exits, ["submit", "publish"]);
        assert_eq!(r.get("intranet").unwrap().initial_state, "internal");
        assert!(r.get("intranet").unwrap().transition("hide").is_some());
        assert_eq!(r.for_type("Document").unwrap().id, "simple_publication");
        assert!(r.for_type("File").is_none(), "files follow their container");
        assert!(r.for_type("Plone Site").is_none());
    }

    #[test]
    fn bad_definitions_name_the_file_and_the_problem() {
        let base = |states: &str, transitions: &str, initial: &str| {
            format!(
                r#"{{"id": "w", "title": {{}}, "initial_state": "{initial}", "states": {states}, "transitions": {transitions}}}"#
            )
        };
        let one = r#"[{"id": "a", "title": {}}]"#;
        let two = r#"[{"id": "a", "title": {}}, {"id": "b", "title": {}}]"#;
        let cases = [
            (base(one, "[]", "z"), "initial state \"z\""),
            (base(two, "[]", "a"), "state \"b\" cannot be reached"),
            (
                base(one, r#"[{"id": "t", "title": {}, "from": ["a"], "to": "nowhere"}]"#, "a"),
                "unknown state \"nowhere\"",
            ),
            (base(one, r#"[{"id": "t", "title": {}, "from": ["a"], "to": ""}]"#, "a"), "goes to unknown state"),
            (base(one, r#"[{"id": "t", "title": {}, "from": [], "to": "a"}]"#, "a"), "leaves from no state"),
            (base(r#"[{"id": "a", "title": {}, "permissions": {"Fly": {"roles": []}}}]"#, "[]", "a"), "Fly"),
            (base(r#"[{"id": "a", "title": {}, "permissions": {"View": {"roles": ["God"]}}}]"#, "[]", "a"), "God"),
            (base(r#"[{"id": "a", "title": {}}, {"id": "a", "title": {}}]"#, "[]", "a"), "defined twice"),
        ];
        for (json, expected) in cases {
            let e = Workflow::load("custom.json", &json).unwrap_err();
            assert!(e.to_string().starts_with("custom.json: "), "{e}");
            assert!(e.to_string().contains(expected), "{e} should mention {expected}");
        }
        let e = WorkflowRegistry::new(vec![], "chains.json", r#"{"Document": "nope"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown workflow \"nope\""));
    }

    #[test]
    fn sites_override_workflows_and_chains() {
        let custom = r#"{"id": "council", "title": {"fr": "Conseil"}, "initial_state": "created",
            "states": [{"id": "created", "title": {}}, {"id": "frozen", "title": {}}],
            "transitions": [{"id": "freeze", "title": {}, "from": ["created"], "to": "frozen"}]}"#;
        let files = vec![
            ("council.json".to_owned(), custom.to_owned()),
            ("chains.json".to_owned(), r#"{"Document": "council", "Folder": null}"#.to_owned()),
        ];
        let r = reg().with_site(&files).unwrap();
        assert_eq!(r.for_type("Document").unwrap().id, "council");
        assert!(r.for_type("Folder").is_none());
        assert_eq!(r.for_type("News Item").unwrap().id, "simple_publication", "other types keep the shipped chain");
        let bad = vec![("chains.json".to_owned(), r#"{"Document": "nope"}"#.to_owned())];
        assert!(reg().with_site(&bad).unwrap_err().to_string().contains("nope"));
        let broken = vec![("x.json".to_owned(), "{".to_owned())];
        assert!(reg().with_site(&broken).unwrap_err().to_string().starts_with("x.json"));
    }

    #[test]
    fn state_maps_override_or_acquire_from_the_container() {
        let r = reg();
        let sp = r.get("simple_publication").unwrap();
        let site = PermissionMap::public_default();
        let private = item_map(&site, sp.state("private"));
        assert!(!private.roles_for(Permission::View).contains(Role::Anonymous));
        assert!(private.roles_for(Permission::View).contains(Role::Owner));
        // Not managed by the workflow: from the container.
        assert_eq!(private.roles_for(Permission::AddPortalContent), site.roles_for(Permission::AddPortalContent));
        // A file without workflow inside the private folder is just as private.
        let file = item_map(&private, None);
        assert_eq!(file.roles_for(Permission::View), private.roles_for(Permission::View));
        let acquiring = State {
            id: "x".into(),
            title: Translated::default(),
            description: Translated::default(),
            permissions: BTreeMap::from([(
                Permission::View,
                StatePermission { roles: vec![Role::Reviewer], acquire: true },
            )]),
        };
        let m = item_map(&private, Some(&acquiring));
        assert!(
            m.roles_for(Permission::View).contains(Role::Reviewer)
                && m.roles_for(Permission::View).contains(Role::Owner)
        );
    }

    #[test]
    fn guards_follow_permissions_and_roles() {
        let r = reg();
        let sp = r.get("simple_publication").unwrap();
        let site = PermissionMap::public_default();
        let map = item_map(&site, sp.state("private"));
        let none = LocalRoles::default();
        let lineage = [Node { owner: "jean", local: &none, block: false }];
        let publish = &sp.transition("publish").unwrap().guard;
        let submit = &sp.transition("submit").unwrap().guard;
        let jean = Principal::user("jean", &[Role::Member]);
        let reviewer = Principal::user("rita", &[Role::Reviewer]);
        assert!(guard_allows(&jean, &lineage, &map, submit), "the owner may submit");
        assert!(!guard_allows(&jean, &lineage, &map, publish));
        assert!(guard_allows(&reviewer, &lineage, &map, publish));
        assert!(!guard_allows(&Principal::Anonymous, &lineage, &map, submit));
        let by_role = Guard { roles: vec![Role::Reviewer], ..Guard::default() };
        assert!(guard_allows(&reviewer, &lineage, &map, &by_role) && !guard_allows(&jean, &lineage, &map, &by_role));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::security::{Grantee, LocalRoles, RoleSet};

    /// The item of the walks (owned by "owner") in a folder that grants Editor to lea
    /// and Contributor to the group "redaction", as a lineage.
    fn folder_grants() -> LocalRoles {
        let mut l = LocalRoles::default();
        l.set(&Grantee::User("lea".into()), [Role::Editor]);
        l.set(&Grantee::Group("redaction".into()), [Role::Contributor]);
        l
    }

    /// The principals of the walks, each with the roles it holds on the item, written
    /// out by hand: an oracle that does not call the decision it checks.
    fn cast() -> Vec<(Principal, RoleSet)> {
        use Role::*;
        let user = |login: &str, roles: &[Role], groups: &[&str]| Principal::User {
            login: login.into(),
            roles: roles.to_vec(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        };
        vec![
            (Principal::Anonymous, RoleSet::of(&[Anonymous])),
            (user("owner", &[Member], &[]), RoleSet::of(&[Anonymous, Authenticated, Member, Owner])),
            (user("paul", &[Member], &[]), RoleSet::of(&[Anonymous, Authenticated, Member])),
            (user("rita", &[Reviewer], &[]), RoleSet::of(&[Anonymous, Authenticated, Reviewer])),
            (user("admin", &[Manager], &[]), RoleSet::of(&[Anonymous, Authenticated, Manager])),
            (user("lea", &[], &[]), RoleSet::of(&[Anonymous, Authenticated, Editor])),
            (user("gil", &[], &["redaction"]), RoleSet::of(&[Anonymous, Authenticated, Contributor])),
        ]
    }

    /// What a guard should decide for someone holding `held`: one of its permissions
    /// (when it names any) through a role the state's map gives it, and one of its
    /// roles (when it names any).
    fn expected(held: RoleSet, map: &PermissionMap, guard: &Guard) -> bool {
        let perms =
            guard.permissions.is_empty() || guard.permissions.iter().any(|p| map.roles_for(*p).intersects(held));
        let roles = guard.roles.is_empty() || guard.roles.iter().any(|r| held.contains(*r));
        perms && roles
    }

    proptest! {
        /// Random transitions by random principals, some with a role required on top
        /// of the workflow's guard: each is taken exactly when the principal holds a
        /// guard permission and role (by the oracle above), and the walk never
        /// reaches an undefined state.
        #[test]
        fn random_walks_follow_guards_and_stay_in_defined_states(
            wf_index in 0..3usize,
            steps in prop::collection::vec((0..7usize, 0..8usize, prop::option::of(0..10usize)), 1..40),
        ) {
            let reg = super::tests::reg();
            let wf = &reg.all()[wf_index];
            let site = PermissionMap::public_default();
            let (grants, none) = (folder_grants(), LocalRoles::default());
            let lineage = [Node { owner: "system", local: &grants, block: false }, Node { owner: "owner", local: &none, block: false }];
            let cast = cast();
            let mut state = wf.initial_state.clone();
            for (who, which, role) in steps {
                let (p, held) = &cast[who];
                let map = item_map(&site, wf.state(&state));
                if wf.transitions.is_empty() {
                    break;
                }
                let t = &wf.transitions[which % wf.transitions.len()];
                let mut guard = t.guard.clone();
                guard.roles.extend(role.map(|r| Role::ALL[r]));
                let passes = guard_allows(p, &lineage, &map, &guard);
                prop_assert_eq!(passes, expected(*held, &map, &guard), "{:?} on {} in {}: {:?}", p, t.id, state, guard);
                if !guard.permissions.is_empty() && !guard.permissions.iter().any(|perm| map.roles_for(*perm).intersects(*held)) {
                    prop_assert!(!passes, "{:?} lacks every permission of {}", p, t.id);
                }
                prop_assert!(guard_allows(&Principal::System, &lineage, &map, &guard), "the system passes every guard");
                if t.from.contains(&state) && passes {
                    state = t.to.clone();
                }
                prop_assert!(wf.state(&state).is_some(), "undefined state {}", state);
            }
        }

        /// Any guard of permissions and roles, in any state of any workflow, admits
        /// exactly who holds one of its permissions and one of its roles.
        #[test]
        fn guards_admit_exactly_who_holds_a_permission_and_a_role(
            wf_index in 0..3usize,
            state_index in 0..8usize,
            who in 0..7usize,
            perms in prop::collection::vec(0..Permission::ALL.len(), 0..3),
            roles in prop::collection::vec(0..Role::ALL.len(), 0..3),
        ) {
            let reg = super::tests::reg();
            let wf = &reg.all()[wf_index];
            let state = &wf.states[state_index % wf.states.len()];
            let map = item_map(&PermissionMap::public_default(), Some(state));
            let (grants, none) = (folder_grants(), LocalRoles::default());
            let lineage = [Node { owner: "system", local: &grants, block: false }, Node { owner: "owner", local: &none, block: false }];
            let guard = Guard {
                permissions: perms.iter().map(|i| Permission::ALL[*i]).collect(),
                roles: roles.iter().map(|i| Role::ALL[*i]).collect(),
                ..Guard::default()
            };
            let (p, held) = &cast()[who];
            prop_assert_eq!(guard_allows(p, &lineage, &map, &guard), expected(*held, &map, &guard), "{:?} in {}: {:?}", p, state.id, guard);
        }
    }
}

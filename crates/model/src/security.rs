//! Roles, permissions, principals and the permission decision.
//!
//! This is Plone's model: a permission is held by roles; a principal holds roles
//! globally (directly or through groups), as Owner of what they created, and locally on
//! any item through sharing, inherited down the tree unless an item blocks inheritance.
//! The decision is one pure function, [`is_allowed`]. For listings and search,
//! [`viewers`] gives the tokens of everyone who may View an item, stored beside it and
//! matched in SQL against a principal's [`Principal::tokens`]; the two always agree.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, LazyLock, RwLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A role, as Plone names it: Plone's own, or one an application declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Anonymous,
    Authenticated,
    Member,
    Owner,
    Reader,
    Contributor,
    Editor,
    Reviewer,
    SiteAdministrator,
    Manager,
    /// A role an application declares (see [`declare`]), by its rank.
    App(u8),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}")]
pub struct UnknownRole(pub String);

impl Role {
    pub const ALL: [Role; 10] = [
        Role::Anonymous,
        Role::Authenticated,
        Role::Member,
        Role::Owner,
        Role::Reader,
        Role::Contributor,
        Role::Editor,
        Role::Reviewer,
        Role::SiteAdministrator,
        Role::Manager,
    ];

    /// The roles a sharing form offers, as plone.restapi's `@sharing` does.
    pub const SHARABLE: [Role; 4] = [Role::Contributor, Role::Editor, Role::Reader, Role::Reviewer];

    pub fn name(self) -> &'static str {
        match self {
            Role::Anonymous => "Anonymous",
            Role::Authenticated => "Authenticated",
            Role::Member => "Member",
            Role::Owner => "Owner",
            Role::Reader => "Reader",
            Role::Contributor => "Contributor",
            Role::Editor => "Editor",
            Role::Reviewer => "Reviewer",
            Role::SiteAdministrator => "Site Administrator",
            Role::Manager => "Manager",
            Role::App(i) => declared().roles.get(usize::from(i)).map_or("?", |r| r.name),
        }
    }

    /// Parses role names, Plone's and the declared ones; "SiteAdministrator" is
    /// accepted for shells.
    pub fn parse(s: &str) -> Result<Role, UnknownRole> {
        let key = s.replace(' ', "");
        Role::every()
            .into_iter()
            .find(|r| r.name().replace(' ', "").eq_ignore_ascii_case(&key))
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }

    /// Plone's roles and those the applications declared.
    pub fn every() -> Vec<Role> {
        let n = declared().roles.len();
        Role::ALL.into_iter().chain((0..n).map(|i| Role::App(i as u8))).collect()
    }

    /// The roles a sharing form offers: Plone's four, and the declared roles marked
    /// sharable.
    pub fn sharable() -> Vec<Role> {
        let d = declared();
        let apps = d.roles.iter().enumerate().filter(|(_, r)| r.sharable).map(|(i, _)| Role::App(i as u8));
        Role::SHARABLE.into_iter().chain(apps).collect()
    }

    /// Roles that are derived from who the principal is and cannot be granted.
    pub fn is_automatic(self) -> bool {
        matches!(self, Role::Anonymous | Role::Authenticated)
    }

    /// Roles that can be granted globally: not the automatic ones, and not Owner,
    /// which comes only from having created an item.
    pub fn is_grantable(self) -> bool {
        !self.is_automatic() && self != Role::Owner
    }

    /// Who may hand this role out, or take it back, through sharing: Plone's
    /// "Sharing page: Delegate <role> role" permissions. Reviewer is never handed out
    /// by those who merely own or edit the item: that would let them publish without
    /// review. Roles that are not sharable are delegated by nobody.
    pub fn delegated_by(self) -> RoleSet {
        use Role::*;
        match self {
            Reader => RoleSet::of(&[Manager, SiteAdministrator, Owner, Editor, Reviewer]),
            Editor => RoleSet::of(&[Manager, SiteAdministrator, Owner, Editor]),
            Contributor => RoleSet::of(&[Manager, SiteAdministrator, Owner]),
            Reviewer => RoleSet::of(&[Manager, SiteAdministrator, Reviewer]),
            App(i) => declared().roles.get(usize::from(i)).map_or(RoleSet::EMPTY, |r| r.delegated_by),
            _ => RoleSet::EMPTY,
        }
    }

    fn rank(self) -> u32 {
        match self {
            Role::Anonymous => 0,
            Role::Authenticated => 1,
            Role::Member => 2,
            Role::Owner => 3,
            Role::Reader => 4,
            Role::Contributor => 5,
            Role::Editor => 6,
            Role::Reviewer => 7,
            Role::SiteAdministrator => 8,
            Role::Manager => 9,
            Role::App(i) => Role::ALL.len() as u32 + u32::from(i),
        }
    }

    fn bit(self) -> u64 {
        1 << self.rank()
    }

    fn of_rank(rank: u32) -> Role {
        match Role::ALL.get(rank as usize) {
            Some(r) => *r,
            None => Role::App((rank - Role::ALL.len() as u32) as u8),
        }
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Role::parse(&name).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of roles, one bit each (Plone's ten, then the declared ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RoleSet(u64);

impl RoleSet {
    pub const EMPTY: RoleSet = RoleSet(0);

    pub fn of(roles: &[Role]) -> RoleSet {
        roles.iter().fold(RoleSet::EMPTY, |s, r| s.with(*r))
    }

    pub fn all() -> RoleSet {
        RoleSet::of(&Role::every())
    }

    #[must_use]
    pub fn with(self, r: Role) -> RoleSet {
        RoleSet(self.0 | r.bit())
    }

    #[must_use]
    pub fn without(self, r: Role) -> RoleSet {
        RoleSet(self.0 & !r.bit())
    }

    #[must_use]
    pub fn union(self, o: RoleSet) -> RoleSet {
        RoleSet(self.0 | o.0)
    }

    pub fn contains(self, r: Role) -> bool {
        self.0 & r.bit() != 0
    }

    pub fn intersects(self, o: RoleSet) -> bool {
        self.0 & o.0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Role> {
        (0..64).filter(move |b| self.0 & (1 << b) != 0).map(Role::of_rank)
    }
}

impl FromIterator<Role> for RoleSet {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        iter.into_iter().fold(RoleSet::EMPTY, |s, r| s.with(r))
    }
}

/// A named capability: Plone's, or one an application declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    View,
    AccessContentsInformation,
    ModifyPortalContent,
    AddPortalContent,
    DeleteObjects,
    ReviewPortalContent,
    RequestReview,
    ChangeLocalRoles,
    ManagePortal,
    /// A permission an application declares (see [`declare`]), by its rank.
    App(u8),
}

impl Permission {
    pub const ALL: [Permission; 9] = [
        Permission::View,
        Permission::AccessContentsInformation,
        Permission::ModifyPortalContent,
        Permission::AddPortalContent,
        Permission::DeleteObjects,
        Permission::ReviewPortalContent,
        Permission::RequestReview,
        Permission::ChangeLocalRoles,
        Permission::ManagePortal,
    ];

    /// Plone's name of the permission ("Modify portal content"), as in workflow files.
    pub fn name(self) -> &'static str {
        match self {
            Permission::View => "View",
            Permission::AccessContentsInformation => "Access contents information",
            Permission::ModifyPortalContent => "Modify portal content",
            Permission::AddPortalContent => "Add portal content",
            Permission::DeleteObjects => "Delete objects",
            Permission::ReviewPortalContent => "Review portal content",
            Permission::RequestReview => "Request review",
            Permission::ChangeLocalRoles => "Change local roles",
            Permission::ManagePortal => "Manage portal",
            Permission::App(i) => declared().permissions.get(usize::from(i)).map_or("?", |p| p.name),
        }
    }

    /// The permission of that name, Plone's or a declared one.
    pub fn parse(name: &str) -> Option<Permission> {
        if let Some(p) = Permission::ALL.into_iter().find(|p| p.name() == name) {
            return Some(p);
        }
        declared().permissions.iter().position(|p| p.name == name).map(|i| Permission::App(i as u8))
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Permission::parse(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown permission {name:?}")))
    }
}

/// A role an application declares.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DeclaredRole {
    name: &'static str,
    /// Offered on the sharing page.
    sharable: bool,
    /// Who may hand it out through sharing.
    delegated_by: RoleSet,
}

/// A permission an application declares, with the roles holding it at the site root.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DeclaredPermission {
    name: &'static str,
    roles: RoleSet,
}

#[derive(Default)]
struct Declared {
    roles: Vec<DeclaredRole>,
    permissions: Vec<DeclaredPermission>,
    /// The site root's map: Plone's, with the declared permissions.
    site: Option<Arc<PermissionMap>>,
}

/// The roles and permissions applications declared, for the whole process: the role
/// bitset and the permission maps take them by rank, so the decision costs the same.
static DECLARED: LazyLock<RwLock<Declared>> = LazyLock::new(|| RwLock::new(Declared::default()));

fn declared() -> std::sync::RwLockReadGuard<'static, Declared> {
    DECLARED.read().unwrap_or_else(|e| e.into_inner())
}

/// Most roles and permissions the applications of one server may declare.
const MAX_DECLARED: usize = 54;

/// A roles file: `{"roles": {"Request Handler": {"sharable": true, "delegated_by":
/// ["Manager", …]}}, "permissions": {"Handle requests": {"roles": ["Manager", …]}}}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesFile {
    #[serde(default)]
    roles: BTreeMap<String, RoleDecl>,
    #[serde(default)]
    permissions: BTreeMap<String, PermissionDecl>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleDecl {
    #[serde(default)]
    sharable: bool,
    #[serde(default)]
    delegated_by: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionDecl {
    #[serde(default)]
    roles: Vec<String>,
}

/// Declares the roles and permissions of a roles file for this process, so that
/// workflow files, stored grants and users may name them. Declaring the same again
/// (another server in the same process) changes nothing; a name Plone or another
/// declaration uses differently is refused.
pub fn declare(json: &str) -> Result<(), String> {
    let file: RolesFile = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut d = DECLARED.write().unwrap_or_else(|e| e.into_inner());
    let fit = |name: &str| {
        !name.trim().is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_alphanumeric() || " -_:".contains(c))
    };
    // Roles first: the permissions and delegations may name them.
    let mut roles = d.roles.clone();
    for (name, decl) in &file.roles {
        if !fit(name)
            || Role::ALL.iter().any(|r| r.name().replace(' ', "").eq_ignore_ascii_case(&name.replace(' ', "")))
        {
            return Err(format!("role {name:?} cannot be declared"));
        }
        let rank = roles.iter().position(|r| r.name == name);
        let resolve = |n: &String, roles: &[DeclaredRole]| {
            Role::ALL
                .into_iter()
                .find(|r| r.name() == n)
                .or_else(|| roles.iter().position(|r| r.name == n).map(|i| Role::App(i as u8)))
                .or_else(|| (n == name).then(|| Role::App(rank.unwrap_or(roles.len()) as u8)))
                .ok_or_else(|| format!("role {name:?}: unknown role {n:?}"))
        };
        let delegated_by = decl.delegated_by.iter().map(|n| resolve(n, &roles)).collect::<Result<RoleSet, _>>()?;
        match rank {
            Some(i) => {
                if roles[i].sharable != decl.sharable || roles[i].delegated_by != delegated_by {
                    return Err(format!("role {name:?} is already declared otherwise"));
                }
            }
            None => {
                if roles.len() >= MAX_DECLARED {
                    return Err(format!("more than {MAX_DECLARED} roles"));
                }
                roles.push(DeclaredRole {
                    name: Box::leak(name.clone().into_boxed_str()),
                    sharable: decl.sharable,
                    delegated_by,
                });
            }
        }
    }
    let role_of = |n: &str| {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == n)
            .or_else(|| roles.iter().position(|r| r.name == n).map(|i| Role::App(i as u8)))
    };
    let mut permissions = d.permissions.clone();
    for (name, decl) in &file.permissions {
        if !fit(name) || Permission::ALL.iter().any(|p| p.name() == name) {
            return Err(format!("permission {name:?} cannot be declared"));
        }
        let holders = decl
            .roles
            .iter()
            .map(|n| role_of(n).ok_or_else(|| format!("permission {name:?}: unknown role {n:?}")))
            .collect::<Result<RoleSet, _>>()?;
        match permissions.iter().find(|p| p.name == name) {
            Some(p) if p.roles != holders => return Err(format!("permission {name:?} is already declared otherwise")),
            Some(_) => {}
            None => {
                if permissions.len() >= MAX_DECLARED {
                    return Err(format!("more than {MAX_DECLARED} permissions"));
                }
                permissions.push(DeclaredPermission { name: Box::leak(name.clone().into_boxed_str()), roles: holders });
            }
        }
    }
    d.roles = roles;
    d.permissions = permissions;
    d.site = None;
    Ok(())
}

/// Which roles hold each permission on an item (later: one map per workflow state).
#[derive(Debug, Clone)]
pub struct PermissionMap {
    entries: Vec<(Permission, RoleSet)>,
}

impl PermissionMap {
    pub fn new(entries: Vec<(Permission, Vec<Role>)>) -> Self {
        Self { entries: entries.into_iter().map(|(p, r)| (p, RoleSet::of(&r))).collect() }
    }

    /// The map of public content until workflows arrive: everybody may view; Owner,
    /// Editor and the administrators may change; Owner and Editor may share.
    pub fn public_default() -> Self {
        use Permission::*;
        use Role::*;
        let admins = [Manager, SiteAdministrator];
        let with = |extra: &[Role]| admins.iter().chain(extra).copied().collect::<Vec<_>>();
        Self::new(vec![
            (View, vec![Anonymous]),
            (AccessContentsInformation, vec![Anonymous]),
            (ModifyPortalContent, with(&[Owner, Editor])),
            (AddPortalContent, with(&[Owner, Contributor])),
            (DeleteObjects, with(&[Owner, Editor])),
            (ReviewPortalContent, with(&[Reviewer])),
            (RequestReview, with(&[Owner, Editor])),
            (ChangeLocalRoles, with(&[Owner, Editor])),
            (ManagePortal, with(&[])),
        ])
    }

    /// The site root's map: Plone's role map with the permissions applications
    /// declared, held by the roles they name.
    pub fn site() -> Arc<PermissionMap> {
        if let Some(m) = &declared().site {
            return m.clone();
        }
        let mut d = DECLARED.write().unwrap_or_else(|e| e.into_inner());
        let mut map = PermissionMap::public_default();
        for (i, p) in d.permissions.iter().enumerate() {
            map.set(Permission::App(i as u8), p.roles);
        }
        let map = Arc::new(map);
        d.site = Some(map.clone());
        map
    }

    /// Plone's "private" state: only the owner, those it is shared with and the
    /// administrators see the item.
    pub fn private_default() -> Self {
        use Permission::*;
        use Role::*;
        let mut map = Self::public_default();
        let viewers = RoleSet::of(&[Manager, SiteAdministrator, Owner, Editor, Reader, Contributor]);
        for (p, roles) in &mut map.entries {
            if matches!(p, View | AccessContentsInformation) {
                *roles = viewers;
            }
        }
        map
    }

    pub fn roles_for(&self, p: Permission) -> RoleSet {
        self.entries.iter().find(|(q, _)| *q == p).map(|(_, r)| *r).unwrap_or_default()
    }

    /// Sets the roles holding one permission.
    pub fn set(&mut self, p: Permission, roles: RoleSet) {
        match self.entries.iter_mut().find(|(q, _)| *q == p) {
            Some((_, r)) => *r = roles,
            None => self.entries.push((p, roles)),
        }
    }
}

/// The name of Plone's virtual group that every authenticated user belongs to.
pub const AUTHENTICATED_USERS: &str = "AuthenticatedUsers";

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    /// A user of the site, with the roles granted to them globally (directly or through
    /// their groups) and the ids of their groups.
    User {
        login: String,
        roles: Vec<Role>,
        groups: Vec<String>,
    },
    /// The system itself: the CLI, the demo seeder, migrations. Holds every permission.
    System,
}

impl Principal {
    /// A user with global roles and no group.
    pub fn user(login: &str, roles: &[Role]) -> Principal {
        Principal::User { login: login.to_owned(), roles: roles.to_vec(), groups: Vec::new() }
    }

    /// Every role this principal holds everywhere (before ownership and local roles).
    pub fn global_roles(&self) -> RoleSet {
        match self {
            Principal::Anonymous => RoleSet::of(&[Role::Anonymous]),
            Principal::User { roles, .. } => roles
                .iter()
                .copied()
                .filter(|r| r.is_grantable())
                .collect::<RoleSet>()
                .with(Role::Anonymous)
                .with(Role::Authenticated),
            Principal::System => RoleSet::all(),
        }
    }

    /// The user id recorded as creator: the login, or "system" for the system.
    pub fn id(&self) -> &str {
        match self {
            Principal::Anonymous => "Anonymous User",
            Principal::User { login, .. } => login,
            Principal::System => "system",
        }
    }

    /// The keys under which local roles may be granted to this principal.
    fn grant_keys(&self) -> Vec<String> {
        match self {
            Principal::User { login, groups, .. } => {
                let mut keys =
                    vec![Grantee::User(login.clone()).key(), Grantee::Group(AUTHENTICATED_USERS.into()).key()];
                keys.extend(groups.iter().map(|g| Grantee::Group(g.clone()).key()));
                keys
            }
            _ => Vec::new(),
        }
    }

    /// The tokens matched against an item's stored [`viewers`]: the principal's global
    /// roles as `role:<name>`, and its user and group keys. None for the system, which
    /// sees everything.
    pub fn tokens(&self) -> Option<Vec<String>> {
        if *self == Principal::System {
            return None;
        }
        let mut t: Vec<String> = self.global_roles().iter().map(role_token).collect();
        t.extend(self.grant_keys());
        Some(t)
    }
}

fn role_token(r: Role) -> String {
    format!("role:{}", r.name())
}

/// Someone local roles can be granted to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grantee {
    User(String),
    Group(String),
}

impl Grantee {
    /// The stored key: `user:<login>` or `group:<id>`.
    pub fn key(&self) -> String {
        match self {
            Grantee::User(l) => format!("user:{l}"),
            Grantee::Group(g) => format!("group:{g}"),
        }
    }

    pub fn from_key(key: &str) -> Option<Grantee> {
        match key.split_once(':') {
            Some(("user", l)) if !l.is_empty() => Some(Grantee::User(l.to_owned())),
            Some(("group", g)) if !g.is_empty() => Some(Grantee::Group(g.to_owned())),
            _ => None,
        }
    }
}

/// The local roles granted on one item, by grantee key. Only sharable roles are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LocalRoles(pub BTreeMap<String, BTreeSet<Role>>);

impl LocalRoles {
    pub fn roles_of(&self, key: &str) -> RoleSet {
        self.0.get(key).map(|r| r.iter().copied().collect()).unwrap_or_default()
    }

    /// Sets the roles of one grantee; an empty set removes the grantee.
    pub fn set(&mut self, grantee: &Grantee, roles: impl IntoIterator<Item = Role>) {
        let roles: BTreeSet<Role> = roles.into_iter().filter(|r| r.is_grantable()).collect();
        if roles.is_empty() {
            self.0.remove(&grantee.key());
        } else {
            self.0.insert(grantee.key(), roles);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One item on the way from the site root to the item being decided on.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    /// The item's creator, who holds Owner on it.
    pub owner: &'a str,
    pub local: &'a LocalRoles,
    /// This item does not inherit the local roles granted above it.
    pub block: bool,
}

/// The local grants in force on the last node of `lineage` (root first), each with
/// its key: the item's own and those inherited until a blocking item.
pub fn effective_grants<'a>(lineage: &'a [Node<'a>]) -> impl Iterator<Item = (&'a String, &'a BTreeSet<Role>)> {
    let upto = lineage.iter().rposition(|n| n.block).unwrap_or(0);
    lineage[upto..].iter().flat_map(|n| n.local.0.iter())
}

/// Every role `principal` holds on the last item of `lineage` (root first).
pub fn roles_on(principal: &Principal, lineage: &[Node<'_>]) -> RoleSet {
    let mut roles = principal.global_roles();
    if let (Principal::User { login, .. }, Some(item)) = (principal, lineage.last())
        && login == item.owner
    {
        roles = roles.with(Role::Owner);
    }
    let keys = principal.grant_keys();
    if !keys.is_empty() {
        for (key, granted) in effective_grants(lineage) {
            if keys.contains(key) {
                roles = roles.union(granted.iter().copied().collect());
            }
        }
    }
    roles
}

/// The decision: may `principal` exercise `permission` on the last item of `lineage`
/// (root first), whose state gives `map`?
pub fn is_allowed(principal: &Principal, lineage: &[Node<'_>], permission: Permission, map: &PermissionMap) -> bool {
    *principal == Principal::System || roles_on(principal, lineage).intersects(map.roles_for(permission))
}

/// The sharable roles `principal` may hand out or take back on the last item of
/// `lineage` (root first), by the roles it holds there.
pub fn delegable(principal: &Principal, lineage: &[Node<'_>]) -> Vec<Role> {
    if *principal == Principal::System {
        return Role::sharable();
    }
    let held = roles_on(principal, lineage);
    Role::sharable().into_iter().filter(|r| r.delegated_by().intersects(held)).collect()
}

/// The roles that see content outside its publication window anywhere on a site, as
/// Plone's "Access inactive portal content" does; the catalog's filter rests on these.
pub const INACTIVE_CONTENT_ROLES: [Role; 4] = [Role::Manager, Role::SiteAdministrator, Role::Editor, Role::Reviewer];

impl Principal {
    /// Whether this principal sees content that is not yet effective or has expired
    /// wherever it is (by a role held site-wide, see [`INACTIVE_CONTENT_ROLES`]).
    pub fn sees_inactive_content(&self) -> bool {
        let roles = self.global_roles();
        INACTIVE_CONTENT_ROLES.iter().any(|r| roles.contains(*r))
    }
}

/// Whether an item with this publication window is shown to everyone at `now`: its
/// effective date, if any, has come and its expiry date, if any, has not (the catalog's
/// rule: effective ≤ now < expires).
pub fn is_active(effective: Option<DateTime<Utc>>, expires: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    effective.is_none_or(|e| e <= now) && expires.is_none_or(|x| x > now)
}

/// Whether `principal` may see the last item of `lineage` (root first, its state giving
/// `map`) outside its publication window: by a role held site-wide (as the catalog
/// decides), or because they may change or review that item (its owner, those it is
/// shared with as editor or reviewer), who must be able to reach it to put it right.
pub fn sees_inactive(principal: &Principal, lineage: &[Node<'_>], map: &PermissionMap) -> bool {
    principal.sees_inactive_content()
        || is_allowed(principal, lineage, Permission::ModifyPortalContent, map)
        || is_allowed(principal, lineage, Permission::ReviewPortalContent, map)
}

/// Who may View the last item of `lineage`: the tokens to store beside it, so that a
/// listing can filter in SQL. `viewers ∩ principal.tokens() ≠ ∅` exactly when
/// [`is_allowed`] grants View.
pub fn viewers(lineage: &[Node<'_>], map: &PermissionMap) -> BTreeSet<String> {
    let view = map.roles_for(Permission::View);
    let mut out: BTreeSet<String> = view.iter().filter(|r| *r != Role::Owner).map(role_token).collect();
    if let Some(item) = lineage.last()
        && view.contains(Role::Owner)
    {
        out.insert(Grantee::User(item.owner.to_owned()).key());
    }
    for (key, granted) in effective_grants(lineage) {
        if granted.iter().any(|r| view.contains(*r)) {
            out.insert(key.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_roles_and_permissions_join_the_bitset_and_the_site_map() {
        // Not sharable: the delegation tests of this module see Plone's four only.
        let file = r#"{"roles": {"Unit Clerk": {"delegated_by": ["Manager"]}},
                       "permissions": {"Stamp letters": {"roles": ["Manager", "Unit Clerk"]}}}"#;
        declare(file).unwrap();
        declare(file).unwrap();
        let clerk = Role::parse("Unit Clerk").unwrap();
        assert!(matches!(clerk, Role::App(_)));
        assert_eq!(Role::parse("unitclerk"), Ok(clerk));
        let set = RoleSet::of(&[Role::Manager, clerk]);
        assert_eq!(set.iter().collect::<Vec<_>>(), [Role::Manager, clerk]);
        assert!(!RoleSet::of(&Role::ALL).contains(clerk));
        assert_eq!(serde_json::to_string(&clerk).unwrap(), "\"Unit Clerk\"");
        assert_eq!(serde_json::from_str::<Role>("\"Unit Clerk\"").unwrap(), clerk);
        let stamp = Permission::parse("Stamp letters").unwrap();
        assert_eq!(serde_json::from_str::<Permission>("\"Stamp letters\"").unwrap(), stamp);
        assert!(PermissionMap::site().roles_for(stamp).contains(clerk));
        assert!(!PermissionMap::site().roles_for(stamp).contains(Role::Editor));
        assert_eq!(clerk.delegated_by(), RoleSet::of(&[Role::Manager]));
        // Decided as Plone's are.
        let user = Principal::user("u", &[clerk]);
        assert!(is_allowed(&user, &[], stamp, &PermissionMap::site()));
        assert!(!is_allowed(&Principal::user("e", &[Role::Editor]), &[], stamp, &PermissionMap::site()));
        // Declared otherwise, or under Plone's names: refused.
        assert!(
            declare(r#"{"roles": {"Unit Clerk": {"sharable": true}}}"#)
                .unwrap_err()
                .contains("already declared otherwise")
        );
        assert!(declare(r#"{"roles": {"Site Administrator": {}}}"#).unwrap_err().contains("cannot be declared"));
        assert!(declare(r#"{"permissions": {"View": {}}}"#).unwrap_err().contains("cannot be declared"));
        assert!(declare(r#"{"permissions": {"X": {"roles": ["Nobody"]}}}"#).unwrap_err().contains("unknown role"));
        assert!(serde_json::from_str::<Permission>("\"Nothing\"").is_err());
    }

    #[test]
    fn permission_names_are_those_of_the_workflow_files() {
        for p in Permission::ALL {
            assert_eq!(serde_json::to_value(p).unwrap(), p.name());
        }
    }

    fn user(login: &str, roles: &[Role]) -> Principal {
        Principal::user(login, roles)
    }

    fn local(grants: &[(&str, &[Role])]) -> LocalRoles {
        let mut l = LocalRoles::default();
        for (k, roles) in grants {
            l.set(&Grantee::from_key(k).unwrap(), roles.iter().copied());
        }
        l
    }

    fn node<'a>(owner: &'a str, local: &'a LocalRoles, block: bool) -> Node<'a> {
        Node { owner, local, block }
    }

    #[test]
    fn roles_are_delegated_as_plone_allows() {
        let none = LocalRoles::default();
        let item = [node("jean", &none, false)];
        let as_ = |p: &Principal| delegable(p, &item);
        // The creator owns the item: Reader, Editor, Contributor, never Reviewer.
        assert_eq!(as_(&user("jean", &[])), vec![Role::Contributor, Role::Editor, Role::Reader]);
        assert_eq!(as_(&user("ed", &[Role::Editor])), vec![Role::Editor, Role::Reader]);
        assert_eq!(as_(&user("rev", &[Role::Reviewer])), vec![Role::Reader, Role::Reviewer]);
        assert_eq!(as_(&user("c", &[Role::Contributor])), Vec::<Role>::new());
        assert_eq!(as_(&user("sa", &[Role::SiteAdministrator])), Role::SHARABLE.to_vec());
        assert_eq!(as_(&Principal::System), Role::SHARABLE.to_vec());
        // A local Editor granted above counts as an Editor here.
        let shared = local(&[("user:marie", &[Role::Editor])]);
        let lineage = [node("admin", &shared, false), node("jean", &none, false)];
        assert_eq!(delegable(&user("marie", &[]), &lineage), vec![Role::Editor, Role::Reader]);
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.name()).unwrap(), r);
        }
        assert_eq!(Role::parse("SiteAdministrator").unwrap(), Role::SiteAdministrator);
        assert!(Role::parse("God").is_err());
    }

    #[test]
    fn anonymous_may_view_public_content_but_not_change_it() {
        let m = PermissionMap::public_default();
        let none = LocalRoles::default();
        let l = [node("jean", &none, false)];
        assert!(is_allowed(&Principal::Anonymous, &l, Permission::View, &m));
        assert!(!is_allowed(&Principal::Anonymous, &l, Permission::ModifyPortalContent, &m));
        assert!(!is_allowed(&Principal::Anonymous, &l, Permission::ManagePortal, &m));
        assert!(!is_allowed(&Principal::Anonymous, &l, Permission::View, &PermissionMap::private_default()));
    }

    #[test]
    fn owner_and_editor_may_modify_member_may_not() {
        let m = PermissionMap::public_default();
        let none = LocalRoles::default();
        let p = Permission::ModifyPortalContent;
        assert!(is_allowed(&user("marie", &[Role::Member]), &[node("marie", &none, false)], p, &m));
        assert!(!is_allowed(&user("marie", &[Role::Member]), &[node("jean", &none, false)], p, &m));
        assert!(is_allowed(&user("luc", &[Role::Editor]), &[node("jean", &none, false)], p, &m));
        assert!(!is_allowed(
            &user("luc", &[Role::Editor]),
            &[node("jean", &none, false)],
            Permission::ManagePortal,
            &m
        ));
    }

    #[test]
    fn the_publication_window_is_open_from_effective_until_expires() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let now = at("2026-05-01T12:00:00Z");
        assert!(is_active(None, None, now));
        assert!(is_active(Some(now), None, now), "effective at this very instant");
        assert!(!is_active(Some(at("2099-01-01T00:00:00Z")), None, now));
        assert!(!is_active(None, Some(now), now), "expired at this very instant");
        assert!(!is_active(None, Some(at("2000-01-01T00:00:00Z")), now));
        assert!(is_active(Some(at("2000-01-01T00:00:00Z")), Some(at("2099-01-01T00:00:00Z")), now));
    }

    #[test]
    fn inactive_content_is_seen_by_reviewers_and_by_who_may_change_it() {
        let m = PermissionMap::public_default();
        let none = LocalRoles::default();
        let shared = local(&[("user:eva", &[Role::Editor])]);
        let l = [node("jean", &none, false)];
        assert!(!sees_inactive(&Principal::Anonymous, &l, &m));
        assert!(!sees_inactive(&user("paul", &[Role::Member]), &l, &m));
        for r in INACTIVE_CONTENT_ROLES {
            assert!(sees_inactive(&user("paul", &[r]), &l, &m), "{r:?}");
            assert!(user("paul", &[r]).sees_inactive_content());
        }
        assert!(sees_inactive(&Principal::System, &l, &m));
        assert!(sees_inactive(&user("jean", &[Role::Member]), &l, &m), "the owner, who may change it");
        let below = [node("system", &shared, false), node("jean", &none, false)];
        let eva = user("eva", &[Role::Member]);
        assert!(sees_inactive(&eva, &below, &m), "an editor by sharing");
        assert!(!eva.sees_inactive_content(), "but only there");
        assert!(!user("eva", &[Role::Reader]).sees_inactive_content());
    }

    #[test]
    fn local_roles_are_inherited_down_the_tree() {
        let m = PermissionMap::private_default();
        let shared = local(&[("user:marie", &[Role::Editor])]);
        let none = LocalRoles::default();
        let lineage = [node("system", &none, false), node("system", &shared, false), node("jean", &none, false)];
        let marie = user("marie", &[Role::Member]);
        assert!(is_allowed(&marie, &lineage, Permission::View, &m));
        assert!(is_allowed(&marie, &lineage, Permission::ModifyPortalContent, &m));
        assert!(!is_allowed(&marie, &lineage[..1], Permission::View, &m), "not above the grant");
        assert!(!is_allowed(&user("paul", &[Role::Member]), &lineage, Permission::View, &m));
    }

    #[test]
    fn blocking_stops_inheritance_but_keeps_own_grants() {
        let m = PermissionMap::private_default();
        let above = local(&[("user:marie", &[Role::Reader])]);
        let own = local(&[("group:urbanisme", &[Role::Editor])]);
        let none = LocalRoles::default();
        let lineage = [node("system", &above, false), node("system", &own, true), node("jean", &none, false)];
        assert!(!is_allowed(&user("marie", &[]), &lineage, Permission::View, &m));
        let in_group = Principal::User { login: "luc".into(), roles: vec![], groups: vec!["urbanisme".into()] };
        assert!(is_allowed(&in_group, &lineage, Permission::ModifyPortalContent, &m));
        // Global roles are not blocked.
        assert!(is_allowed(&user("admin", &[Role::Manager]), &lineage, Permission::View, &m));
    }

    #[test]
    fn authenticated_users_group_covers_every_user() {
        let m = PermissionMap::private_default();
        let all = local(&[("group:AuthenticatedUsers", &[Role::Reader])]);
        let lineage = [node("system", &all, false)];
        assert!(is_allowed(&user("x", &[]), &lineage, Permission::View, &m));
        assert!(!is_allowed(&Principal::Anonymous, &lineage, Permission::View, &m));
    }

    #[test]
    fn automatic_and_owner_roles_cannot_be_granted() {
        let p = user("x", &[Role::Anonymous, Role::Authenticated]);
        assert_eq!(p.global_roles(), RoleSet::of(&[Role::Anonymous, Role::Authenticated]));
        let l = local(&[("user:x", &[Role::Owner, Role::Anonymous])]);
        assert!(l.is_empty());
        let empty = PermissionMap::new(vec![]);
        assert!(is_allowed(&Principal::System, &[], Permission::ManagePortal, &empty));
        assert!(!is_allowed(&user("admin", &[Role::Manager]), &[], Permission::View, &empty));
    }

    #[test]
    fn viewers_name_roles_owner_and_grantees() {
        let m = PermissionMap::private_default();
        let shared = local(&[("user:marie", &[Role::Reader]), ("group:g", &[Role::Reviewer])]);
        let lineage = [node("jean", &shared, false)];
        let v = viewers(&lineage, &m);
        assert!(v.contains("user:jean"), "the owner");
        assert!(v.contains("user:marie"));
        assert!(!v.contains("group:g"), "Reviewer does not hold View in private");
        assert!(v.contains("role:Manager") && !v.contains("role:Anonymous") && !v.contains("role:Owner"));
        assert_eq!(
            viewers(&lineage, &PermissionMap::public_default()).into_iter().collect::<Vec<_>>(),
            ["role:Anonymous"]
        );
    }

    #[test]
    fn grantee_keys_round_trip() {
        for g in [Grantee::User("marie.dupont@namur.be".into()), Grantee::Group("urbanisme".into())] {
            assert_eq!(Grantee::from_key(&g.key()), Some(g));
        }
        assert_eq!(Grantee::from_key("x"), None);
        assert_eq!(Grantee::from_key("user:"), None);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn any_role() -> impl Strategy<Value = Role> {
        (0..Role::ALL.len()).prop_map(|i| Role::ALL[i])
    }

    const NAMES: [&str; 4] = ["anne", "marc", "zoe", "system"];
    const GROUPS: [&str; 3] = ["g1", "g2", AUTHENTICATED_USERS];

    fn any_grantee() -> impl Strategy<Value = Grantee> {
        prop_oneof![
            (0..NAMES.len()).prop_map(|i| Grantee::User(NAMES[i].into())),
            (0..GROUPS.len()).prop_map(|i| Grantee::Group(GROUPS[i].into())),
        ]
    }

    fn any_local() -> impl Strategy<Value = LocalRoles> {
        prop::collection::vec((any_grantee(), prop::collection::vec(any_role(), 0..3)), 0..3).prop_map(|grants| {
            let mut l = LocalRoles::default();
            for (g, r) in grants {
                l.set(&g, r);
            }
            l
        })
    }

    fn any_principal() -> impl Strategy<Value = Principal> {
        prop_oneof![
            Just(Principal::Anonymous),
            (0..NAMES.len(), prop::collection::vec(any_role(), 0..3), prop::collection::vec(0..2usize, 0..2)).prop_map(
                |(n, roles, groups)| Principal::User {
                    login: NAMES[n].into(),
                    roles,
                    groups: groups.into_iter().map(|g| GROUPS[g].to_owned()).collect(),
                }
            ),
        ]
    }

    fn any_map() -> impl Strategy<Value = PermissionMap> {
        prop::collection::vec(any_role(), 0..4).prop_map(|view| {
            PermissionMap::new(vec![(Permission::View, view), (Permission::ModifyPortalContent, vec![Role::Editor])])
        })
    }

    proptest! {
        #[test]
        fn stored_viewers_agree_with_the_decision(
            locals in prop::collection::vec((any_local(), any::<bool>(), 0..NAMES.len()), 1..5),
            principal in any_principal(),
            map in any_map(),
        ) {
            let lineage: Vec<Node<'_>> = locals.iter().map(|(l, b, o)| Node { owner: NAMES[*o], local: l, block: *b }).collect();
            let decided = is_allowed(&principal, &lineage, Permission::View, &map);
            let stored = viewers(&lineage, &map);
            let tokens = principal.tokens().expect("not the system");
            let matched = tokens.iter().any(|t| stored.contains(t));
            prop_assert_eq!(decided, matched);
        }
    }
}

//! Roles, permissions, principals and the permission decision.
//!
//! This is Plone's model: a permission is held by roles; a principal holds roles. The
//! Identity-and-access work adds local roles and groups; the workflow work makes the
//! permission → roles map depend on the item's state. The decision stays this one pure
//! function.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A role, as Plone names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    Anonymous,
    Authenticated,
    Member,
    Owner,
    Reader,
    Contributor,
    Editor,
    Reviewer,
    #[serde(rename = "Site Administrator")]
    SiteAdministrator,
    Manager,
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
        }
    }

    /// Parses Plone's role names; "SiteAdministrator" is accepted for shells.
    pub fn parse(s: &str) -> Result<Role, UnknownRole> {
        let key = s.replace(' ', "");
        Role::ALL
            .into_iter()
            .find(|r| r.name().replace(' ', "").eq_ignore_ascii_case(&key))
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }

    /// Roles that are derived from who the principal is and cannot be granted.
    pub fn is_automatic(self) -> bool {
        matches!(self, Role::Anonymous | Role::Authenticated)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A named capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    View,
    #[serde(rename = "Access contents information")]
    AccessContentsInformation,
    #[serde(rename = "Modify portal content")]
    ModifyPortalContent,
    #[serde(rename = "Add portal content")]
    AddPortalContent,
    #[serde(rename = "Delete objects")]
    DeleteObjects,
    #[serde(rename = "Review portal content")]
    ReviewPortalContent,
    #[serde(rename = "Manage portal")]
    ManagePortal,
}

/// Which roles hold each permission on an item. Later: one per workflow state.
#[derive(Debug, Clone)]
pub struct PermissionMap {
    entries: Vec<(Permission, Vec<Role>)>,
}

impl PermissionMap {
    pub fn new(entries: Vec<(Permission, Vec<Role>)>) -> Self {
        Self { entries }
    }

    /// The map of public content until workflows arrive: everybody may view; Owner,
    /// Editor and the administrators may change.
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
            (ManagePortal, with(&[])),
        ])
    }

    pub fn roles_for(&self, p: Permission) -> &[Role] {
        self.entries.iter().find(|(q, _)| *q == p).map(|(_, r)| r.as_slice()).unwrap_or(&[])
    }
}

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    /// A user of the site, with the roles granted to them globally.
    User {
        login: String,
        roles: Vec<Role>,
    },
    /// The system itself: the CLI, the demo seeder, migrations. Holds every permission.
    System,
}

impl Principal {
    /// Every role this principal holds on an item (before local roles).
    pub fn roles(&self) -> Vec<Role> {
        match self {
            Principal::Anonymous => vec![Role::Anonymous],
            Principal::User { roles, .. } => {
                let mut r = vec![Role::Anonymous, Role::Authenticated];
                r.extend(roles.iter().copied().filter(|r| !r.is_automatic()));
                r
            }
            Principal::System => Role::ALL.to_vec(),
        }
    }

    /// The user id recorded as creator: "admin", or "system" for the system.
    pub fn id(&self) -> &str {
        match self {
            Principal::Anonymous => "Anonymous User",
            Principal::User { login, .. } => login,
            Principal::System => "system",
        }
    }
}

/// The decision: may `principal` exercise `permission` on an item whose creator is
/// `owner`, under `map`? One pure function, shared by every read and write.
pub fn is_allowed(principal: &Principal, owner: Option<&str>, permission: Permission, map: &PermissionMap) -> bool {
    if *principal == Principal::System {
        return true;
    }
    let mut roles = principal.roles();
    if let (Principal::User { login, .. }, Some(owner)) = (principal, owner)
        && login == owner
    {
        roles.push(Role::Owner);
    }
    let holders = map.roles_for(permission);
    // Anonymous in a map means "everybody": every principal holds Anonymous.
    roles.iter().any(|r| holders.contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(login: &str, roles: &[Role]) -> Principal {
        Principal::User { login: login.into(), roles: roles.to_vec() }
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
        assert!(is_allowed(&Principal::Anonymous, None, Permission::View, &m));
        assert!(!is_allowed(&Principal::Anonymous, None, Permission::ModifyPortalContent, &m));
        assert!(!is_allowed(&Principal::Anonymous, None, Permission::ManagePortal, &m));
    }

    #[test]
    fn owner_and_editor_may_modify_member_may_not() {
        let m = PermissionMap::public_default();
        let p = Permission::ModifyPortalContent;
        assert!(is_allowed(&user("marie", &[Role::Member]), Some("marie"), p, &m));
        assert!(!is_allowed(&user("marie", &[Role::Member]), Some("jean"), p, &m));
        assert!(is_allowed(&user("luc", &[Role::Editor]), Some("jean"), p, &m));
        assert!(is_allowed(&user("admin", &[Role::Manager]), None, Permission::ManagePortal, &m));
        assert!(!is_allowed(&user("luc", &[Role::Editor]), None, Permission::ManagePortal, &m));
    }

    #[test]
    fn automatic_roles_cannot_be_granted_and_system_may_do_all() {
        let p = user("x", &[Role::Anonymous, Role::Authenticated]);
        assert_eq!(p.roles(), vec![Role::Anonymous, Role::Authenticated]);
        let empty = PermissionMap::new(vec![]);
        assert!(is_allowed(&Principal::System, None, Permission::ManagePortal, &empty));
        assert!(!is_allowed(&user("admin", &[Role::Manager]), None, Permission::View, &empty));
    }
}
